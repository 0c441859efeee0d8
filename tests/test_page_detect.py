"""The page heuristic: text on paper is a document; photos, blanks, blobs and colour are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from liif_desktop.page_detect import looks_like_document, page_features

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def text_page(height: int = 64, width: int = 64, seed: int = 0) -> np.ndarray:
    """Lines of small dark text on slightly tinted, noisy paper (uint8)."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), (238, 236, 228))
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(DEJAVU), 9) if DEJAVU.is_file() else ImageFont.load_default()
    for y in range(2, height - 8, 11):
        line = "".join(chr(int(c)) for c in rng.integers(65, 91, 12))
        draw.text((2, y), line, fill=(30, 30, 35), font=font)
    page = np.asarray(im).astype(np.float32) + rng.normal(0, 3, (height, width, 3))
    return np.clip(page, 0, 255).astype(np.uint8)


def test_text_page_is_a_document() -> None:
    for seed in range(3):
        decision, reason = looks_like_document(text_page(seed=seed))
        assert decision, reason
        assert reason.startswith("page:")
        assert "\n" not in reason


def test_float_and_uint8_inputs_agree() -> None:
    page = text_page(seed=1)
    assert looks_like_document(page) == looks_like_document(page.astype(np.float32) / 255.0)


def test_colour_noise_is_not_a_document() -> None:
    noise = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    decision, reason = looks_like_document(noise)
    assert not decision
    assert reason


def test_smooth_dark_photo_like_image_is_not_a_document() -> None:
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    img = np.stack([x / 64, y / 48, 0.3 + 0.2 * np.sin(x / 5)], axis=-1) * 0.6
    decision, reason = looks_like_document(img)
    assert not decision
    assert "paper" in reason


def test_blank_paper_has_no_ink() -> None:
    decision, reason = looks_like_document(np.full((32, 32, 3), 0.95, dtype=np.float32))
    assert not decision
    assert "ink" in reason


def test_solid_dark_block_is_not_text() -> None:
    img = np.full((64, 64, 3), 0.95, dtype=np.float32)
    img[16:40, 16:40] = 0.05  # one big blob: dark but not thin strokes
    decision, reason = looks_like_document(img)
    assert not decision
    assert "solid" in reason
    assert page_features(img)["stroke_share"] < 0.5


def test_coloured_paper_with_text_is_too_colourful() -> None:
    page = text_page(seed=2).astype(np.float32) / 255.0
    page = page * np.array([1.0, 0.55, 0.2], dtype=np.float32)  # strong orange cast
    decision, reason = looks_like_document(page)
    assert not decision
    assert "paper" in reason or "colour" in reason


def test_features_in_range_and_bad_shape_rejected() -> None:
    f = page_features(text_page())
    assert 0.55 < f["paper_level"] <= 1.0
    assert 0.0 < f["ink_share"] < 0.5
    assert f["chroma"] < 0.1
    with pytest.raises(ValueError):
        looks_like_document(np.zeros((8, 8), dtype=np.float32))


def _thumbnail(path: Path, side: int = 256) -> np.ndarray:
    with Image.open(path) as src:
        im = src.convert("RGB")
    im.thumbnail((side, side), Image.Resampling.BOX)
    return np.asarray(im)


def test_real_receipts_and_photos() -> None:
    receipts = sorted((SHARED / "data" / "documents").glob("sroie_*.png"))[:4]
    photos = sorted((SHARED / "data" / "benchmark" / "Set5" / "HR").glob("*.png"))
    if not receipts or not photos:
        pytest.skip(f"receipt scans / Set5 not found under {SHARED}/data")
    # A page shrunk to a thumbnail still has thin strokes; the receipts are tall, so keep
    # enough pixels for their text.
    for path in receipts:
        decision, reason = looks_like_document(_thumbnail(path, 768))
        assert decision, f"{path.name}: {reason}"
    for path in photos:
        decision, reason = looks_like_document(_thumbnail(path))
        assert not decision, f"{path.name}: {reason}"

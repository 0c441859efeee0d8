"""OCR benchmark helpers, and the Document model restoring a line of text that tesseract reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks.ocr import (
    DOCUMENTS,
    LINES_PER_CROP,
    SCALES,
    cer,
    cer_ratio,
    choose_crops,
    crop_pixels,
    levenshtein,
    normalise,
    ratios_to,
    read_boxes,
    read_text,
    reduce,
    text_rows,
    word_accuracy,
)

REPO = Path(__file__).resolve().parent.parent
DOCUMENT_WEIGHTS = REPO / "weights" / "document-liif.pth"
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
LINE = "QUARTZ JOB 1963 BOX 2048"

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="tesseract is not installed (apt-get install tesseract-ocr)",
)


def test_levenshtein_and_cer() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein(["a", "b"], ["a", "b"]) == 0
    assert cer("TOTAL 1.00", "TOTAL 1.00") == 0.0
    assert cer("total\n 1.00 ", "TOTAL 1.00") == 0.0  # case and whitespace are normalised
    assert cer("TOTAL 7.00", "TOTAL 1.00") == pytest.approx(1 / 10)
    assert cer("", "ABCD") == 1.0
    assert normalise(" a\tb\n\nc ") == "A B C"


def test_cer_ratio_with_paired_interval() -> None:
    ref = [{"cer": v} for v in (0.2, 0.4, 0.1, 0.3)]
    half = [{"cer": v / 2} for v in (0.2, 0.4, 0.1, 0.3)]
    r = cer_ratio(half, ref, n_boot=500)
    # every paired resample halves the mean, so the interval collapses onto the ratio
    assert r["ratio"] == 0.5 and r["ci95"] == [0.5, 0.5]
    assert r["share_of_resamples_below_0.75"] == 1.0
    mixed = [{"cer": v} for v in (0.0, 0.4, 0.1, 0.3)]
    r = cer_ratio(mixed, ref, n_boot=500)
    assert r["ratio"] == pytest.approx(0.8)
    assert r["ci95"][0] < r["ratio"] < r["ci95"][1]
    with pytest.raises(ValueError):
        cer_ratio(half[:2], ref)
    results = {
        "full-resolution": {"per_crop": ref},
        "x4": {"edsr-baseline-liif": {"per_crop": ref}, "doc": {"per_crop": half}},
        "x3": {"doc": {"per_crop": half}},
    }
    assert set(ratios_to(results, "edsr-baseline-liif")) == {"x4"}


def test_word_accuracy() -> None:
    assert word_accuracy("TOTAL 1.00 RM", "TOTAL 1.00 RM") == 1.0
    assert word_accuracy("TOTAL 7.00 RM", "TOTAL 1.00 RM") == pytest.approx(2 / 3)
    assert word_accuracy("RM TOTAL", "TOTAL RM") == pytest.approx(1 / 2)  # order matters
    assert word_accuracy("anything", "") == 1.0


def test_text_rows_reading_order() -> None:
    boxes = [
        (100, 10, 150, 30, "B"),
        (10, 12, 60, 30, "A"),
        (10, 40, 80, 60, "C"),
    ]
    rows = text_rows(boxes)
    assert [[b[4] for b in row] for row in rows] == [["A", "B"], ["C"]]


def test_crops_are_fixed_and_complete() -> None:
    if not any(DOCUMENTS.glob("sroie_*.boxes.csv")):
        pytest.skip(f"receipt scans not found at {DOCUMENTS}")
    crops = choose_crops()
    assert crops == choose_crops()  # seeded
    assert len(crops) >= 20
    unit = int(np.lcm.reduce(SCALES))
    for crop in crops:
        assert crop.height % unit == 0 and crop.width % unit == 0
        assert crop.text.count("\n") == LINES_PER_CROP - 1
        # Every annotated box overlapping the crop lies inside it: the ground truth is whole.
        for x0, y0, x1, y1, _ in read_boxes(DOCUMENTS / f"{crop.page}.boxes.csv"):
            if x0 < crop.left + crop.width and crop.left < x1 and y0 < crop.top + crop.height:
                if crop.top < y1:
                    assert crop.left <= x0 and x1 <= crop.left + crop.width
                    assert crop.top <= y0 and y1 <= crop.top + crop.height
    pixels = crop_pixels(crops[0])
    assert pixels.shape == (crops[0].height, crops[0].width, 3)
    assert reduce(pixels, 4).shape == (crops[0].height // 4, crops[0].width // 4, 3)


def render_line(text: str, em: int) -> np.ndarray:
    """Black text on white, with a margin, sides multiples of 4 (uint8)."""
    font = ImageFont.truetype(str(DEJAVU_BOLD), em)
    _, _, right, bottom = font.getbbox(text)
    width = int(right + 2 * em) // 4 * 4 + 4
    height = int(bottom + em) // 4 * 4 + 4
    im = Image.new("RGB", (width, height), (255, 255, 255))
    ImageDraw.Draw(im).text((em, em // 2), text, fill=(0, 0, 0), font=font)
    return np.asarray(im)


@needs_tesseract
def test_tesseract_reads_the_full_resolution_line() -> None:
    if not DEJAVU_BOLD.is_file():
        pytest.skip(f"{DEJAVU_BOLD} not installed (fonts-dejavu-core)")
    assert normalise(read_text(render_line(LINE, 40))) == LINE


@needs_tesseract
def test_document_model_restores_a_line_tesseract_reads_exactly() -> None:
    if not DOCUMENT_WEIGHTS.is_file():
        pytest.skip(f"{DOCUMENT_WEIGHTS} missing (train it: python -m training.finetune_document)")
    if not DEJAVU_BOLD.is_file():
        pytest.skip(f"{DEJAVU_BOLD} not installed (fonts-dejavu-core)")
    from liif_desktop.render.full import upscale_array
    from liif_desktop.render.region import RegionRenderer
    from liif_desktop.weights import load_model

    hr = render_line(LINE, 28)  # a 7 px em once reduced ×4: small text
    lr = reduce(hr, 4)
    model = load_model(str(DOCUMENT_WEIGHTS))
    restored = upscale_array(RegionRenderer(model, lr.astype(np.float32) / 255.0), hr.shape[:2])
    assert normalise(read_text(restored)) == LINE


@needs_tesseract
def test_jpeg_variant_degrades_the_reduced_crop_and_has_its_own_key() -> None:
    from benchmarks.ocr import run_ocr

    crops = choose_crops()[:1]
    if not crops:
        pytest.skip("no SROIE crops in shared/data/documents")
    seen: list[np.ndarray] = []

    def keep(lr: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
        seen.append(lr)
        return np.ones((*out_size, 3), np.float32)

    results = run_ocr(crops, {"white": keep}, (4,), jpeg_quality=75)
    assert set(results) == {"full-resolution", "x4_jpeg75"}
    clean = reduce(crop_pixels(crops[0]), 4)
    assert seen[0].shape == clean.shape and not np.array_equal(seen[0], clean)

"""Synthetic document pages, scan degradation and the document patch sampler."""

from __future__ import annotations

import numpy as np
import pytest

from liif_desktop.imresize import imresize
from training.documents import (
    BLOCK_WEIGHTS,
    CYRILLIC,
    GREEK,
    LATIN_LOWER,
    LATIN_UPPER,
    PUNCTUATION,
    DocumentPatchSampler,
    ScanStyle,
    available_fonts,
    degrade_scan,
    render_ink,
    synthetic_scan,
    text_line,
    validation_pages,
)


@pytest.fixture(scope="module")
def fonts() -> tuple:
    try:
        return available_fonts()
    except RuntimeError as exc:
        pytest.skip(f"no fonts installed: {exc}")


def test_fonts_cover_scripts(fonts: tuple) -> None:
    assert all("latin" in f.scripts for f in fonts)
    dejavu = [f for f in fonts if f.path.name == "DejaVuSans.ttf"]
    if dejavu:  # DejaVu covers Greek and Cyrillic; the coverage probe must see that
        assert {"greek", "cyrillic"} <= dejavu[0].scripts
    assert any(f.monospace for f in fonts) or len(fonts) < 3


def test_text_line_uses_its_script() -> None:
    rng = np.random.default_rng(0)
    allowed = set(LATIN_UPPER + LATIN_LOWER + "0123456789 " + PUNCTUATION)
    for script, letters in (("greek", GREEK), ("cyrillic", CYRILLIC)):
        line = text_line(rng, 40, script)
        assert set(line) <= allowed | set(letters)
        assert set(line) & set(letters), line  # letters of the script do occur
    assert len(text_line(rng, 5).split(" ")) >= 5


def test_render_ink_is_seeded_and_has_text(fonts: tuple) -> None:
    a = render_ink(np.random.default_rng(3), 64, 48, em=9.0, faces=fonts)
    b = render_ink(np.random.default_rng(3), 64, 48, em=9.0, faces=fonts)
    c = render_ink(np.random.default_rng(4), 64, 48, em=9.0, faces=fonts)
    assert a.shape == (64, 48) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert 0.02 < float(a.mean()) < 0.6  # text, but not a solid block


def test_render_ink_block_weights_choose_the_layouts(fonts: tuple) -> None:
    rng = np.random.default_rng
    default = render_ink(rng(5), 64, 64, em=8.0, faces=fonts)
    assert np.array_equal(
        default, render_ink(rng(5), 64, 64, em=8.0, faces=fonts, block_weights=BLOCK_WEIGHTS)
    )
    headings = render_ink(rng(5), 64, 64, em=8.0, faces=fonts, block_weights=[0, 0, 0, 0, 1])
    assert not np.array_equal(default, headings)


def test_printed_receipts_use_an_unsmoothed_bitmap_font(fonts: tuple) -> None:
    rng = np.random.default_rng
    receipts = [0, 1, 0, 0, 0]
    outline = render_ink(rng(7), 64, 64, em=24.0, faces=fonts, block_weights=receipts)
    # printed=0 draws nothing from the generator for printing: older configs stay reproducible
    assert np.array_equal(
        outline,
        render_ink(rng(7), 64, 64, em=24.0, faces=fonts, block_weights=receipts, printed=0.0),
    )
    printed = [
        render_ink(rng(s), 64, 64, em=24.0, faces=fonts, block_weights=receipts, printed=1.0)
        for s in range(6)
    ]
    outlines = [
        render_ink(rng(s), 64, 64, em=24.0, faces=fonts, block_weights=receipts) for s in range(6)
    ]

    def grey_share(inks: list[np.ndarray]) -> float:
        ink = np.concatenate([i.ravel() for i in inks])
        return float(((ink > 0.05) & (ink < 0.95)).sum() / max(1, (ink > 0.05).sum()))

    assert all(0.02 < float(i.mean()) < 0.7 for i in printed)
    # Anti-aliased outlines have grey edges; printer dots are solid (round dots keep a little)
    assert grey_share(printed) < 0.5 * grey_share(outlines)


def test_validation_pages_take_the_training_mix(fonts: tuple) -> None:
    plain = validation_pages(seed=1, count=1, lr_size=12, scale=3)
    mixed = validation_pages(
        seed=1, count=1, lr_size=12, scale=3, block_weights=[0, 1, 0, 0, 0], printed=1.0
    )
    assert mixed[0][1].shape == plain[0][1].shape
    assert not np.array_equal(mixed[0][1], plain[0][1])


def test_degrade_scan_looks_like_paper_with_ink(fonts: tuple) -> None:
    rng = np.random.default_rng(5)
    ink = render_ink(rng, 64, 64, em=10.0, faces=fonts)
    page = degrade_scan(ink, np.random.default_rng(6))
    again = degrade_scan(ink, np.random.default_rng(6))
    assert page.shape == (64, 64, 3) and page.dtype == np.uint8
    np.testing.assert_array_equal(page, again)
    luma = page.astype(np.float32).mean(axis=2) / 255
    paper, inked = luma[ink < 0.05], luma[ink > 0.95]
    assert np.median(paper) > 0.6
    assert np.median(inked) < np.median(paper) - 0.2


def test_degradation_strengths_are_used(fonts: tuple) -> None:
    ink = render_ink(np.random.default_rng(7), 48, 48, em=8.0, faces=fonts)
    clean = ScanStyle(
        rotation_deg=0.0,
        blur_sigma=(0.0, 0.0),
        noise_sigma=(0.0, 0.0),
        jpeg_probability=0.0,
        paper_texture=(0.0, 0.0),
        ink_fade=(0.0, 0.0),
    )
    noisy = ScanStyle(noise_sigma=(0.08, 0.08), jpeg_probability=0.0, blur_sigma=(0.0, 0.0))
    a = degrade_scan(ink, np.random.default_rng(1), clean).astype(np.float32)
    b = degrade_scan(ink, np.random.default_rng(1), noisy).astype(np.float32)
    paper = ink < 0.01
    assert a[paper].std(axis=0).max() < 1.0  # clean paper is flat
    assert b[paper].std(axis=0).min() > 10.0  # 0.08 noise is about 20 grey levels


def test_patch_sampler_sample_geometry(fonts: tuple) -> None:
    sampler = DocumentPatchSampler(lr_size=16, scale_range=(2.0, 3.0), n_queries=64)
    lr, coord, cell, gt, scale = sampler.sample_one(np.random.default_rng(11))
    assert lr.shape == (16, 16, 3) and lr.dtype == np.uint8
    assert 2.0 <= scale <= 3.0 + 1e-6
    hr_size = round(16 * scale)
    assert coord.shape == (64, 2) and cell.shape == (64, 2) and gt.shape == (64, 3)
    np.testing.assert_allclose(cell, 2.0 / hr_size)
    # Queries are HR pixel centres: (c + 1) * size / 2 - 0.5 is an integer index.
    index = (coord + 1) * hr_size / 2 - 0.5
    np.testing.assert_allclose(index, np.round(index), atol=1e-4)
    assert len({tuple(c) for c in coord.tolist()}) == 64  # no pixel drawn twice
    assert 0.0 <= gt.min() and gt.max() <= 1.0


def test_patch_sampler_is_seeded(fonts: tuple) -> None:
    sampler = DocumentPatchSampler(lr_size=12, n_queries=32)
    a = sampler.sample_one(np.random.default_rng(2))
    b = sampler.sample_one(np.random.default_rng(2))
    for x, y in zip(a[:4], b[:4], strict=True):
        np.testing.assert_array_equal(x, y)


def test_validation_pages_are_bicubic_pairs(fonts: tuple) -> None:
    pairs = validation_pages(seed=1, count=2, lr_size=12, scale=3)
    assert len(pairs) == 2
    for lr, hr in pairs:
        assert hr.shape == (36, 36, 3) and lr.shape == (12, 12, 3)
        np.testing.assert_array_equal(lr, imresize(hr, output_shape=(12, 12)))
    again = validation_pages(seed=1, count=2, lr_size=12, scale=3)
    np.testing.assert_array_equal(pairs[1][1], again[1][1])


def test_synthetic_scan_size(fonts: tuple) -> None:
    page = synthetic_scan(np.random.default_rng(0), 40, 56, em=7.0)
    assert page.shape == (40, 56, 3)


def test_finetune_document_runs_resumes_and_keeps_the_best(fonts: tuple, tmp_path) -> None:
    # A tiny model, 4 iterations of 2 patches; then a resume that has nothing left to do.
    pytest.importorskip("torch")
    from liif_desktop.model import save_checkpoint
    from tests.conftest import SHARED, make_tiny_model, tiny_spec
    from training.finetune_document import run

    photos = SHARED / "data" / "train" / "T91"
    if not photos.is_dir():
        pytest.skip("../shared/data/train/T91 is not present")
    init = tmp_path / "init.pth"
    save_checkpoint(init, make_tiny_model(), tiny_spec())
    cfg = {
        "seed": 1,
        "init": str(init),
        "out_dir": str(tmp_path / "run"),
        "photo_folders": [str(photos)],
        "photo_fraction": 0.5,
        "lr_size": 12,
        "scale_range": [1.0, 4.0],
        "doc_scale_range": [3.0, 4.0],
        "lr_em_range": [4.0, 6.0],
        "block_weights": [0, 1, 0, 0, 0],
        "n_queries": 64,
        "batch_size": 2,
        "iterations": 4,
        "lr": 1e-3,
        "lr_min": 1e-4,
        "warmup": 1,
        "log_every": 2,
        "val_every": 3,
        "threads": 1,
        "validation": {"seed": 5, "count": 1, "lr_size": 12, "scales": [3]},
    }
    best = run(cfg)
    assert best.is_file() and (tmp_path / "run" / "last.pth").is_file()
    assert run(cfg) == best  # resumed at the end: nothing to train

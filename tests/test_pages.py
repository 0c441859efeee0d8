"""Files with pages: PDF and multi-page TIFF sources, page ranges, exports, errors, memory."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop import cli
from liif_desktop.export.batch import BatchItem
from liif_desktop.export.imageio import ImageLoadError
from liif_desktop.export.job import quantize
from liif_desktop.export.naming import output_name
from liif_desktop.export.page_items import expand_pages
from liif_desktop.export.pages import (
    VECTOR_PAGE_DPI,
    PdfError,
    load_page,
    open_pages,
    parse_page_range,
)
from liif_desktop.model import load_checkpoint
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.pdf_helpers import (
    damaged_pdf,
    encrypted_pdf,
    multipage_tiff,
    page_pdf,
    page_pixels,
    pageless_pdf,
    scanned_pdf,
)
from tests.test_export_batch import save_tiny_checkpoint

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
SIZES = [(40, 30), (36, 28), (44, 32)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=4)


@pytest.fixture
def scan_pdf(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    path = tmp_path / "scan.pdf"
    return path, scanned_pdf(path, SIZES, dpi=300)


def test_pdf_page_count_and_native_size(scan_pdf: tuple[Path, list[np.ndarray]]) -> None:
    path, pages = scan_pdf
    source = open_pages(path)
    assert (source.kind, source.count) == ("pdf", 3)
    for number, (pixels, (h, w)) in enumerate(zip(pages, SIZES, strict=True), start=1):
        page = source.load(number)
        # The embedded image's own pixels and resolution, not a 72-dpi render of the page.
        assert page.size == (h, w)
        assert page.dpi == (300.0, 300.0)
        assert page.grey and (page.page, page.page_count) == (number, 3)
        assert "scanned page" in page.source_note
        # JPEG inside the PDF: PDFium's decoder and Pillow's agree to a level or two.
        decoded = page.rgb[..., 0] * 255
        assert np.abs(decoded - pixels.astype(np.float32)).mean() < 4


def test_pdf_vector_page_is_rendered_at_the_stated_dpi(tmp_path: Path) -> None:
    path = tmp_path / "vector.pdf"
    path.write_bytes(page_pdf(b"0 g 10 10 50 30 re f", size=(144, 72)))
    page = load_page(path, 1)
    scale = VECTOR_PAGE_DPI / 72
    assert page.size == (round(72 * scale), round(144 * scale))
    assert page.dpi == (VECTOR_PAGE_DPI, VECTOR_PAGE_DPI)
    assert page.rgb.min() == 0 and page.rgb.max() == 1  # the black box on white paper


def test_pdf_scan_with_drawing_on_top_keeps_the_scan_resolution(tmp_path: Path) -> None:
    image = page_pixels(50, 100, seed=2)  # drawn at 100 x 50 pt: 72 dpi
    both = page_pdf(b"q 100 0 0 50 0 0 cm /Im0 Do Q 0 g 1 1 5 5 re f", (100, 50), image)
    plain = page_pdf(b"q 100 0 0 50 0 0 cm /Im0 Do Q", (100, 50), image)
    (tmp_path / "both.pdf").write_bytes(both)
    (tmp_path / "plain.pdf").write_bytes(plain)
    rendered, extracted = load_page(tmp_path / "both.pdf"), load_page(tmp_path / "plain.pdf")
    assert "rendered" in rendered.source_note and "scanned" in extracted.source_note
    assert rendered.size == extracted.size == (50, 100)
    np.testing.assert_array_equal(extracted.rgb[..., 0], image / np.float32(255))


def test_multipage_tiff_pages(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    pages = multipage_tiff(path, SIZES, dpi=200)
    source = open_pages(path)
    assert (source.kind, source.count) == ("tiff", 3)
    page = source.load(2)
    assert page.size == SIZES[1] and page.dpi == (200.0, 200.0) and page.warnings == []
    np.testing.assert_array_equal(quantize(page.rgb, np.uint8), pages[1])
    with pytest.raises(ImageLoadError, match="no page 4"):
        source.load(4)


def test_single_image_is_one_page(tmp_path: Path) -> None:
    Image.fromarray(page_pixels(8, 8, 0)).save(tmp_path / "one.png")
    source = open_pages(tmp_path / "one.png")
    assert (source.kind, source.count) == ("image", 1)
    assert source.load(1).page is None


def test_page_ranges() -> None:
    assert parse_page_range("2-4", 12) == [2, 3, 4]
    assert parse_page_range("1, 3,5-", 7) == [1, 3, 5, 6, 7]
    assert parse_page_range("all", 3) == [1, 2, 3]
    assert parse_page_range("2-9", 4) == [2, 3, 4]
    assert parse_page_range("3,3,1", 5) == [3, 1]
    for bad in ("0", "4-2", "a", "1-2-3", ""):
        with pytest.raises(ValueError):
            parse_page_range(bad, 5)


def test_page_names() -> None:
    source, sizes = Path("scan.pdf"), ((10, 10), (20, 20))
    assert output_name("{name}_x{scale}", source, *sizes, "PNG", 3, 12) == "scan_x2_p03.png"
    assert output_name("{name}-{page}", source, *sizes, "PNG", 3, 12) == "scan-03.png"
    assert output_name("{name}", source, *sizes, "PNG") == "scan.png"


def _expected_grey(page_rgb: np.ndarray, model_path: Path, scale: int) -> np.ndarray:
    h, w = page_rgb.shape[:2]
    renderer = RegionRenderer(load_checkpoint(model_path), page_rgb)
    return quantize(upscale_array(renderer, (h * scale, w * scale)) @ LUMA, np.uint8)


def test_cli_exports_a_page_range(
    tmp_path: Path, scan_pdf: tuple[Path, list[np.ndarray]], checkpoint: Path
) -> None:
    path, _ = scan_pdf
    out = tmp_path / "out"
    code = cli.main(
        [str(path), "--pages", "2-3", "-s", "2", "-o", f"{out}/", "--model", str(checkpoint)]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["liif-manifest.jsonl", "scan_x2_p2.png", "scan_x2_p3.png"]
    for number in (2, 3):
        with Image.open(out / f"scan_x2_p{number}.png") as im:
            assert im.mode == "L" and im.info["dpi"] == pytest.approx((600, 600), abs=0.01)
            expected = _expected_grey(load_page(path, number).rgb, checkpoint, 2)
            np.testing.assert_array_equal(np.asarray(im), expected)


@pytest.mark.parametrize("suffix", [".tif", ".pdf"])
def test_cli_writes_one_multipage_file(
    tmp_path: Path, scan_pdf: tuple[Path, list[np.ndarray]], checkpoint: Path, suffix: str
) -> None:
    path, _ = scan_pdf
    target = tmp_path / f"big{suffix}"
    argv = [str(path), "--pages", "1,3", "-s", "2", "-o", str(target), "--model", str(checkpoint)]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["scan.pdf", target.name])
    written = open_pages(target)
    assert written.count == 2
    for index, number in enumerate((1, 3), start=1):
        page = written.load(index)
        h, w = SIZES[number - 1]
        assert page.size == (2 * h, 2 * w)
        # Same physical page size: twice the pixels at twice the DPI.
        assert page.dpi == (600.0, 600.0)
        if suffix == ".tif":  # lossless: exactly the upscaled page
            expected = _expected_grey(load_page(path, number).rgb, checkpoint, 2)
            np.testing.assert_array_equal(quantize(page.rgb[..., 0], np.uint8), expected)


def test_several_pages_into_one_image_file_is_a_usage_error(
    tmp_path: Path, scan_pdf: tuple[Path, list[np.ndarray]], checkpoint: Path
) -> None:
    path, _ = scan_pdf
    argv = [str(path), "-s", "2", "-o", str(tmp_path / "one.png"), "--model", str(checkpoint)]
    assert cli.main(argv) == 2
    assert cli.main([*argv, "--pages", "2"]) == 0
    assert (tmp_path / "one.png").is_file()


def test_bad_pdfs_fail_one_by_one_and_the_batch_goes_on(
    tmp_path: Path,
    scan_pdf: tuple[Path, list[np.ndarray]],
    checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, _ = scan_pdf
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_good.pdf").write_bytes(good.read_bytes())
    (folder / "b_locked.pdf").write_bytes(encrypted_pdf())
    (folder / "c_damaged.pdf").write_bytes(damaged_pdf(good.read_bytes()))
    (folder / "d_pageless.pdf").write_bytes(pageless_pdf())
    (folder / "e_zero.pdf").write_bytes(b"")
    out = tmp_path / "out"
    code = cli.main([str(folder), "-s", "2", "-o", str(out), "--model", str(checkpoint)])
    assert code == 1
    names = sorted(p.name for p in out.iterdir() if p.name != "liif-manifest.jsonl")
    assert names == [f"a_good_x2_p{n}.png" for n in (1, 2, 3)]
    err = capsys.readouterr().err
    assert "3 written, 0 skipped, 4 failed" in err
    reasons = {
        "b_locked.pdf": "encrypted with a password",
        "c_damaged.pdf": "damaged or not a PDF",
        "d_pageless.pdf": "has no pages",
        "e_zero.pdf": "the file is empty",
    }
    for name, reason in reasons.items():
        lines = [line for line in err.splitlines() if line.startswith(f"error: {folder / name}")]
        assert len(lines) == 1 and reason in lines[0], (name, lines)


def test_expand_pages_keeps_unreadable_files_for_the_batch_to_report(tmp_path: Path) -> None:
    (tmp_path / "locked.pdf").write_bytes(encrypted_pdf())
    item = BatchItem(tmp_path / "locked.pdf")
    assert expand_pages([item], "2-4") == [item]
    with pytest.raises(PdfError, match="encrypted"):
        open_pages(tmp_path / "locked.pdf")


@pytest.mark.parametrize("kind", ["pdf", "tif"])
def test_forty_pages_open_with_the_memory_of_one(tmp_path: Path, kind: str) -> None:
    sizes = [(300, 240)] * 40
    path = tmp_path / f"long.{kind}"
    if kind == "pdf":
        scanned_pdf(path, sizes, dpi=300)
    else:
        multipage_tiff(path, sizes)
    one_page = 300 * 240 * 3 * 4  # float32 RGB of one page
    open_pages(path)  # imports PDFium's bindings outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        source = open_pages(path)
        _, after_open = tracemalloc.get_traced_memory()
        page = source.load(20)
        current, peak = tracemalloc.get_traced_memory()
        print(f"{kind}: after open {after_open / one_page:.3f}, peak {peak / one_page:.2f} pages")
    finally:
        tracemalloc.stop()
    assert source.count == 40 and page.size == (300, 240)
    assert after_open < one_page / 4  # counting pages decodes none
    # Decoding one page peaks at a few page-sized buffers (uint8 copy, float conversion);
    # all 40 pages would be 40 pages.
    assert peak < 4 * one_page, (peak / one_page, current / one_page)

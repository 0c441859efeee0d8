"""Files with pages: single images, multi-page TIFF and PDF, read one page at a time.

A :class:`PageSource` knows how many pages a file has and decodes one page on request, so a
40-page scan costs the memory of one page. Pages are numbered from 1, as people count them.

PDF pages are read with pypdfium2 (PDFium). A *scanned* page — one upright image covering the
page and nothing visible besides (an invisible OCR text layer is allowed) — opens at the
embedded image's own pixel size and DPI, decoded by PDFium without resampling. A page that
also holds visible text or drawings is rendered at the DPI of its finest image (so a scan with
annotations keeps the scan's size), and a page without images at :data:`VECTOR_PAGE_DPI`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from liif_desktop.export.imageio import (
    IMAGE_SUFFIXES,
    ImageLoadError,
    ImageTooLarge,
    LoadedImage,
    image_from_pil,
    load_image,
)

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument, PdfPage

#: DPI at which PDF pages without images (vector text and drawings) are rendered.
VECTOR_PAGE_DPI = 150.0
#: Bounds for rendering a page at the DPI of its images (a tiny high-DPI logo must not make a
#: letter page 20 000 pixels tall).
MIN_RENDER_DPI, MAX_RENDER_DPI = 72.0, 600.0
#: Fraction of the page an image must cover for the page to count as a scan.
SCAN_COVERAGE = 0.9
PDF_SUFFIXES = frozenset({".pdf"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
#: Suffixes of files the app, the CLI and batches take as input (images and PDFs).
INPUT_SUFFIXES = IMAGE_SUFFIXES | PDF_SUFFIXES

# PDFium is not thread-safe: every call into it goes through this lock.
_pdfium_lock = threading.RLock()

PageKind = Literal["image", "tiff", "pdf"]


class PdfError(ImageLoadError):
    """A PDF cannot be used (encrypted, damaged, empty); the message says which and why."""


def is_pdf(path: str | Path) -> bool:
    """True when ``path`` names a PDF (by suffix)."""
    return Path(path).suffix.lower() in PDF_SUFFIXES


@dataclass(frozen=True)
class PageSource:
    """A file seen as pages; nothing is decoded until :meth:`load` is called.

    Attributes
    ----------
    path
        The file.
    kind
        ``'image'`` (one page), ``'tiff'`` (a multi-page TIFF) or ``'pdf'``.
    count
        Number of pages (at least 1).
    """

    path: Path
    kind: PageKind
    count: int

    def load(self, page: int, allow_huge: bool = False) -> LoadedImage:
        """Decode page ``page`` (1-based) as a :class:`LoadedImage`.

        Raises
        ------
        ImageLoadError
            The page does not exist or cannot be decoded (``ImageTooLarge`` above the pixel
            limit without ``allow_huge``; :class:`PdfError` for PDF problems).
        """
        if not 1 <= page <= self.count:
            raise ImageLoadError(f"{self.path}: has {self.count} page(s); there is no page {page}")
        if self.kind == "pdf":
            image = _load_pdf_page(self.path, page - 1, allow_huge)
        elif self.kind == "tiff":
            image = load_image(self.path, allow_huge=allow_huge, frame=page - 1)
        else:
            image = load_image(self.path, allow_huge=allow_huge)
        image.page = page if self.count > 1 or self.kind == "pdf" else None
        image.page_count = self.count
        return image


def open_pages(path: str | Path) -> PageSource:
    """Look at a file's pages without decoding any.

    Raises
    ------
    ImageLoadError
        Missing or empty file; :class:`PdfError` for an encrypted, damaged or empty PDF.
    """
    path = Path(path)
    if not path.exists():
        kind = "a link to a missing file" if path.is_symlink() else "no such file"
        raise ImageLoadError(f"{path}: {kind}")
    if path.is_dir():
        raise ImageLoadError(f"{path}: is a folder, not an image file")
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise ImageLoadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if empty:
        raise ImageLoadError(f"{path}: the file is empty")
    if is_pdf(path) or _starts_like_pdf(path):
        with _pdfium_lock, _open_pdf(path) as pdf:
            count = len(pdf)
        if count == 0:
            raise PdfError(f"{path}: the PDF has no pages")
        return PageSource(path, "pdf", count)
    frames = _tiff_frames(path) if path.suffix.lower() in TIFF_SUFFIXES else 1
    return PageSource(path, "tiff" if frames > 1 else "image", frames)


def load_page(path: str | Path, page: int = 1, allow_huge: bool = False) -> LoadedImage:
    """Decode one page of a file (page 1 of a plain image); see :meth:`PageSource.load`."""
    return open_pages(path).load(page, allow_huge)


def parse_page_range(text: str, count: int | None = None) -> list[int]:
    """Pages named by ``'2-4'``, ``'1,3,5-'``, ``'all'`` (1-based, in order, no repeats).

    Parameters
    ----------
    text
        Comma-separated pages and ranges; an open range (``'5-'``) runs to the last page.
    count
        The file's page count: pages beyond it are dropped, open ranges end there. Without it
        open ranges and ``'all'`` are refused.

    Raises
    ------
    ValueError
        Malformed text, page 0, a backwards range.
    """
    spec = text.strip().lower()
    if spec in ("all", "*"):
        if count is None:
            raise ValueError("'all' pages needs the page count")
        return list(range(1, count + 1))
    pages: list[int] = []
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?", part)
        if match is None:
            raise ValueError(f"not a page or page range: {part.strip()!r} (use e.g. 2-4,7)")
        first = int(match.group(1))
        if match.group(2) is None:
            last = first
        elif match.group(3):
            last = int(match.group(3))
        elif count is None:
            raise ValueError(f"the open range {part.strip()!r} needs the page count")
        else:
            last = count
        if first < 1:
            raise ValueError("pages are numbered from 1")
        if last < first:
            raise ValueError(f"the range {part.strip()!r} runs backwards")
        top = last if count is None else min(last, count)
        pages += [p for p in range(first, top + 1) if p not in pages]
    return pages


# -- TIFF ----------------------------------------------------------------------------------
def _tiff_frames(path: Path) -> int:
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1) or 1)
    except Exception:  # let load_image report what is wrong with the file
        return 1


# -- PDF -----------------------------------------------------------------------------------
def _starts_like_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"%PDF-"
    except OSError:
        return False


def _mentions(path: Path, pattern: bytes) -> bool:
    """Whether the first and last MiB of ``path`` match ``pattern``."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 20)
            f.seek(max(0, path.stat().st_size - (1 << 20)))
            tail = f.read()
    except OSError:
        return False
    return re.search(pattern, head) is not None or re.search(pattern, tail) is not None


def _looks_pageless(path: Path) -> bool:
    """A PDF whose page tree says ``/Count 0`` (PDFium refuses those as malformed)."""
    return _mentions(path, rb"/Type\s*/Pages\b") and _mentions(
        path, rb"/Type\s*/Pages\s*/Kids\s*\[\s*\]|/Count\s+0\b"
    )


def _open_pdf(path: Path) -> PdfDocument:
    """A ``pypdfium2.PdfDocument`` (a context manager), or :class:`PdfError` saying why not."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        # PDFium keeps its last error globally and may not reset it on every failure, so
        # the file's own words are checked too.
        code = getattr(exc, "err_code", None)
        if _looks_pageless(path):
            reason = "the PDF has no pages"
        elif code == pdfium_c.FPDF_ERR_PASSWORD and _mentions(path, rb"/Encrypt\b"):
            reason = "the PDF is encrypted with a password; save an unprotected copy and open that"
        elif code == pdfium_c.FPDF_ERR_SECURITY and _mentions(path, rb"/Encrypt\b"):
            reason = "the PDF uses an unsupported security (encryption) scheme"
        elif code == pdfium_c.FPDF_ERR_FILE:
            reason = "the file cannot be opened"
        else:
            detail = re.search(r"PDFium: [^)]*", str(exc))
            reason = f"the PDF is damaged or not a PDF ({detail[0] if detail else exc})"
        raise PdfError(f"{path}: {reason}") from exc


@dataclass(frozen=True)
class _PagePlan:
    """How to get a PDF page's pixels: extract an image object, or render at ``dpi``."""

    dpi: float
    scan_index: int | None  # index of the image among the page's top-level objects


def _plan_pdf_page(page: PdfPage) -> _PagePlan:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    if not images:
        return _PagePlan(VECTOR_PAGE_DPI, None)
    best_dpi = 0.0
    for image in images:
        meta = image.get_metadata()
        best_dpi = max(best_dpi, (meta.horizontal_dpi + meta.vertical_dpi) / 2)
    dpi = float(np.clip(best_dpi, MIN_RENDER_DPI, MAX_RENDER_DPI))
    top = list(page.get_objects(max_depth=0))
    top_images = [i for i, o in enumerate(top) if isinstance(o, pdfium.PdfImage)]
    visible_others = [
        o
        for o in top
        if not isinstance(o, pdfium.PdfImage)
        and not (
            o.type == pdfium_c.FPDF_PAGEOBJ_TEXT
            and pdfium_c.FPDFTextObj_GetTextRenderMode(o.raw)
            == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        )
    ]
    if len(top_images) != 1 or visible_others:
        return _PagePlan(dpi, None)
    index = top_images[0]
    image = top[index]
    a, b, c, d, _e, _f = image.get_matrix().get()
    left, bottom, right, top_edge = image.get_bounds()
    covered = (right - left) * (top_edge - bottom) / max(width * height, 1e-6)
    upright = abs(b) < 1e-6 and abs(c) < 1e-6 and a > 0 and d > 0
    if not upright or covered < SCAN_COVERAGE:
        return _PagePlan(dpi, None)
    return _PagePlan(dpi, index)


def _check_pixels(path: Path, width: int, height: int, allow_huge: bool) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    pixels = width * height
    if width < 1 or height < 1:
        raise PdfError(f"{path}: the page has no pixels ({width}×{height})")
    if limit is not None and pixels > limit and not allow_huge:
        raise ImageTooLarge(
            f"{path}: the page is {width}×{height} ({pixels / 1e6:.1f} MP), more than the "
            f"{limit / 1e6:.1f} MP safety limit; allow huge images to open it",
            pixels,
            limit,
        )


def _load_pdf_page(path: Path, index: int, allow_huge: bool) -> LoadedImage:
    with _pdfium_lock, _open_pdf(path) as pdf:
        try:
            page = pdf[index]
        except Exception as exc:
            raise PdfError(f"{path}: page {index + 1} is damaged ({exc})") from exc
        try:
            return _page_pixels(path, page, allow_huge)
        except ImageLoadError:
            raise
        except Exception as exc:
            raise PdfError(f"{path}: page {index + 1} cannot be decoded ({exc})") from exc
        finally:
            page.close()


def _page_pixels(path: Path, page: PdfPage, allow_huge: bool) -> LoadedImage:
    import pypdfium2.raw as pdfium_c

    plan = _plan_pdf_page(page)
    rotation = int(page.get_rotation()) % 360
    if plan.scan_index is not None:
        image = list(page.get_objects(max_depth=0))[plan.scan_index]
        px_w, px_h = image.get_px_size()
        _check_pixels(path, px_w, px_h, allow_huge)
        meta = image.get_metadata()
        bitmap = image.get_bitmap(render=False)
        pil = bitmap.to_pil()
        if rotation:
            pil = pil.rotate(-rotation, expand=True)  # /Rotate turns the page clockwise
        dpi = (float(meta.horizontal_dpi), float(meta.vertical_dpi))
        if rotation in (90, 270):
            dpi = (dpi[1], dpi[0])
        grey = meta.colorspace in (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY,) or pil.mode in ("L", "1")
        loaded = image_from_pil(pil.convert("L") if grey else pil, path, _round_dpi(dpi), "PDF")
        loaded.source_note = f"scanned page, {px_w}×{px_h} px embedded image"
        return loaded
    width, height = page.get_size()  # points, rotation applied
    scale = plan.dpi / 72.0
    _check_pixels(path, round(width * scale), round(height * scale), allow_huge)
    pil = page.render(scale=scale).to_pil()
    rgb = np.asarray(pil)
    if (
        rgb.ndim == 3
        and np.array_equal(rgb[..., 0], rgb[..., 1])
        and np.array_equal(rgb[..., 1], rgb[..., 2])
    ):
        pil = pil.convert("L")
    del rgb
    loaded = image_from_pil(pil, path, (plan.dpi, plan.dpi), "PDF")
    loaded.source_note = f"rendered at {plan.dpi:g} dpi"
    return loaded


def _round_dpi(dpi: tuple[float, float]) -> tuple[float, float]:
    # PDFium derives DPI from float page geometry: 299.99998 is 300.
    return tuple(float(round(v)) if abs(v - round(v)) < 0.01 else v for v in dpi)  # type: ignore[return-value]


__all__ = [
    "INPUT_SUFFIXES",
    "MAX_RENDER_DPI",
    "MIN_RENDER_DPI",
    "VECTOR_PAGE_DPI",
    "PageSource",
    "PdfError",
    "is_pdf",
    "load_page",
    "open_pages",
    "parse_page_range",
]

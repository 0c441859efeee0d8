"""Pages of a PDF or multi-page TIFF upscaled into one multi-page TIFF or PDF.

Pages are decoded, upscaled and appended one at a time, so memory is one page's input and
output, whatever the page count. Each page keeps its physical size: its DPI is the source
page's DPI scaled with the enlargement (a 300-dpi A4 page upscaled ×2 is a 600-dpi A4 page).
Output is 8-bit; PDF pages are stored as JPEG at the export quality (Pillow's PDF writer),
TIFF pages with lossless Deflate compression. Like every export, the file is written to a
temporary name and renamed when complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

from liif_desktop.export.job import ExportProgress, ExportSettings, render_output, scaled_dpi
from liif_desktop.export.pages import PageSource
from liif_desktop.export.safety import (
    ExportError,
    OverwritePolicy,
    PendingFile,
    describe_os_error,
    resolve_target,
)
from liif_desktop.model.liif import LIIF

_MULTIPAGE_SUFFIXES = {".pdf": "PDF", ".tif": "TIFF", ".tiff": "TIFF"}
_STEPS_PER_PAGE = 1000


def multipage_format(target: Path) -> str | None:
    """``'PDF'`` or ``'TIFF'`` when ``target`` can hold several pages, else None."""
    return _MULTIPAGE_SUFFIXES.get(target.suffix.lower())


def _page_image(pixels: np.ndarray, fmt: str) -> Image.Image:
    channels = pixels.shape[2]
    if fmt == "PDF" and channels in (2, 4):  # no transparency in a PDF page image: on white
        colour, alpha = pixels[..., :-1].astype(np.float32), pixels[..., -1:] / np.float32(255)
        pixels = np.round(colour * alpha + 255 * (1 - alpha)).astype(np.uint8)
        channels -= 1
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def export_pages(
    source: PageSource,
    pages: Sequence[int],
    model: LIIF,
    target: Path,
    settings: ExportSettings,
    should_stop: Callable[[], bool] | None = None,
    protected: tuple[Path, ...] = (),
    allow_huge: bool = False,
) -> Iterator[ExportProgress]:
    """Upscale ``pages`` of ``source`` into the one multi-page file ``target``.

    Parameters
    ----------
    source
        The input (see :func:`liif_desktop.export.pages.open_pages`).
    pages
        1-based page numbers, in the order to write them.
    target
        A ``.pdf``, ``.tif`` or ``.tiff`` path.
    settings
        Size (applied to every page), quality, overwrite policy, precision; no region.

    Yields
    ------
    ExportProgress
        ``'render'`` steps over all pages (``done``/``total`` in page thousandths), then
        ``'done'`` (or one ``'skipped'``).

    Raises
    ------
    ExportError, liif_desktop.export.imageio.ImageLoadError, liif_desktop.model.decoder.Cancelled
        Nothing is left behind in any case.
    """
    start = time.monotonic()
    fmt = multipage_format(target)
    if fmt is None:
        raise ExportError(f"{target}: one multi-page file must be a .pdf, .tif or .tiff")
    if not pages:
        raise ExportError(f"{source.path}: no pages selected")
    settings = replace(settings, region=None)
    total = len(pages) * _STEPS_PER_PAGE
    path = resolve_target(target, settings.policy, (*protected, source.path))
    if path is None:
        yield ExportProgress("skipped", 0, total, time.monotonic() - start, 0.0, target)
        return
    warnings: list[str] = []
    out_size: tuple[int, int] | None = None
    pending = PendingFile(path)
    try:
        with open(pending.temp_path, "r+b") as fh:
            tiff = TiffImagePlugin.AppendingTiffWriter(fh) if fmt == "TIFF" else None
            for index, page in enumerate(pages):
                image = source.load(page, allow_huge)
                if image.bit_depth == 16 and "16-bit" not in " ".join(warnings):
                    warnings.append(f"{fmt} pages are written with 8 bits per sample")
                steps = iter(render_output(image, model, settings, np.uint8, should_stop))
                while True:
                    try:
                        step = next(steps)
                    except StopIteration as finished:
                        pixels: np.ndarray = finished.value
                        break
                    done = index * _STEPS_PER_PAGE + round(step.fraction * _STEPS_PER_PAGE)
                    eta = (time.monotonic() - start) * (total - done) / done if done else None
                    yield ExportProgress(
                        "render", done, total, time.monotonic() - start, eta, path, step.out_size
                    )
                out_size = (pixels.shape[0], pixels.shape[1])
                dpi = scaled_dpi(image, settings) or (72.0, 72.0)
                page_image = _page_image(pixels, fmt)
                del pixels, image
                try:
                    if tiff is not None:
                        page_image.save(
                            tiff, format="TIFF", dpi=dpi, compression="tiff_adobe_deflate"
                        )
                        tiff.newFrame()
                    else:
                        fh.flush()
                        page_image.save(
                            fh, format="PDF", dpi=dpi, quality=settings.quality, append=index > 0
                        )
                except OSError as exc:
                    raise ExportError(describe_os_error(exc, path)) from exc
            if tiff is not None:
                tiff.close()
        final = pending.commit(overwrite=settings.policy is OverwritePolicy.OVERWRITE)
    except BaseException:
        pending.discard()
        raise
    yield ExportProgress(
        "done", total, total, time.monotonic() - start, 0.0, final, out_size, tuple(warnings)
    )


__all__ = ["export_pages", "multipage_format"]

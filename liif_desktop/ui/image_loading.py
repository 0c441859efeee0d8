"""Reading images for the viewer and converting between QImage and numpy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from liif_desktop.export.pages import open_pages


@dataclass(frozen=True)
class ViewerImage:
    """An image to show: (H, W, 3) float32 RGB in [0, 1] and where it came from.

    Attributes
    ----------
    warnings
        Things the reader wants the user to know (conversions, dropped alpha …).
    page, page_count
        The page shown (1-based) of a PDF or multi-page TIFF, and how many it has; None and 1
        for a single image.
    source_note
        How a PDF page's pixels were obtained (its embedded scan, or rendered at some DPI).
    """

    rgb: np.ndarray
    path: Path | None
    name: str
    warnings: tuple[str, ...] = ()
    page: int | None = None
    page_count: int = 1
    source_note: str = ""


def load_image_file(path: str | Path, allow_huge: bool = False, page: int = 1) -> ViewerImage:
    """Read an image file (or one page of a PDF / multi-page TIFF) with the export layer's
    reader (EXIF orientation applied). Only that page is decoded.

    Raises
    ------
    liif_desktop.export.imageio.ImageLoadError
        When the file cannot be read as an image (``ImageTooLarge`` when it exceeds the
        decompression-bomb limit and ``allow_huge`` is False).
    """
    loaded = open_pages(path).load(page, allow_huge=allow_huge)
    rgb = np.ascontiguousarray(loaded.rgb, dtype=np.float32)
    return ViewerImage(
        rgb,
        Path(path),
        Path(path).name,
        tuple(loaded.warnings),
        loaded.page,
        loaded.page_count,
        loaded.source_note,
    )


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage as (H, W, 3) float32 RGB in [0, 1] (alpha dropped)."""
    return grab_to_array(image).astype(np.float32) / 255.0


def array_to_qimage(rgb: np.ndarray) -> QImage:
    """A uint8 (H, W, 3) array as a QImage that owns a copy of the pixels."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def grab_to_array(image: QImage) -> np.ndarray:
    """A grabbed QImage as uint8 (H, W, 3) RGB (for tests and scripted checks)."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return raw.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()

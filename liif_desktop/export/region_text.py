"""Reading the text of a region: super-resolve it with the current model, run tesseract.

The region is rendered by the export core (the same pixels an export of the selection would
have) at a scale between :data:`MIN_OCR_SCALE` and :data:`MAX_OCR_SCALE` — the view's zoom
where it lies between them — then passed to ``tesseract`` (``--psm 6 --oem 1``, the settings
of ``benchmarks/ocr.py``) on its standard input. No Qt here; the app runs it in a worker.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from liif_desktop.export.imageio import LoadedImage
from liif_desktop.export.job import ExportSettings, OutputSize, render_output
from liif_desktop.model.liif import LIIF

#: The scale range for OCR: small text needs ×2 at least; beyond ×4 costs time, not accuracy.
MIN_OCR_SCALE, MAX_OCR_SCALE = 2.0, 4.0
TESSERACT_TIMEOUT_S = 60.0


class OcrError(Exception):
    """tesseract is missing, failed or timed out; the message says which."""


def find_tesseract() -> str | None:
    """The ``tesseract`` executable on the PATH, or None."""
    return shutil.which("tesseract")


@dataclass(frozen=True)
class OcrRequest:
    """What to read (built on the GUI thread).

    Attributes
    ----------
    image
        The whole image, (H, W, 3) float32 RGB.
    region
        (x, y, w, h) in source pixels.
    zoom
        The view's zoom; the OCR scale is it clamped to [MIN_OCR_SCALE, MAX_OCR_SCALE].
    dpi
        The source's DPI (a hint for tesseract), if known.
    generation
        Results of an older request are dropped.
    """

    image: np.ndarray
    region: tuple[int, int, int, int]
    zoom: float
    dpi: float | None = None
    generation: int = 0

    @property
    def scale(self) -> float:
        return float(np.clip(self.zoom, MIN_OCR_SCALE, MAX_OCR_SCALE))


def render_region(
    request: OcrRequest, model: LIIF | None, should_stop: Callable[[], bool] | None = None
) -> Image.Image:
    """The super-resolved region as an 8-bit greyscale image (bicubic without a model)."""
    x, y, w, h = request.region
    if model is None:
        crop = Image.fromarray(np.round(request.image[y : y + h, x : x + w] * 255).astype(np.uint8))
        size = (round(w * request.scale), round(h * request.scale))
        return crop.resize(size, Image.Resampling.BICUBIC).convert("L")
    settings = ExportSettings(OutputSize(scale=request.scale), region=request.region)
    image = LoadedImage(rgb=request.image, grey=True)
    steps = render_output(image, model, settings, np.uint8, should_stop)
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            pixels: np.ndarray = finished.value
            return Image.fromarray(pixels[..., 0], "L")


def read_text(
    picture: Image.Image, tesseract: str, dpi: float | None = None, language: str = "eng"
) -> str:
    """Run tesseract on ``picture`` and return the text it reads (stripped).

    Raises
    ------
    OcrError
        tesseract failed, timed out, or could not be run.
    """
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    command = [tesseract, "stdin", "stdout", "--psm", "6", "--oem", "1", "-l", language]
    if dpi is not None:
        command += ["--dpi", str(round(dpi))]
    try:
        done = subprocess.run(
            command,
            input=buffer.getvalue(),
            capture_output=True,
            timeout=TESSERACT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OcrError(f"tesseract took longer than {TESSERACT_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise OcrError(f"tesseract could not be run ({exc})") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"tesseract failed: {detail[-1] if detail else done.returncode}")
    return done.stdout.decode("utf-8", "replace").strip()


def read_region(
    request: OcrRequest,
    model: LIIF | None,
    tesseract: str,
    should_stop: Callable[[], bool] | None = None,
) -> str:
    """Super-resolve ``request.region`` and read its text."""
    picture = render_region(request, model, should_stop)
    dpi = request.dpi * request.scale if request.dpi else None
    return read_text(picture, tesseract, dpi)


__all__ = [
    "MAX_OCR_SCALE",
    "MIN_OCR_SCALE",
    "OcrError",
    "OcrRequest",
    "find_tesseract",
    "read_region",
    "read_text",
    "render_region",
]

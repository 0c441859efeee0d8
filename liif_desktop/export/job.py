"""The export core: one image (or a region of it) upscaled to a file, as a generator.

The export dialog, the batch exporter and ``liif-upscale`` all drive :func:`export_image`.
Tiles from :func:`liif_desktop.render.full.render_image` are quantised straight into a
preallocated output buffer (uint8, or uint16 for 16-bit sources written as PNG/TIFF), so peak
memory is that buffer, the input (as integer samples when loaded with ``compact=True``) and
the renderer's bounded working set; PNG is then encoded band by band without another copy.

Colour goes through the model; greyscale images go through it as grey RGB and are written back
as one channel (ITU-R 601 luma, as Pillow converts). Alpha is upscaled with bicubic
interpolation (Pillow, float precision) on the same output grid, tile by tile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from liif_desktop.export import imagewrite
from liif_desktop.export.imageio import LoadedImage
from liif_desktop.export.imagewrite import SIXTEEN_BIT_FORMATS, format_for_suffix, normalise_format
from liif_desktop.export.safety import (
    ExportError,
    OverwritePolicy,
    PendingFile,
    check_free_space,
    describe_os_error,
    estimated_file_bytes,
    resolve_target,
)
from liif_desktop.export.spill import SpilledPixels, should_spill
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.full import output_tiles, render_image
from liif_desktop.render.precision import resolve_precision
from liif_desktop.render.region import Precision, RegionRenderer

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Largest output the exporter will attempt (pixels); beyond it the buffer alone is tens of GB.
MAX_OUTPUT_PIXELS = 4_000_000_000
#: Latent-code cache of an export: whole-image renders raise it to the two bands they need
#: (:func:`~liif_desktop.render.full.render_image`); the viewer's larger default is for panning.
EXPORT_CACHE_BYTES = 64 << 20


@dataclass(frozen=True)
class OutputSize:
    """How big the output is: a scale factor, or a target width and/or height.

    Attributes
    ----------
    scale
        Output pixels per input pixel (both axes).
    width, height
        Target size in pixels. With both and ``keep_aspect`` the image is fitted inside
        ``width × height``; without ``keep_aspect`` it is stretched to exactly that size.
        With one of them the other follows the aspect ratio.
    """

    scale: float | None = None
    width: int | None = None
    height: int | None = None
    keep_aspect: bool = True

    def __post_init__(self) -> None:
        if self.scale is None and self.width is None and self.height is None:
            raise ValueError("give a scale or a target width/height")
        if self.scale is not None and (self.width is not None or self.height is not None):
            raise ValueError("give either a scale or a target size, not both")
        if self.scale is not None and not (self.scale > 0 and np.isfinite(self.scale)):
            raise ValueError(f"the scale must be a positive number, got {self.scale}")
        for name, value in (("width", self.width), ("height", self.height)):
            if value is not None and value < 1:
                raise ValueError(f"the target {name} must be at least 1 pixel, got {value}")

    def resolve(self, in_size: tuple[int, int]) -> tuple[int, int]:
        """(H_out, W_out) for an (H, W) input."""
        h, w = in_size
        if self.scale is not None:
            sy = sx = self.scale
        elif self.width is not None and self.height is not None:
            if not self.keep_aspect:
                return self.height, self.width
            sy = sx = min(self.width / w, self.height / h)
        elif self.width is not None:
            sy = sx = self.width / w
            return max(1, round(h * sy)), self.width
        else:
            assert self.height is not None
            sy = sx = self.height / h
            return self.height, max(1, round(w * sx))
        return max(1, round(h * sy)), max(1, round(w * sx))


@dataclass(frozen=True)
class ExportSettings:
    """Everything about an export except its input and model.

    Attributes
    ----------
    size
        Output size of the image (or of the region).
    format
        ``'PNG'``, ``'JPEG'``, ``'TIFF'``, ``'WEBP'``; None: from the target's suffix, else the
        input's format where writable, else PNG.
    quality
        JPEG / WebP quality.
    policy
        What to do when the output exists.
    precision
        Model precision: ``'fp32'`` (exact), ``'bf16'``, ``'fp16'``, or ``'auto'`` (measured
        once per machine, see :func:`liif_desktop.render.precision.resolve_precision`).
    tile
        Output tile side (progress and cancel granularity).
    region
        (x, y, w, h) in source pixels: export only the output pixels of this region of the
        whole image's output grid (seamless with a full export).
    """

    size: OutputSize
    format: str | None = None
    quality: int = 92
    policy: OverwritePolicy = OverwritePolicy.RENAME
    precision: Precision | Literal["auto"] = "fp32"
    tile: int = 256
    region: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class ExportProgress:
    """One step of an export.

    Attributes
    ----------
    phase
        ``'render'`` (pixels being computed), ``'write'`` (encoding the file), ``'done'``
        (``output`` holds the file written) or ``'skipped'`` (the output existed).
    done, total
        Output pixels rendered so far and in all.
    elapsed
        Seconds since the export started.
    eta
        Estimated seconds left (None until measurable).
    output
        The target path (final once ``phase`` is ``'done'``).
    out_size
        (H, W) of the output.
    warnings
        Conversions and losses the user should know about.
    """

    phase: Literal["render", "write", "done", "skipped"]
    done: int
    total: int
    elapsed: float
    eta: float | None = None
    output: Path | None = None
    out_size: tuple[int, int] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fraction(self) -> float:
        if self.phase in ("done", "skipped"):
            return 1.0
        return self.done / self.total if self.total else 0.0


#: Where to write: a path, or a function of (input size, output size, format) giving one.
Target = Path | Callable[[tuple[int, int], tuple[int, int], str], Path]


def quantize(values: np.ndarray, dtype: type[np.unsignedinteger]) -> np.ndarray:
    """Floats in [0, 1] to uint8 / uint16 with rounding to nearest."""
    top = 65535.0 if dtype == np.uint16 else 255.0
    return np.round(np.clip(values, 0.0, 1.0) * np.float32(top)).astype(dtype)


@dataclass(frozen=True)
class _Plan:
    full_size: tuple[int, int]  # whole output grid (H, W)
    origin: tuple[int, int]  # (row, col) of the exported rectangle in that grid
    out_size: tuple[int, int]  # exported rectangle (H, W)


def _plan(image_size: tuple[int, int], settings: ExportSettings) -> _Plan:
    h, w = image_size
    if settings.region is None:
        out = settings.size.resolve(image_size)
        return _Plan(out, (0, 0), out)
    x, y, rw, rh = settings.region
    if rw < 1 or rh < 1 or x < 0 or y < 0 or x + rw > w or y + rh > h:
        raise ExportError(f"region {settings.region} is outside the {w}×{h} image")
    out = settings.size.resolve((rh, rw))
    sy, sx = out[0] / rh, out[1] / rw
    full = (max(out[0], round(h * sy)), max(out[1], round(w * sx)))
    r0 = min(round(y * sy), full[0] - out[0])
    c0 = min(round(x * sx), full[1] - out[1])
    return _Plan(full, (r0, c0), out)


def choose_format(settings: ExportSettings, image: LoadedImage, target: Path | None) -> str:
    """The output format: explicit, else from the target suffix, else the input's, else PNG."""
    if settings.format:
        fmt = normalise_format(settings.format)
        implied = format_for_suffix(target.suffix) if target is not None else None
        if implied is not None and implied != fmt:
            raise ExportError(
                f"{target}: the name says {implied} but the chosen format is {fmt}; "
                "change the suffix or the format"
            )
        return fmt
    if target is not None:
        from_suffix = format_for_suffix(target.suffix)
        if from_suffix is None:
            raise ExportError(
                f"{target}: cannot tell the output format from the suffix "
                f"{target.suffix or '(none)'}; use .png, .jpg, .tif or .webp"
            )
        return from_suffix
    source_format = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WEBP"}
    return source_format.get(image.format or "", "PNG")


def _scaled_dpi(image: LoadedImage, plan: _Plan) -> tuple[float, float] | None:
    if image.dpi is None:
        return None
    h, w = image.size
    return image.dpi[0] * plan.full_size[1] / w, image.dpi[1] * plan.full_size[0] / h


def _exif_for(exif: bytes | None, out_size: tuple[int, int]) -> bytes | None:
    """EXIF with its pixel dimensions (where present) set to the output's."""
    if not exif:
        return exif
    try:
        data = Image.Exif()
        data.load(exif)
        sub = data.get_ifd(0x8769)  # the Exif sub-IFD
        if 0xA002 in sub or 0xA003 in sub:
            sub[0xA002], sub[0xA003] = out_size[1], out_size[0]
        return data.tobytes()
    except Exception:  # leave odd EXIF as it was rather than fail the export
        return exif


def _alpha_tile(
    alpha: Image.Image,
    image_size: tuple[int, int],
    full_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> np.ndarray:
    """Bicubic alpha of output rectangle ``rows × cols`` of the ``full_size`` grid."""
    h, w = image_size
    fy, fx = h / full_size[0], w / full_size[1]
    box = (cols[0] * fx, rows[0] * fy, cols[1] * fx, rows[1] * fy)
    size = (cols[1] - cols[0], rows[1] - rows[0])
    tile = alpha.resize(size, Image.Resampling.BICUBIC, box=box)
    return np.asarray(tile, dtype=np.float32)


def _tiles(
    renderer: RegionRenderer, plan: _Plan, tile: int, should_stop: Callable[[], bool] | None
) -> Iterator[tuple[tuple[int, int], tuple[int, int], np.ndarray]]:
    """(rows, cols, rgb) of the exported rectangle, in its own coordinates."""
    if plan.out_size == plan.full_size:
        for t in render_image(renderer, plan.full_size, tile, should_stop):
            yield t.rows, t.cols, t.rgb
        return
    r0, c0 = plan.origin
    for rows, cols in output_tiles(plan.out_size, tile):
        if should_stop is not None and should_stop():
            raise Cancelled
        grid_rows = (rows[0] + r0, rows[1] + r0)
        grid_cols = (cols[0] + c0, cols[1] + c0)
        yield rows, cols, renderer.render(plan.full_size, grid_rows, grid_cols, should_stop)


def _allocate(
    out_size: tuple[int, int], channels: int, dtype: type, spill_folder: Path | None
) -> np.ndarray | SpilledPixels:
    pixels = out_size[0] * out_size[1]
    nbytes = pixels * channels * np.dtype(dtype).itemsize
    if pixels > MAX_OUTPUT_PIXELS:
        raise ExportError(
            f"an output of {out_size[1]}×{out_size[0]} ({pixels / 1e6:.0f} MP) is too large"
        )
    if spill_folder is not None:
        return SpilledPixels((*out_size, channels), dtype, spill_folder)
    try:
        return np.empty((*out_size, channels), dtype=dtype)
    except MemoryError as exc:
        raise ExportError(
            f"not enough memory for a {out_size[1]}×{out_size[0]} output "
            f"({nbytes / 2**30:.1f} GiB); choose a smaller size or a region"
        ) from exc


def render_output(
    image: LoadedImage,
    model: LIIF,
    settings: ExportSettings,
    dtype: type[np.unsignedinteger] = np.uint8,
    should_stop: Callable[[], bool] | None = None,
    path: Path | None = None,
    start: float | None = None,
    spill_folder: Path | None = None,
) -> Generator[ExportProgress, None, Any]:
    """Render ``image`` (or ``settings.region``) into a new array, yielding progress.

    Parameters
    ----------
    dtype
        ``np.uint8`` or ``np.uint16`` samples.
    path, start
        The target named in the progress and the ``time.monotonic()`` the job started.
    spill_folder
        Keep the pixels in a temporary file in this folder instead of memory
        (:class:`~liif_desktop.export.spill.SpilledPixels`, read back by whole rows; the
        caller closes it). None: an in-memory array.

    Returns
    -------
    numpy.ndarray or SpilledPixels
        (H, W, C) with C = 1 (grey) or 3 (RGB), plus 1 for alpha (the generator's value).
    """
    start = time.monotonic() if start is None else start
    plan = _plan(image.size, settings)
    channels = (1 if image.grey else 3) + (1 if image.alpha is not None else 0)
    out = _allocate(plan.out_size, channels, dtype, spill_folder)
    precision = resolve_precision(settings.precision, next(model.parameters()).device)
    renderer = RegionRenderer(
        model, image.rgb, precision=precision, feature_cache_bytes=EXPORT_CACHE_BYTES
    )
    alpha = None
    if image.alpha is not None:
        alpha = Image.fromarray(np.ascontiguousarray(image.alpha, dtype=np.float32))
    try:
        yield from _fill(
            out, dtype, renderer, plan, settings, image, alpha, should_stop, path, start
        )
    except BaseException:
        if isinstance(out, SpilledPixels):
            out.close()
        raise
    return out


def _fill(
    out: np.ndarray | SpilledPixels,
    dtype: type[np.unsignedinteger],
    renderer: RegionRenderer,
    plan: _Plan,
    settings: ExportSettings,
    image: LoadedImage,
    alpha: Image.Image | None,
    should_stop: Callable[[], bool] | None,
    path: Path | None,
    start: float,
) -> Iterator[ExportProgress]:
    """Render every tile of ``plan`` into ``out`` (quantised, alpha added), yielding progress."""
    channels = out.shape[2]
    colour_channels = 1 if image.grey else 3
    total = plan.out_size[0] * plan.out_size[1]
    r0, c0 = plan.origin
    render_start = time.monotonic()
    done = 0
    yield ExportProgress("render", 0, total, time.monotonic() - start, None, path, plan.out_size)
    for rows, cols, rgb in _tiles(renderer, plan, settings.tile, should_stop):
        block = np.empty((*rgb.shape[:2], channels), dtype=dtype)
        colour = rgb @ _LUMA if image.grey else rgb
        block[..., :colour_channels] = quantize(colour.reshape(*rgb.shape[:2], -1), dtype)
        if alpha is not None:
            grid_rows, grid_cols = (rows[0] + r0, rows[1] + r0), (cols[0] + c0, cols[1] + c0)
            a = _alpha_tile(alpha, image.size, plan.full_size, grid_rows, grid_cols)
            block[..., colour_channels] = quantize(a, dtype)
        out[rows[0] : rows[1], cols[0] : cols[1]] = block
        done += (rows[1] - rows[0]) * (cols[1] - cols[0])
        spent = time.monotonic() - render_start
        eta = spent * (total - done) / done if done else None
        elapsed = time.monotonic() - start
        yield ExportProgress("render", done, total, elapsed, eta, path, plan.out_size)
    if should_stop is not None and should_stop():
        raise Cancelled


def scaled_dpi(image: LoadedImage, settings: ExportSettings) -> tuple[float, float] | None:
    """The output's DPI: the input's scaled with the enlargement (same physical size)."""
    return _scaled_dpi(image, _plan(image.size, settings))


def export_image(
    image: LoadedImage,
    model: LIIF,
    target: Target,
    settings: ExportSettings,
    should_stop: Callable[[], bool] | None = None,
    protected: tuple[Path, ...] = (),
) -> Iterator[ExportProgress]:
    """Upscale ``image`` with ``model`` and write it safely, yielding progress.

    Parameters
    ----------
    image
        The input (see :func:`liif_desktop.export.imageio.load_image`).
    model
        LIIF model in eval mode (on any device).
    target
        Output path, or a function ``(in_size, out_size, format) -> Path`` naming it.
    settings
        Size, format, quality, overwrite policy, precision, region.
    should_stop
        Polled between tiles and chunks (a :class:`~liif_desktop.render.cancel.CancelToken`).
    protected
        Files that must never be overwritten (the batch's inputs); ``image.path`` always is.

    Yields
    ------
    ExportProgress
        ``'render'`` steps, one ``'write'``, then ``'done'`` (or a single ``'skipped'``).

    Raises
    ------
    liif_desktop.model.decoder.Cancelled
        When cancelled; no file is left behind.
    ExportError
        Bad settings, an unwritable folder, a full disk (checked before rendering, against
        a generous estimate of the file's size), not enough memory.
    """
    start = time.monotonic()
    plan = _plan(image.size, settings)
    if isinstance(target, Path):
        fmt = choose_format(settings, image, target)
        wanted = target
    else:
        fmt = choose_format(settings, image, None)
        wanted = target(image.size, plan.out_size, fmt)
    guarded = (*protected, image.path) if image.path is not None else protected
    path = resolve_target(wanted, settings.policy, guarded)
    total = plan.out_size[0] * plan.out_size[1]
    warnings = list(image.warnings)
    if path is None:
        yield ExportProgress("skipped", 0, total, time.monotonic() - start, 0.0, wanted)
        return
    dtype = np.uint16 if image.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS else np.uint8
    if image.bit_depth == 16 and dtype == np.uint8:
        warnings.append(f"{fmt} holds 8 bits per sample: the 16-bit image was written as 8-bit")

    pending: PendingFile | None = None
    try:
        pending = PendingFile(path)
        channels = (1 if image.grey else 3) + (1 if image.alpha is not None else 0)
        itemsize = np.dtype(dtype).itemsize
        needed = estimated_file_bytes(plan.out_size, channels, itemsize, fmt)
        spill = should_spill(plan.out_size, channels, itemsize, fmt)
        if spill:  # the raw pixels sit beside the file until it is written
            needed += plan.out_size[0] * plan.out_size[1] * channels * itemsize
        check_free_space(path.parent, needed)
        out = yield from render_output(
            image, model, settings, dtype, should_stop, path, start, path.parent if spill else None
        )
        yield ExportProgress("write", total, total, time.monotonic() - start, 0.0, path)
        try:
            warnings += imagewrite.write_image(
                pending.handle,
                out,
                fmt,
                quality=settings.quality,
                icc_profile=image.icc_profile,
                dpi=_scaled_dpi(image, plan),
                exif=_exif_for(image.exif, plan.out_size),
            )
        except OSError as exc:
            raise ExportError(describe_os_error(exc, path)) from exc
        finally:
            if isinstance(out, SpilledPixels):
                out.close()
        del out
        final = pending.commit(overwrite=settings.policy is OverwritePolicy.OVERWRITE)
    except BaseException:
        if pending is not None:
            pending.discard()
        raise
    yield ExportProgress(
        "done",
        total,
        total,
        time.monotonic() - start,
        0.0,
        final,
        plan.out_size,
        tuple(warnings),
    )


__all__ = [
    "MAX_OUTPUT_PIXELS",
    "ExportProgress",
    "ExportSettings",
    "OutputSize",
    "Target",
    "choose_format",
    "export_image",
    "quantize",
    "render_output",
    "scaled_dpi",
]

"""Loading real-world image files into the float RGB arrays the renderer takes.

What is handled: EXIF orientation (applied to the pixels), ICC profile, DPI and EXIF (kept for
writing back), alpha (returned separately), greyscale (flagged so it is written back as grey),
16-bit PNG/TIFF (decoded at full precision), palette / CMYK / other modes (converted to RGB),
multi-frame files (first frame with a warning, or a chosen frame: a page of a multi-page TIFF)
and Pillow's decompression-bomb limit. PNG text chunks too large for Pillow are dropped with a
warning (:mod:`.pngchunks`).

Pillow decodes 16-bit RGB(A) to 8 bits. To keep all 16 bits the file is decoded twice through
Pillow's own decoders: once unpacking the high bytes, once (with the byte order swapped) the low
bytes; the two are then combined. Filtering and decompression stay Pillow's.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile

from liif_desktop.export.pngchunks import (
    TEXT_CHUNKS,
    describe_dropped,
    text_chunk_too_large,
    without_chunks,
)

#: File suffixes treated as images when collecting inputs from folders.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".tga", ".ppm", ".pgm"}
)

_ORIENTATION_TAG = 0x0112
_GREY_MODES = {"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"}
# Pillow's bomb check reads a module global; it is switched off while we open a file (and
# replaced by our own check), so opens are serialised.
_open_lock = threading.Lock()


#: What is decoded: the file, or its bytes with oversized metadata chunks removed.
Source = Path | bytes


def _open_image(source: Source) -> ImageFile.ImageFile:
    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def _text_limit_error(exc: BaseException) -> bool:
    """Pillow's refusal of PNG text chunks that are too large (a ValueError)."""
    text = str(exc)
    return isinstance(exc, ValueError) and ("MAX_TEXT_CHUNK" in text or "text chunks" in text)


class ImageLoadError(Exception):
    """An image file cannot be used; the message says which file and what is wrong."""


class ImageTooLarge(ImageLoadError):
    """The image has more pixels than Pillow's decompression-bomb limit allows.

    Attributes
    ----------
    pixels, limit
        The image's pixel count and the limit.
    """

    def __init__(self, message: str, pixels: int, limit: int) -> None:
        super().__init__(message)
        self.pixels = pixels
        self.limit = limit


@dataclass
class LoadedImage:
    """One decoded image and what is needed to write its upscaled version faithfully.

    Attributes
    ----------
    rgb
        (H, W, 3) float32 in [0, 1], orientation applied; grey images have equal channels.
        From ``load_image(..., compact=True)`` it may instead hold the integer samples
        (uint8 for 8-bit, uint16 for 16-bit files: a quarter or half of the memory), which
        the renderer takes as they are (see :func:`liif_desktop.model.tiling.unit_float`).
    alpha
        (H, W) float32 in [0, 1], or None.
    path
        The file it came from (None for an in-memory image).
    mode
        The file's original Pillow mode (``'RGB'``, ``'P'``, ``'I;16'``, ``'CMYK'`` ...).
    bit_depth
        8 or 16: the precision to write back with.
    grey
        True when the source has no colour (written back as L / I;16).
    icc_profile, dpi, exif
        Metadata to carry over (EXIF with its orientation reset to 1).
    format
        Pillow's name of the file format (``'PNG'``), or None.
    warnings
        Things the user should know (conversions, dropped frames ...).
    page, page_count
        Which page of a multi-page file (PDF, multi-page TIFF) this is, 1-based, and how many
        the file has; None and 1 for a single image.
    source_note
        How the pixels were obtained where that is not obvious (``'rendered at 150 dpi'``).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    path: Path | None = None
    mode: str = "RGB"
    bit_depth: int = 8
    grey: bool = False
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    exif: bytes | None = None
    format: str | None = None
    warnings: list[str] = field(default_factory=list)
    page: int | None = None
    page_count: int = 1
    source_note: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])

    @classmethod
    def from_array(cls, rgb: np.ndarray, path: Path | None = None) -> LoadedImage:
        """Wrap an (H, W, 3) float array that has no file metadata."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
        return cls(rgb=np.ascontiguousarray(rgb, dtype=np.float32), path=path)


def _rawmode_of(tile: Any) -> str | None:
    args = tile[3]
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    args = tile[3]
    new_args: Any = rawmode if isinstance(args, str) else (rawmode, *args[1:])
    if hasattr(tile, "_replace"):
        return tile._replace(args=new_args)
    return (tile[0], tile[1], tile[2], new_args)


def _swapped_byte_order(rawmode: str) -> str | None:
    """The rawmode that unpacks the low bytes where ``rawmode`` unpacks the high ones."""
    for a, b in ((";16B", ";16L"), (";16L", ";16B"), (";16N", ";16B")):
        if rawmode.endswith(a):
            swapped = rawmode[: -len(a)] + b
            if a == ";16N" and np.little_endian is False:
                swapped = rawmode[: -len(a)] + ";16L"
            return swapped
    return None


def _decode_with(source: Source, rawmode_for: dict[str, str], frame: int) -> np.ndarray:
    with _open_image(source) as im:
        if frame:
            im.seek(frame)
        im.tile = [_with_rawmode(t, rawmode_for.get(_rawmode_of(t) or "", "")) for t in im.tile]
        im.load()
        return np.asarray(im).copy()


def _decode_rgb16(source: Source, tiles: list[Any], frame: int) -> np.ndarray | None:
    """Full 16-bit samples of an RGB(A) file Pillow would decode to 8 bits, or None."""
    raws = {_rawmode_of(t) for t in tiles}
    if None in raws:
        return None
    low = {r: _swapped_byte_order(r) for r in raws if r}
    if any(v is None for v in low.values()):
        return None
    try:
        hi = _decode_with(source, {r: r for r in low}, frame)
        lo = _decode_with(source, {r: v for r, v in low.items() if v}, frame)
    except Exception:
        return None
    return (hi.astype(np.uint16) << 8) | lo.astype(np.uint16)


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) to an (H, W, ...) array."""
    swapped = np.swapaxes(array, 0, 1)
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: swapped,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: swapped[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    fn = transforms.get(orientation)
    return np.ascontiguousarray(fn(array) if fn else array)


def _dpi_of(info: Mapping[Any, Any]) -> tuple[float, float] | None:
    dpi: Any = info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not (np.isfinite(x) and np.isfinite(y) and x > 0 and y > 0):
        return None
    return _snap(x), _snap(y)


def _snap(dpi: float) -> float:
    # PNG stores pixels per metre, so 300 dpi reads back as 299.9994: snap such values.
    return float(round(dpi)) if abs(dpi - round(dpi)) < 0.01 else dpi


def _exif_bytes(im: Image.Image, warnings: list[str]) -> tuple[bytes | None, int]:
    """(EXIF to write back with orientation 1, the orientation found)."""
    try:
        exif = im.getexif()
        orientation = int(exif.get(_ORIENTATION_TAG, 1) or 1)
    except Exception:
        warnings.append("the EXIF data is damaged and was dropped")
        return None, 1
    if orientation not in range(1, 9):
        warnings.append(f"unknown EXIF orientation {orientation} was ignored")
        orientation = 1
    if "exif" not in im.info:  # e.g. TIFF: its tags are the file's own, not EXIF to copy
        return None, orientation
    try:
        if _ORIENTATION_TAG in exif:
            exif[_ORIENTATION_TAG] = 1
        return exif.tobytes(), orientation
    except Exception:
        warnings.append("the EXIF data could not be re-encoded and was dropped")
        return None, orientation


def _to_float(values: np.ndarray, bit_depth: int) -> np.ndarray:
    out = values.astype(np.float32)
    out /= np.float32(65535.0 if bit_depth == 16 else 255.0)  # in place: one float copy
    return out


def _colour(values: np.ndarray, bit_depth: int, compact: bool) -> np.ndarray:
    """Colour samples as floats, or (``compact``) as the file's own integers."""
    native = np.uint16 if bit_depth == 16 else np.uint8
    if compact and values.dtype == native:
        return values if values.flags.writeable else values.copy()  # torch wants writable
    return _to_float(values, bit_depth)


def _pixels(
    im: Image.Image,
    tiles: list[Any],
    source: Source,
    warnings: list[str],
    frame: int = 0,
    compact: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """(colour (H, W, 3) float, alpha or None, bit depth, grey) of the current frame.

    ``tiles`` are the image's decoder tiles as found on opening (reading metadata may have
    loaded the pixels already); ``frame`` is the frame ``im`` is on.
    """
    mode = im.mode
    rawmodes = {_rawmode_of(t) for t in tiles}
    wide_rgb = mode in ("RGB", "RGBA") and any(r and ";16" in r for r in rawmodes)
    if wide_rgb:
        samples = _decode_rgb16(source, tiles, frame)
        if samples is not None and samples.ndim == 3 and samples.shape[2] in (3, 4):
            alpha = _to_float(samples[..., 3], 16) if samples.shape[2] == 4 else None
            return _colour(samples[..., :3], 16, compact), alpha, 16, False
        warnings.append("16-bit samples could only be read at 8-bit precision")
        if any(r and r.startswith("LA;") for r in rawmodes):  # 16-bit grey + alpha
            arr = _to_float(np.asarray(im.convert("RGBA")), 8)
            return np.repeat(arr[..., :1], 3, axis=2), arr[..., 3], 8, True
    im.load()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        grey16 = np.asarray(im).astype(np.uint16)
        return np.repeat(_colour(grey16, 16, compact)[..., None], 3, axis=2), None, 16, True
    if mode == "I":
        values = np.asarray(im)
        if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
            warnings.append("32-bit integer samples were clipped to 16 bits")
        grey = _to_float(np.clip(values, 0, 65535), 16)
        return np.repeat(grey[..., None], 3, axis=2), None, 16, True
    if mode == "F":
        values = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0)
        if values.min(initial=0) < 0 or values.max(initial=0) > 1:
            warnings.append("floating-point samples were clipped to [0, 1]")
        grey = np.clip(values, 0, 1).astype(np.float32)
        return np.repeat(grey[..., None], 3, axis=2), None, 16, True
    if mode in ("1", "L", "LA", "La"):
        grey_alpha = np.asarray(im.convert("LA"))
        alpha = _to_float(grey_alpha[..., 1], 8) if mode in ("LA", "La") else None
        return np.repeat(_colour(grey_alpha[..., :1], 8, compact), 3, axis=2), alpha, 8, True
    has_alpha = mode in ("RGBA", "RGBa", "LA", "PA") or (mode == "P" and "transparency" in im.info)
    if mode == "P":
        warnings.append("palette image converted to RGB")
    elif mode not in ("RGB", "RGBA", "RGBX", "RGBa"):
        warnings.append(f"{mode} image converted to RGB")
    target = "RGBA" if has_alpha else "RGB"
    samples8 = np.asarray(im if im.mode == target else im.convert(target))
    alpha = _to_float(samples8[..., 3], 8) if has_alpha else None
    colour = samples8[..., :3] if has_alpha else samples8
    return _colour(colour, 8, compact), alpha, 8, False


def _cmyk_profile_dropped(im: Image.Image, icc: bytes | None, warnings: list[str]) -> bytes | None:
    if icc is not None and im.mode == "CMYK":
        warnings.append("the CMYK colour profile does not apply to the RGB result and was dropped")
        return None
    return icc


def load_image(
    path: str | Path, allow_huge: bool = False, frame: int | None = None, compact: bool = False
) -> LoadedImage:
    """Read an image file for upscaling.

    Parameters
    ----------
    path
        The file.
    allow_huge
        Accept images above Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``).
    frame
        The frame (0-based) to read, e.g. a page of a multi-page TIFF. None: the first, with a
        warning when the file has more.
    compact
        Keep 8- and 16-bit colour as integer samples rather than float32 (exports use this:
        an 81 MP image then takes 243 MB instead of 972 MB).

    Returns
    -------
    LoadedImage
        Pixels with EXIF orientation applied, alpha apart, and the metadata to write back.

    Raises
    ------
    ImageTooLarge
        The image exceeds the pixel limit and ``allow_huge`` is False (an ImageLoadError).
    ImageLoadError
        The file is missing, unreadable, not an image, truncated or corrupt.
    """
    path = Path(path)
    if not path.exists():
        kind = "a link to a missing file" if path.is_symlink() else "no such file"
        raise ImageLoadError(f"{path}: {kind}")
    if path.is_dir():
        raise ImageLoadError(f"{path}: is a folder, not an image file")
    try:
        if path.stat().st_size == 0:
            raise ImageLoadError(f"{path}: the file is empty")
    except OSError as exc:
        raise ImageLoadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    warnings: list[str] = []
    source: Source = path
    try:
        stripped = without_chunks(path, text_chunk_too_large)
    except OSError:
        stripped = None  # opening it below reports the problem
    if stripped is not None:
        source = stripped[0]
        warnings.append(describe_dropped(stripped[1]))
    with _open_lock:
        limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            try:
                return _load_unchecked(
                    path, source, allow_huge, limit, list(warnings), frame, compact
                )
            except ValueError as exc:
                # Compressed text that expands too far: only decompressing it tells.
                retry = without_chunks(path, lambda c: c.kind in TEXT_CHUNKS)
                if not _text_limit_error(exc) or retry is None:
                    raise
                warnings = [describe_dropped(retry[1])]
                return _load_unchecked(path, retry[0], allow_huge, limit, warnings, frame, compact)
        except ImageLoadError:
            raise
        except MemoryError as exc:
            raise ImageLoadError(f"{path}: not enough memory to decode this image") from exc
        except OSError as exc:
            reason = str(exc) or exc.__class__.__name__
            if isinstance(exc, PermissionError):
                reason = "permission denied"
            elif "truncated" in reason:
                reason = "the file is truncated"
            raise ImageLoadError(f"{path}: cannot be read as an image ({reason})") from exc
        except Exception as exc:  # any decoder failure on a damaged file is a bad file
            if _text_limit_error(exc):
                raise ImageLoadError(f"{path}: a metadata chunk is too large ({exc})") from exc
            raise ImageLoadError(
                f"{path}: the image data is corrupt ({exc.__class__.__name__}: {exc})"
            ) from exc
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def _amount(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels} pixels"


def _load_unchecked(
    path: Path,
    source: Source,
    allow_huge: bool,
    limit: int | None,
    warnings: list[str],
    frame: int | None,
    compact: bool = False,
) -> LoadedImage:
    try:
        im = _open_image(source)
    except Image.UnidentifiedImageError as exc:
        raise ImageLoadError(f"{path}: not an image file (format not recognised)") from exc
    with im:
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frame is not None and not 0 <= frame < frames:
            raise ImageLoadError(f"{path}: has {frames} page(s); there is no page {frame + 1}")
        if frame:
            im.seek(frame)
        tiles = list(im.tile)
        width, height = im.size
        if width < 1 or height < 1:
            raise ImageLoadError(f"{path}: the image has no pixels ({width}×{height})")
        pixels = width * height
        if limit is not None and pixels > limit and not allow_huge:
            raise ImageTooLarge(
                f"{path}: {width}×{height} ({_amount(pixels)}) is larger than the "
                f"{_amount(limit)} safety limit for image files; allow huge images to open it",
                pixels,
                limit,
            )
        if frames > 1 and frame is None:
            im.seek(0)
            warnings.append(f"the file has {frames} frames; only the first was used")
        original_mode = im.mode
        icc = _cmyk_profile_dropped(im, im.info.get("icc_profile") or None, warnings)
        dpi = _dpi_of(im.info)
        exif, orientation = _exif_bytes(im, warnings)
        file_format = im.format
        rgb, alpha, bit_depth, grey = _pixels(im, tiles, source, warnings, frame or 0, compact)
    if orientation != 1:
        rgb = _orient(rgb, orientation)
        alpha = _orient(alpha, orientation) if alpha is not None else None
        if dpi is not None and orientation >= 5:
            dpi = (dpi[1], dpi[0])
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=None if compact else np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        path=path,
        mode=original_mode,
        bit_depth=bit_depth,
        grey=grey,
        icc_profile=icc,
        dpi=dpi,
        exif=exif,
        format=file_format,
        warnings=warnings,
    )


def image_from_pil(
    im: Image.Image,
    path: Path | None = None,
    dpi: tuple[float, float] | None = None,
    file_format: str | None = None,
) -> LoadedImage:
    """Convert an in-memory Pillow image (e.g. a PDF page's pixels) as :func:`load_image` would.

    Parameters
    ----------
    im
        8-bit image in any mode Pillow can convert (``'L'``, ``'RGB'``, ``'RGBA'`` ...).
    path
        The file it came from (kept on the result, which protects it from being overwritten).
    dpi, file_format
        Metadata to carry on the result.
    """
    warnings: list[str] = []
    rgb, alpha, bit_depth, grey = _pixels(im, [], path or Path(), warnings)
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        path=path,
        mode=im.mode,
        bit_depth=bit_depth,
        grey=grey,
        dpi=dpi,
        format=file_format,
        warnings=warnings,
    )


__all__ = [
    "IMAGE_SUFFIXES",
    "ImageLoadError",
    "ImageTooLarge",
    "LoadedImage",
    "image_from_pil",
    "load_image",
]

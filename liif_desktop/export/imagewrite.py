"""Encoding output pixels (8- or 16-bit, grey or colour, with or without alpha) to files.

Pillow writes 8-bit images and 16-bit greyscale, but not 16-bit colour or 16-bit grey with
alpha; 16-bit PNG and TIFF are therefore written here directly (both formats are simple:
zlib-compressed rows with a per-row filter, or deflate strips with a horizontal predictor).
PNG is written here at 8 bits too, a band of rows at a time: Pillow would first copy the
pixels into its own image (4 bytes per RGB pixel, 1.3 GB for a 324 MP output).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from liif_desktop.export.spill import SpilledPixels

#: Samples to encode: an array, or rows kept on disk (PNG only).
Pixels = np.ndarray | SpilledPixels

#: Output formats and their usual suffix.
FORMAT_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp"}
_SUFFIX_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
#: Formats that can hold 16 bits per sample.
SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF"})
_BAND_ROWS = 256


def format_for_suffix(suffix: str) -> str | None:
    """The output format for a file suffix (``'.jpeg'`` → ``'JPEG'``), or None."""
    return _SUFFIX_FORMATS.get(suffix.lower())


def normalise_format(name: str) -> str:
    """Canonical format name for ``'png'``, ``'jpg'``, ``'tiff'`` ...

    Raises
    ------
    ValueError
        For a format that cannot be written.
    """
    key = name.strip().upper().lstrip(".")
    key = {"JPG": "JPEG", "TIF": "TIFF"}.get(key, key)
    if key not in FORMAT_SUFFIXES:
        raise ValueError(
            f"unsupported output format {name!r} (choose from {', '.join(FORMAT_SUFFIXES)})"
        )
    return key


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _drop_alpha_on_white(pixels: np.ndarray) -> np.ndarray:
    """Composite a grey+alpha or RGBA array over white (for formats without alpha)."""
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    colour = pixels[..., :-1].astype(np.float32)
    alpha = pixels[..., -1:].astype(np.float32) / top
    out = colour * alpha + top * (1.0 - alpha)
    return np.round(out).astype(pixels.dtype)


def write_image(
    fh: BinaryIO,
    pixels: Pixels,
    fmt: str,
    quality: int = 92,
    icc_profile: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    exif: bytes | None = None,
) -> list[str]:
    """Encode ``pixels`` into the open binary file ``fh``.

    Parameters
    ----------
    pixels
        (H, W, C) uint8 or uint16; C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    fmt
        ``'PNG'``, ``'JPEG'``, ``'TIFF'`` or ``'WEBP'``.
    quality
        JPEG / WebP quality (1–100).
    icc_profile, dpi, exif
        Metadata to embed where the format allows it.

    Returns
    -------
    list[str]
        What could not be kept (alpha in JPEG, 16 bits in JPEG/WebP ...).
    """
    fmt = normalise_format(fmt)
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected (H, W, 1..4) pixels, got shape {pixels.shape}")
    notes: list[str] = []
    if isinstance(pixels, SpilledPixels):
        if fmt != "PNG":
            raise ValueError(f"{fmt} is written from pixels in memory, not spilled to disk")
        write_png(fh, pixels, icc_profile, dpi, exif)
        return notes
    if pixels.dtype == np.uint16 and fmt not in SIXTEEN_BIT_FORMATS:
        notes.append(f"{fmt} holds 8 bits per sample: the 16-bit result was reduced to 8 bits")
        pixels = _to_8bit(pixels)
    if fmt == "JPEG" and pixels.shape[2] in (2, 4):
        notes.append("JPEG has no transparency: the image was placed on a white background")
        pixels = _drop_alpha_on_white(pixels)
    if fmt == "PNG":
        write_png(fh, pixels, icc_profile, dpi, exif)
        return notes
    if pixels.dtype == np.uint16:
        if pixels.shape[2] == 2:  # few TIFF readers take 16-bit grey + alpha; write RGBA
            pixels = pixels[..., [0, 0, 0, 1]]
        if exif:
            notes.append("EXIF is not written into 16-bit TIFF files")
        write_tiff16(fh, pixels, icc_profile, dpi)
        return notes
    if fmt == "WEBP" and dpi is not None:
        notes.append("WebP files do not store a resolution (DPI)")
    _write_8bit(fh, pixels, fmt, quality, icc_profile, dpi, exif)
    return notes


def _write_8bit(
    fh: BinaryIO,
    pixels: np.ndarray,
    fmt: str,
    quality: int,
    icc_profile: bytes | None,
    dpi: tuple[float, float] | None,
    exif: bytes | None,
) -> None:
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    data = pixels[..., 0] if mode == "L" else pixels
    im = Image.fromarray(np.ascontiguousarray(data))
    assert im.mode == mode
    if fmt == "WEBP" and mode in ("L", "LA"):
        im = im.convert("RGBA" if mode == "LA" else "RGB")
    params: dict[str, Any] = {}
    if icc_profile:
        params["icc_profile"] = icc_profile
    if dpi is not None and fmt != "WEBP":
        params["dpi"] = dpi
    if exif and fmt in ("PNG", "JPEG", "WEBP"):
        params["exif"] = exif
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = int(min(100, max(1, quality)))
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
    im.save(fh, format=fmt, **params)


# -- PNG -----------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_rows(samples: Pixels) -> Iterator[bytes]:
    """Rows with the PNG 'Sub' filter (type 1) applied, a band of rows at a time."""
    height, width, channels = samples.shape
    bpp = samples.dtype.itemsize * channels
    for r0 in range(0, height, _BAND_ROWS):
        band = samples[r0 : r0 + _BAND_ROWS]
        if samples.dtype == np.uint16:
            band = band.astype(">u2").view(np.uint8)
        band = band.reshape(band.shape[0], width * bpp)
        filtered = np.empty((band.shape[0], width * bpp + 1), dtype=np.uint8)
        filtered[:, 0] = 1
        filtered[:, 1 : bpp + 1] = band[:, :bpp]
        filtered[:, bpp + 1 :] = band[:, bpp:] - band[:, :-bpp]  # wraps modulo 256
        yield filtered.tobytes()


def write_png(
    fh: BinaryIO,
    samples: Pixels,
    icc_profile: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    exif: bytes | None = None,
) -> None:
    """Write (H, W, C) uint8 or uint16 samples as a PNG (grey, grey + alpha, RGB or RGBA).

    Rows are filtered and compressed a band at a time: memory beyond ``samples`` is small.
    """
    height, width, channels = samples.shape
    depth = 16 if samples.dtype == np.uint16 else 8
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    fh.write(b"\x89PNG\r\n\x1a\n")
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    fh.write(_png_chunk(b"IHDR", header))
    if icc_profile:
        fh.write(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if dpi is not None:
        ppm = [max(1, round(d / 0.0254)) for d in dpi]
        fh.write(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        fh.write(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    compressor = zlib.compressobj(6)
    for rows in _png_rows(samples):
        data = compressor.compress(rows)
        if data:
            fh.write(_png_chunk(b"IDAT", data))
    fh.write(_png_chunk(b"IDAT", compressor.flush()))
    fh.write(_png_chunk(b"IEND", b""))


#: The 16-bit writer's old name.
write_png16 = write_png


# -- 16-bit TIFF ---------------------------------------------------------------------------
_SHORT, _LONG, _RATIONAL, _UNDEFINED = 3, 4, 5, 7
_TYPE_SIZES = {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}


def _tiff_value(kind: int, values: Any) -> bytes:
    if kind == _SHORT:
        return struct.pack(f"<{len(values)}H", *values)
    if kind == _LONG:
        return struct.pack(f"<{len(values)}I", *values)
    if kind == _RATIONAL:
        return b"".join(struct.pack("<II", n, d) for n, d in values)
    return bytes(values)


def write_tiff16(
    fh: BinaryIO,
    samples: np.ndarray,
    icc_profile: bytes | None = None,
    dpi: tuple[float, float] | None = None,
) -> None:
    """Write (H, W, C) uint16 samples as a little-endian, deflate-compressed 16-bit TIFF."""
    height, width, channels = samples.shape
    rows_per_strip = max(1, min(height, (1 << 20) // max(1, width * channels * 2)))
    strips: list[bytes] = []
    for r0 in range(0, height, rows_per_strip):
        block = samples[r0 : r0 + rows_per_strip].astype("<u2")
        diff = block.copy()
        diff[:, 1:] = block[:, 1:] - block[:, :-1]  # predictor 2, wraps modulo 2**16
        strips.append(zlib.compress(diff.tobytes(), 6))
    has_alpha = channels in (2, 4)
    entries: list[tuple[int, int, Any]] = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [16] * channels),
        (259, _SHORT, [8]),
        (262, _SHORT, [2 if channels >= 3 else 1]),
        (273, _LONG, [0] * len(strips)),  # strip offsets: filled in below
        (277, _SHORT, [channels]),
        (278, _LONG, [rows_per_strip]),
        (279, _LONG, [len(s) for s in strips]),
    ]
    if dpi is not None:
        entries += [
            (282, _RATIONAL, [(max(1, round(dpi[0] * 1000)), 1000)]),
            (283, _RATIONAL, [(max(1, round(dpi[1] * 1000)), 1000)]),
        ]
    entries.append((284, _SHORT, [1]))
    if dpi is not None:
        entries.append((296, _SHORT, [2]))
    entries.append((317, _SHORT, [2]))
    if has_alpha:
        entries.append((338, _SHORT, [2]))
    if icc_profile:
        entries.append((34675, _UNDEFINED, list(icc_profile)))
    offset = 8
    strip_offsets = []
    for s in strips:
        strip_offsets.append(offset)
        offset += len(s) + (len(s) & 1)
    entries[5] = (273, _LONG, strip_offsets)
    extra = b""
    extra_start = offset
    ifd_entries = b""
    for tag, kind, values in entries:
        data = _tiff_value(kind, values)
        count = len(values)
        if len(data) <= 4:
            ifd_entries += struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\x00")
        else:
            ifd_entries += struct.pack("<HHII", tag, kind, count, extra_start + len(extra))
            extra += data + (b"\x00" if len(data) & 1 else b"")
    ifd_offset = extra_start + len(extra)
    fh.write(b"II*\x00" + struct.pack("<I", ifd_offset))
    for s in strips:
        fh.write(s + (b"\x00" if len(s) & 1 else b""))
    fh.write(extra)
    fh.write(struct.pack("<H", len(entries)) + ifd_entries + struct.pack("<I", 0))


__all__ = [
    "FORMAT_SUFFIXES",
    "SIXTEEN_BIT_FORMATS",
    "format_for_suffix",
    "normalise_format",
    "write_image",
    "write_png",
    "write_png16",
    "write_tiff16",
]

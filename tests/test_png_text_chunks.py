"""PNG files with metadata (text) chunks too large for Pillow: pixels read, chunk dropped."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from liif_desktop.export.imageio import ImageLoadError, load_image
from liif_desktop.export.pngchunks import read_chunks

TOO_BIG = PngImagePlugin.MAX_TEXT_CHUNK + (1 << 20)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_with_chunk(path: Path, image: Image.Image, kind: bytes, data: bytes) -> np.ndarray:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    png = buf.getvalue()
    after_header = 8 + 12 + 13  # signature, IHDR
    path.write_bytes(png[:after_header] + _chunk(kind, data) + png[after_header:])
    return np.asarray(image)


def _pixels(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (b"zTXt", b"Comment\0\0" + zlib.compress(b"x" * TOO_BIG)),  # small, expands too far
        (b"tEXt", b"Comment\0" + b"x" * TOO_BIG),  # large as stored: never read
        (b"iTXt", b"Comment\0\1\0\0\0" + zlib.compress(b"x" * TOO_BIG)),
    ],
)
def test_oversized_text_chunk_is_dropped_and_pixels_read(
    tmp_path: Path, kind: bytes, data: bytes
) -> None:
    path = tmp_path / "meta.png"
    expected = _png_with_chunk(path, _pixels(), kind, data)
    loaded = load_image(path)
    assert np.array_equal(np.round(loaded.rgb * 255).astype(np.uint8), expected)
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0].startswith("a metadata chunk too large to read")
    assert kind.decode() in loaded.warnings[0]


def test_sixteen_bit_pixels_survive_the_rescue(tmp_path: Path) -> None:
    from liif_desktop.export.imagewrite import write_png16

    rng = np.random.default_rng(1)
    samples = rng.integers(0, 65536, (6, 5, 3), dtype=np.uint16)
    plain = tmp_path / "plain.png"
    with plain.open("wb") as fh:
        write_png16(fh, samples, None, None, None)
    png = plain.read_bytes()
    bomb = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"x" * TOO_BIG))
    path = tmp_path / "meta16.png"
    path.write_bytes(png[:33] + bomb + png[33:])
    loaded = load_image(path)
    assert loaded.bit_depth == 16
    assert np.array_equal(np.round(loaded.rgb * 65535).astype(np.uint16), samples)


def test_small_text_chunks_are_kept_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ok.png"
    _png_with_chunk(path, _pixels(), b"tEXt", b"Comment\0hello")
    assert load_image(path).warnings == []
    kinds = [c.kind for c in read_chunks(path) or []]
    assert kinds[:2] == [b"IHDR", b"tEXt"] and kinds[-1] == b"IEND"


def test_damaged_pixels_are_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    _png_with_chunk(path, _pixels(), b"tEXt", b"Comment\0" + b"x" * TOO_BIG)
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    path.write_bytes(bytes(data[: idat + 20]))  # cut inside the pixel data
    with pytest.raises(ImageLoadError, match=r"bad\.png"):
        load_image(path)

"""Loading real-world files: orientation, metadata, modes, bad files, the pixel limit, fuzzing."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps

from liif_desktop.export.imageio import ImageLoadError, ImageTooLarge, load_image
from liif_desktop.export.imagewrite import write_png16, write_tiff16


def rgb8(height: int = 8, width: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "LIIF test camera"  # Make
    return exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path: Path, orientation: int) -> None:
    pixels = rgb8(6, 10)
    path = tmp_path / "o.png"
    Image.fromarray(pixels).save(path, exif=exif_with(orientation), dpi=(300, 100))
    loaded = load_image(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(np.round(loaded.rgb * 255).astype(np.uint8), expected)
    assert loaded.exif is not None
    exif = Image.Exif()
    exif.load(loaded.exif)
    assert exif.get(0x0112, 1) == 1
    assert exif[0x010F] == "LIIF test camera"
    assert loaded.dpi is not None
    swapped = orientation >= 5
    assert loaded.dpi == pytest.approx((100, 300) if swapped else (300, 100), abs=0.01)


def test_icc_dpi_and_format_are_read(tmp_path: Path) -> None:
    icc = srgb_profile()
    path = tmp_path / "a.jpg"
    Image.fromarray(rgb8()).save(path, icc_profile=icc, dpi=(300, 300), quality=95)
    loaded = load_image(path)
    assert loaded.icc_profile == icc
    assert loaded.dpi == (300, 300)
    assert loaded.format == "JPEG"
    assert loaded.bit_depth == 8 and not loaded.grey and loaded.alpha is None
    assert loaded.rgb.dtype == np.float32 and loaded.rgb.shape == (8, 12, 3)


def test_alpha_is_returned_separately(tmp_path: Path) -> None:
    rgba = np.dstack([rgb8(), np.linspace(0, 255, 96).reshape(8, 12).astype(np.uint8)])
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    loaded = load_image(path)
    assert loaded.alpha is not None
    np.testing.assert_allclose(loaded.alpha, rgba[..., 3] / 255, atol=1e-7)
    np.testing.assert_allclose(loaded.rgb, rgba[..., :3] / 255, atol=1e-7)


@pytest.mark.parametrize(("mode", "depth"), [("L", 8), ("I;16", 16)])
def test_greyscale_is_flagged(tmp_path: Path, mode: str, depth: int) -> None:
    top = 255 if depth == 8 else 65535
    values = np.random.default_rng(1).integers(0, top + 1, (8, 12))
    values = values.astype(np.uint8 if depth == 8 else np.uint16)
    path = tmp_path / "g.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as written:
        assert written.mode == mode
    loaded = load_image(path)
    assert loaded.grey and loaded.bit_depth == depth
    np.testing.assert_array_equal(np.round(loaded.rgb[..., 1] * top), values)
    np.testing.assert_array_equal(loaded.rgb[..., 0], loaded.rgb[..., 2])


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("writer", [write_png16, write_tiff16])
def test_16bit_colour_is_read_at_full_precision(tmp_path: Path, channels: int, writer) -> None:
    samples = np.random.default_rng(2).integers(0, 65536, (7, 9, channels), dtype=np.uint16)
    path = tmp_path / "wide.bin"
    with path.open("wb") as fh:
        writer(fh, samples)
    loaded = load_image(path)
    assert loaded.bit_depth == 16 and not loaded.grey and loaded.warnings == []
    np.testing.assert_array_equal(np.round(loaded.rgb * 65535), samples[..., :3])
    if channels == 4:
        assert loaded.alpha is not None
        np.testing.assert_array_equal(np.round(loaded.alpha * 65535), samples[..., 3])


def test_palette_cmyk_and_frames_are_converted_with_warnings(tmp_path: Path) -> None:
    pal = tmp_path / "p.png"
    Image.fromarray(rgb8()).convert("P").save(pal)
    loaded = load_image(pal)
    assert loaded.mode == "P" and any("palette" in w for w in loaded.warnings)
    cmyk = tmp_path / "c.jpg"
    Image.fromarray(rgb8()).convert("CMYK").save(cmyk)
    loaded = load_image(cmyk)
    assert loaded.mode == "CMYK" and loaded.rgb.shape == (8, 12, 3)
    assert any("CMYK" in w for w in loaded.warnings)
    gif = tmp_path / "anim.gif"
    frames = [Image.fromarray(rgb8(seed=s)).convert("P") for s in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    loaded = load_image(gif)
    assert any("3 frames" in w for w in loaded.warnings)
    with Image.open(gif) as im:
        np.testing.assert_array_equal(
            np.round(loaded.rgb * 255).astype(np.uint8), np.asarray(im.convert("RGB"))
        )


def _truncated_png(tmp_path: Path) -> Path:
    good = io.BytesIO()
    Image.fromarray(rgb8(16, 16)).save(good, format="PNG")
    path = tmp_path / "trunc.png"
    path.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    return path


def test_bad_files_raise_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("this is not an image\n")
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "missing-target.png")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    cases = {
        empty: "empty",
        text: "not an image",
        _truncated_png(tmp_path): "truncated",
        dangling: "missing",
        folder: "folder",
        tmp_path / "nope.png": "no such file",
    }
    for path, reason in cases.items():
        with pytest.raises(ImageLoadError) as info:
            load_image(path)
        assert str(path) in str(info.value) and reason in str(info.value)


def test_pixel_limit_needs_allow_huge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(rgb8(16, 16)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageTooLarge) as info:
        load_image(path)
    assert info.value.pixels == 256 and info.value.limit == 100
    assert "allow huge" in str(info.value)
    assert load_image(path, allow_huge=True).size == (16, 16)
    assert Image.MAX_IMAGE_PIXELS == 100  # restored after the load
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20)  # above 2× Pillow would raise itself
    with pytest.raises(ImageTooLarge):
        load_image(path)


def _seed_files() -> list[bytes]:
    pixels = rgb8(8, 8, seed=3)
    blobs = []
    for fmt, mode in (("PNG", "RGBA"), ("JPEG", "RGB"), ("TIFF", "RGB"), ("GIF", "P")):
        buf = io.BytesIO()
        im = Image.fromarray(pixels)
        im = im.convert(mode) if mode != "P" else im.convert("P")
        im.save(buf, format=fmt)
        blobs.append(buf.getvalue())
    raw = b"".join(b"\x00" + bytes(48) for _ in range(8))  # an 8×8 16-bit RGB PNG
    ihdr = struct.pack(">IIBBBBB", 8, 8, 16, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    blobs.append(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return blobs


SEEDS = _seed_files()


@settings(
    max_examples=200,
    deadline=5000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_fuzzed_files_only_raise_image_load_error(
    tmp_path: Path, seed: int, edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(SEEDS[seed])
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / "fuzz.img"
    path.write_bytes(bytes(data))
    try:
        loaded = load_image(path)
    except ImageLoadError:
        return
    assert loaded.rgb.ndim == 3 and loaded.rgb.shape[2] == 3
    assert np.isfinite(loaded.rgb).all() and loaded.rgb.min() >= 0 and loaded.rgb.max() <= 1

"""The export core: exact output, metadata round trips, cancel, safe writes, policies."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
from PIL import Image, ImageCms

from liif_desktop.export import imagewrite
from liif_desktop.export.imageio import LoadedImage, load_image
from liif_desktop.export.imagewrite import write_png16, write_tiff16
from liif_desktop.export.job import (
    ExportProgress,
    ExportSettings,
    OutputSize,
    export_image,
    quantize,
)
from liif_desktop.export.safety import ExportError, OverwritePolicy
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cancel import CancelToken
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import make_tiny_model, random_image


@pytest.fixture(scope="module")
def model() -> LIIF:
    return make_tiny_model(seed=3)


def run(image: LoadedImage, model: LIIF, target: Path, **kw: Any) -> ExportProgress:
    settings = ExportSettings(**{"size": OutputSize(scale=2), "tile": 16, **kw})
    steps = list(export_image(image, model, target, settings))
    return steps[-1]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_output_size_resolution() -> None:
    assert OutputSize(scale=2.5).resolve((10, 7)) == (25, 18)
    assert OutputSize(width=20, height=20).resolve((10, 5)) == (20, 10)  # fit inside
    assert OutputSize(width=20, height=20, keep_aspect=False).resolve((10, 5)) == (20, 20)
    assert OutputSize(width=15).resolve((10, 5)) == (30, 15)
    assert OutputSize(height=15).resolve((10, 5)) == (15, 8)
    with pytest.raises(ValueError):
        OutputSize()
    with pytest.raises(ValueError):
        OutputSize(scale=2, width=3)
    with pytest.raises(ValueError):
        OutputSize(scale=0)


def test_whole_and_region_exports_equal_upscale_array(tmp_path: Path, model: LIIF) -> None:
    rgb = random_image(16, 12, seed=4)
    expected = quantize(upscale_array(RegionRenderer(model, rgb), (40, 30)), np.uint8)
    image = LoadedImage.from_array(rgb)
    steps = list(
        export_image(image, model, tmp_path / "a.png", ExportSettings(OutputSize(scale=2.5)))
    )
    assert [s.phase for s in steps][-2:] == ["write", "done"]
    assert steps[-1].output == tmp_path / "a.png" and steps[-1].out_size == (40, 30)
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    with Image.open(tmp_path / "a.png") as im:
        np.testing.assert_array_equal(np.asarray(im), expected)
    # Region (x=2, y=4, w=6, h=8) of the ×2.5 grid, in odd-sized tiles: the same pixels.
    run(image, model, tmp_path / "r.png", size=OutputSize(scale=2.5), region=(2, 4, 6, 8), tile=7)
    with Image.open(tmp_path / "r.png") as im:
        np.testing.assert_array_equal(np.asarray(im), expected[10:30, 5:20])


def test_metadata_round_trip(tmp_path: Path, model: LIIF) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "LIIF test camera"
    exif.get_ifd(0x8769).update({0xA002: 12, 0xA003: 8})  # PixelX/YDimension
    src = tmp_path / "in.jpg"
    Image.fromarray((random_image(8, 12) * 255).astype(np.uint8)).save(
        src, icc_profile=icc, dpi=(300, 150), exif=exif, quality=95
    )
    for fmt in ("png", "jpg", "tif", "webp"):
        out = tmp_path / f"out.{fmt}"
        done = run(load_image(src), model, out, size=OutputSize(scale=4))
        assert done.output == out
        with Image.open(out) as im:
            assert im.size == (32, 48)  # orientation applied: 12×8 shown as 8 wide, 12 high
            assert im.info.get("icc_profile") == icc
            if fmt != "webp":  # WebP has no resolution field
                # 300 dpi across the original width, which now runs vertically.
                assert im.info["dpi"] == pytest.approx((600, 1200), abs=0.05)
            if fmt in ("png", "jpg", "webp"):
                written = im.getexif()
                assert written.get(0x0112, 1) == 1
                assert written[0x010F] == "LIIF test camera"
                assert written.get_ifd(0x8769)[0xA002] == 32  # the output's width
                assert written.get_ifd(0x8769)[0xA003] == 48


def test_alpha_is_upscaled_bicubic(tmp_path: Path, model: LIIF) -> None:
    ramp = np.linspace(0, 1, 12, dtype=np.float32)[None, :].repeat(8, axis=0)
    image = LoadedImage(rgb=random_image(8, 12), alpha=ramp)
    run(image, model, tmp_path / "a.png", tile=5)
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "RGBA"
        alpha = np.asarray(im)[..., 3].astype(np.float32)
    expected = np.asarray(Image.fromarray(ramp).resize((24, 16), Image.Resampling.BICUBIC))
    np.testing.assert_allclose(alpha, np.round(np.clip(expected, 0, 1) * 255), atol=1)
    assert alpha[:, 0].max() <= 10 and alpha[:, -1].min() >= 245


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_grey_and_16bit_stay_as_they_were(tmp_path: Path, model: LIIF, suffix: str) -> None:
    grey8 = tmp_path / f"g8.{suffix}"
    Image.fromarray((random_image(8, 8)[..., 0] * 255).astype(np.uint8)).save(grey8)
    run(load_image(grey8), model, tmp_path / f"o8.{suffix}")
    with Image.open(tmp_path / f"o8.{suffix}") as im:
        assert im.mode == "L" and im.size == (16, 16)
    # A 16-bit ramp spanning less than one 8-bit step: 8-bit processing would band it flat.
    ramp = (30000 + np.arange(16 * 16).reshape(16, 16, 1) // 2).astype(np.uint16)
    colour = np.concatenate([ramp, ramp + 7, ramp + 3], axis=2)
    writer = write_png16 if suffix == "png" else write_tiff16
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, samples in (("g16", ramp), ("c16", colour)):
        src = tmp_path / f"{name}.{suffix}"
        with src.open("wb") as fh:
            writer(fh, samples, icc, (300, 300))
        out = tmp_path / f"{name}_out.{suffix}"
        run(load_image(src), model, out)
        back = load_image(out)
        assert back.bit_depth == 16 and back.grey == (name == "g16")
        assert back.icc_profile == icc and back.dpi == (600, 600)
        levels = np.unique(np.round(back.rgb[..., 0] * 65535))
        assert len(levels) > 64, f"{name}: only {len(levels)} levels: banded"


def test_cancel_leaves_no_file(tmp_path: Path, model: LIIF) -> None:
    token = CancelToken()
    settings = ExportSettings(OutputSize(scale=4), tile=8)
    steps = export_image(
        LoadedImage.from_array(random_image(16, 16)),
        model,
        tmp_path / "c.png",
        settings,
        should_stop=token,
    )
    first = next(steps)
    assert first.phase == "render"
    assert len(files_in(tmp_path)) == 1  # the temporary file exists while rendering
    next(steps)
    token.cancel()
    with pytest.raises(Cancelled):
        list(steps)
    assert files_in(tmp_path) == []
    # Abandoning the generator (a closed dialog) cleans up too.
    steps = export_image(
        LoadedImage.from_array(random_image(16, 16)), model, tmp_path / "d.png", settings
    )
    next(steps)
    steps.close()
    assert files_in(tmp_path) == []


def _folder_is_writable_anyway(folder: Path) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except PermissionError:
        return False
    (folder / "probe").unlink()
    return True


def test_read_only_folder_gives_clear_error(
    tmp_path: Path, model: LIIF, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if _folder_is_writable_anyway(folder):  # root ignores permissions: simulate EACCES
            real = tempfile.mkstemp

            def refuse(*args: Any, **kw: Any) -> tuple[int, str]:
                if Path(kw.get("dir", "")) == folder:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                return real(*args, **kw)

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        with pytest.raises(ExportError, match="permission denied"):
            run(LoadedImage.from_array(random_image(8, 8)), model, folder / "o.png")
    finally:
        folder.chmod(0o755)
    assert files_in(folder) == []


def test_disk_full_gives_clear_error_and_no_partial_file(
    tmp_path: Path, model: LIIF, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_full(fh: BinaryIO, *args: Any, **kw: Any) -> list[str]:
        fh.write(b"\x89PNG partial data")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(imagewrite, "write_image", half_then_full)
    with pytest.raises(ExportError, match="disk is full"):
        run(LoadedImage.from_array(random_image(8, 8)), model, tmp_path / "o.png")
    assert files_in(tmp_path) == []


def test_overwrite_policies_and_the_input_is_never_overwritten(tmp_path: Path, model: LIIF) -> None:
    src = tmp_path / "in.png"
    Image.fromarray((random_image(8, 8) * 255).astype(np.uint8)).save(src)
    original = src.read_bytes()
    image = load_image(src)
    existing = tmp_path / "out.png"
    existing.write_bytes(b"keep me")
    assert run(image, model, existing, policy=OverwritePolicy.SKIP).phase == "skipped"
    assert existing.read_bytes() == b"keep me"
    renamed = run(image, model, existing, policy=OverwritePolicy.RENAME).output
    assert renamed == tmp_path / "out-1.png" and existing.read_bytes() == b"keep me"
    assert run(image, model, existing, policy=OverwritePolicy.OVERWRITE).output == existing
    with Image.open(existing) as im:
        assert im.size == (16, 16)
    with pytest.raises(ExportError, match="input"):
        run(image, model, src, policy=OverwritePolicy.OVERWRITE)
    assert run(image, model, src, policy=OverwritePolicy.SKIP).phase == "skipped"
    assert run(image, model, src, policy=OverwritePolicy.RENAME).output == tmp_path / "in-1.png"
    assert src.read_bytes() == original
    assert files_in(tmp_path) == ["in-1.png", "in.png", "out-1.png", "out.png"]


def test_formats_without_16_bits_or_alpha_say_so(tmp_path: Path, model: LIIF) -> None:
    image = LoadedImage(rgb=random_image(8, 8), alpha=np.ones((8, 8), np.float32), bit_depth=16)
    done = run(image, model, tmp_path / "o.jpg")
    assert any("8 bits" in w for w in done.warnings)
    assert any("white" in w for w in done.warnings)
    with Image.open(tmp_path / "o.jpg") as im:
        assert im.mode == "RGB"

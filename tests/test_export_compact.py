"""Exports hold the input as integer samples and write PNG band by band: same pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop.export.imageio import load_image
from liif_desktop.export.imagewrite import write_image, write_png16
from liif_desktop.export.job import ExportSettings, OutputSize, export_image
from liif_desktop.render.region import Precision
from tests.conftest import make_tiny_model


def _noise(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, shape, dtype=dtype)


@pytest.mark.parametrize("bits", [8, 16])
def test_compact_load_keeps_the_samples(tmp_path: Path, bits: int) -> None:
    path = tmp_path / "in.png"
    if bits == 8:
        samples = _noise((9, 7, 3), np.uint8)
        Image.fromarray(samples).save(path)
    else:
        samples = _noise((9, 7, 3), np.uint16)
        with path.open("wb") as fh:
            write_png16(fh, samples)
    compact = load_image(path, compact=True)
    floats = load_image(path)
    assert compact.rgb.dtype == (np.uint8 if bits == 8 else np.uint16)
    assert compact.rgb.flags.writeable and compact.bit_depth == bits
    assert np.array_equal(compact.rgb, samples)
    top = np.float32(255 if bits == 8 else 65535)
    assert np.array_equal(compact.rgb.astype(np.float32) / top, floats.rgb)


@pytest.mark.parametrize(("bits", "precision"), [(8, "fp32"), (16, "fp32"), (8, "bf16")])
def test_export_from_compact_samples_is_identical(
    tmp_path: Path, bits: int, precision: Precision
) -> None:
    path = tmp_path / "in.png"
    if bits == 8:
        Image.fromarray(_noise((12, 10, 3), np.uint8, 1)).save(path)
    else:
        with path.open("wb") as fh:
            write_png16(fh, _noise((12, 10, 3), np.uint16, 1))
    model = make_tiny_model()
    settings = ExportSettings(OutputSize(scale=2.5), tile=8, precision=precision)
    outputs = []
    for compact in (False, True):
        target = tmp_path / f"out-{compact}.png"
        list(export_image(load_image(path, compact=compact), model, target, settings))
        with Image.open(target) as im:
            outputs.append(np.asarray(im).copy())
    assert outputs[0].shape == (30, 25, 3)
    assert np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_eight_bit_png_written_band_by_band(channels: int) -> None:
    pixels = _noise((300, 5, channels), np.uint8, channels)  # more rows than one band
    buf = io.BytesIO()
    icc = b"not really a profile, but carried as bytes"
    assert write_image(buf, pixels, "PNG", icc_profile=icc, dpi=(300.0, 150.0)) == []
    buf.seek(0)
    with Image.open(buf) as im:
        assert im.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        assert im.info["icc_profile"] == icc
        assert [round(d) for d in im.info["dpi"]] == [300, 150]
        back = np.asarray(im)
    assert np.array_equal(back.reshape(pixels.shape), pixels)

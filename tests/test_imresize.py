"""MATLAB-compatible bicubic imresize: bit-exact against the benchmark LR files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop.imresize import imresize, resize_weights

SET5 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "benchmark" / "Set5"


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bit_exact_against_matlab_set5(scale: int) -> None:
    if not (SET5 / "HR").is_dir():
        pytest.skip(f"benchmark data not found at {SET5} (it ships beside the repo)")
    names = sorted(p.stem for p in (SET5 / "HR").glob("*.png"))
    assert names
    for name in names:
        lr = _load(SET5 / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png")
        hr = _load(SET5 / "HR" / f"{name}.png")[: lr.shape[0] * scale, : lr.shape[1] * scale]
        out = imresize(hr, 1 / scale)
        assert out.dtype == np.uint8
        assert out.shape == lr.shape
        np.testing.assert_array_equal(out, lr, err_msg=f"{name} x{scale}")
        by_shape = imresize(hr, output_shape=lr.shape[:2])
        np.testing.assert_array_equal(by_shape, lr, err_msg=f"{name} x{scale} by shape")


def test_weights_normalised_and_in_range() -> None:
    for in_len, out_len in [(10, 3), (7, 21), (5, 5), (64, 17)]:
        w, idx = resize_weights(in_len, out_len, out_len / in_len)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
        assert idx.min() >= 0
        assert idx.max() < in_len


def test_constant_image_stays_constant() -> None:
    img = np.full((13, 9, 3), 0.375, dtype=np.float32)
    for kwargs in [{"scale": 0.37}, {"scale": 2.5}, {"output_shape": (5, 20)}]:
        out = imresize(img, **kwargs)  # type: ignore[arg-type]
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, 0.375, atol=1e-6)


def test_output_size_and_identity() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((11, 16, 3))
    assert imresize(img, 0.5).shape == (6, 8, 3)
    assert imresize(img, (2.0, 0.25)).shape == (22, 4, 3)
    assert imresize(img[..., 0], output_shape=(7, 30)).shape == (7, 30)
    np.testing.assert_allclose(imresize(img, 1.0), img, atol=1e-12)


def test_upscale_linear_ramp_interior() -> None:
    # Cubic convolution reproduces linear functions away from the edges.
    ramp = np.tile(np.arange(16, dtype=np.float64), (4, 1))
    out = imresize(ramp, output_shape=(4, 32))
    expected = (np.arange(32) + 0.5) / 2 - 0.5
    np.testing.assert_allclose(out[:, 4:-4], np.tile(expected[4:-4], (4, 1)), atol=1e-12)


def test_uint8_saturates_and_rounds() -> None:
    img = np.zeros((8, 8), dtype=np.uint8)
    img[:, 4:] = 255
    out = imresize(img, 2)
    assert out.dtype == np.uint8
    assert out.min() == 0 and out.max() == 255  # overshoot of the cubic is clipped
    float_out = imresize(img.astype(np.float64), 2)
    assert float_out.min() < 0 and float_out.max() > 255


def test_bad_arguments() -> None:
    img = np.zeros((4, 4), dtype=np.float32)
    with pytest.raises(ValueError):
        imresize(img)
    with pytest.raises(ValueError):
        imresize(img, 0.5, output_shape=(2, 2))
    with pytest.raises(TypeError):
        imresize(img.astype(np.int32), 0.5)
    with pytest.raises(ValueError):
        imresize(img, 0.5, edge="wrap")  # type: ignore[arg-type]

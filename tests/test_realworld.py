"""Helpers of the real-inputs benchmark (benchmarks/realworld.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import realworld
from benchmarks.common import BENCHMARK_DATA


def _lr(seed: int = 0, size: int = 24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    img = np.stack([x * 9 % 256, y * 6 % 256, (x * y) % 256], -1).astype(np.uint8)
    img[6:14, 4:18] = rng.integers(0, 256, 3, dtype=np.uint8)
    return img


def test_every_setting_is_deterministic_and_all_but_clean_change_the_lr() -> None:
    lr = _lr()
    outs = {}
    for name in realworld.SETTINGS:
        a = realworld.degraded_lr(lr, "Set5", 4, "baby", name)
        b = realworld.degraded_lr(lr, "Set5", 4, "baby", name)
        np.testing.assert_array_equal(a, b)
        assert a.shape == lr.shape and a.dtype == np.uint8
        assert np.array_equal(a, lr) == (name == "clean")
        outs[name] = a
    # The unseen settings are really other encoders/tables, not JPEG 4:2:0 again.
    for unseen in realworld.UNSEEN:
        for seen in ("jpeg50", "jpeg75", "jpeg90"):
            assert not np.array_equal(outs[unseen], outs[seen])


def test_mixed_noise_is_seeded_per_image() -> None:
    lr = np.full((24, 24, 3), 120, np.uint8)
    a = realworld.degraded_lr(lr, "Set5", 4, "baby", "mixed")
    b = realworld.degraded_lr(lr, "Set5", 4, "bird", "mixed")
    assert not np.array_equal(a, b)
    assert 1.0 < a.astype(float).std() < 8.0  # σ 5/255 noise, blurred by JPEG a little


@pytest.mark.skipif(not (BENCHMARK_DATA / "Set5").is_dir(), reason="Set5 not present")
def test_bicubic_loses_psnr_under_jpeg_on_one_set5_image() -> None:
    clean = realworld.evaluate("bicubic", "Set5", 4, "clean", None, limit=1)
    jpeg = realworld.evaluate("bicubic", "Set5", 4, "jpeg50", None, limit=1)
    assert clean["images"] == jpeg["images"] == 1
    assert 20 < jpeg["psnr"] < clean["psnr"] < 40

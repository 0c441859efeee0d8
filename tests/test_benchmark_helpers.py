"""Fast checks of the benchmark helpers: PSNR, shave, data listing, JSON merge, reference path."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import common, halo, memory, quality, speed
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import make_tiny_model, random_image


def test_psnr_identical_images_is_infinite() -> None:
    img = random_image(16, 16, seed=1)
    assert common.psnr_y(img, img.copy(), shave=2) == math.inf


def test_psnr_of_a_uniform_grey_offset_uses_the_bt601_weight_sum() -> None:
    hr = (random_image(16, 12, seed=2) * 0.5).astype(np.float64)
    d = 0.01
    sr = hr + d
    luma_gain = (65.738 + 129.057 + 25.064) / 256
    expected = -10 * math.log10((d * luma_gain) ** 2)
    assert common.psnr_y(sr, hr, shave=0) == pytest.approx(expected, abs=1e-6)


def test_psnr_weights_each_channel_separately() -> None:
    hr = np.zeros((8, 8, 3), dtype=np.float32)
    for channel, weight in enumerate((65.738, 129.057, 25.064)):
        sr = hr.copy()
        sr[..., channel] = 0.1
        expected = -10 * math.log10((0.1 * weight / 256) ** 2)
        assert common.psnr_y(sr, hr, shave=0) == pytest.approx(expected, abs=1e-4)


def test_shave_drops_exactly_the_border() -> None:
    hr = random_image(20, 20, seed=3)
    sr = hr.copy()
    sr[:3, :] += 0.2  # error only in the top 3 rows
    assert math.isfinite(common.psnr_y(sr, hr, shave=2))
    assert common.psnr_y(sr, hr, shave=3) == math.inf
    sr2 = hr.copy()
    sr2[5, 5, 0] += 0.3  # one interior pixel: the mean runs over the shaved area only
    inner = (20 - 2 * 4) ** 2
    expected = -10 * math.log10((0.3 * 65.738 / 256) ** 2 / inner)
    assert common.psnr_y(sr2, hr, shave=4) == pytest.approx(expected, abs=1e-4)


def test_psnr_rejects_bad_shapes_and_shaves() -> None:
    img = random_image(8, 8)
    with pytest.raises(ValueError, match="shape"):
        common.psnr_y(img, img[:7], shave=0)
    with pytest.raises(ValueError, match="shave"):
        common.psnr_y(img, img, shave=4)


def _write_png(path: Path, h: int, w: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def test_list_pairs_and_make_pair_crop_hr_to_scale_times_lr(tmp_path: Path) -> None:
    _write_png(tmp_path / "Toy" / "HR" / "b.png", 26, 19, 0)
    _write_png(tmp_path / "Toy" / "HR" / "a.png", 30, 22, 1)
    _write_png(tmp_path / "Toy" / "LR_bicubic" / "X4" / "ax4.png", 7, 5, 2)
    _write_png(tmp_path / "Toy" / "LR_bicubic" / "X4" / "bx4.png", 6, 4, 3)
    pairs = common.list_pairs("Toy", 4, root=tmp_path)
    assert [p.name for p in pairs] == ["a", "b"]
    lr, hr = quality.make_pair(pairs[0].hr, pairs[0].lr, 4)
    assert lr.shape == (7, 5, 3) and hr.shape == (28, 20, 3)
    np.testing.assert_array_equal(hr, common.load_rgb(pairs[0].hr)[:28, :20])
    assert [p.lr for p in common.list_pairs("Toy", 6, root=tmp_path)] == [None, None]
    (tmp_path / "Toy" / "LR_bicubic" / "X4" / "bx4.png").unlink()
    with pytest.raises(FileNotFoundError, match="bx4"):
        common.list_pairs("Toy", 4, root=tmp_path)


def test_made_lr_crops_hr_to_a_multiple_of_the_scale(tmp_path: Path) -> None:
    pytest.importorskip("liif_desktop.imresize", reason="MATLAB-style imresize not present")
    _write_png(tmp_path / "hr.png", 40, 27, 4)
    lr, hr = quality.make_pair(tmp_path / "hr.png", None, 6)
    assert hr.shape == (36, 24, 3) and lr.shape == (6, 4, 3)
    assert lr.dtype == np.uint8
    sr, _ = quality.bicubic_upscale(lr, 6)
    assert sr.shape == hr.shape and sr.dtype == np.float32


def test_merge_json_keeps_other_models(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    common.merge_json(path, {"results": {"m1": {"fp32": {"Set5": {"x2": 1.0}}}}})
    common.merge_json(path, {"results": {"m1": {"fp32": {"Set5": {"x3": 2.0}}}}})
    common.merge_json(path, {"results": {"m2": {"fp32": {"Set5": {"x2": 3.0}}}}})
    data = json.loads(path.read_text())
    assert data["results"]["m1"]["fp32"]["Set5"] == {"x2": 1.0, "x3": 2.0}
    assert data["results"]["m2"]["fp32"]["Set5"] == {"x2": 3.0}


def test_reference_path_equals_our_render_path() -> None:
    model = make_tiny_model(seed=5)
    image = random_image(12, 10, seed=6)
    out_size = (30, 23)  # unequal, non-integer scales
    ref = speed.reference_upscale(model, image, out_size)
    ours = upscale_array(RegionRenderer(model, image), out_size, tile=16)
    assert ref.shape == ours.shape == (30, 23, 3)
    assert np.abs(ref - ours).max() < 1e-5
    assert ref.std() > 0.01  # the output carries signal, so the comparison means something


def test_reference_path_does_not_depend_on_the_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_tiny_model(seed=7)
    image = random_image(8, 8, seed=8)
    whole = speed.reference_upscale(model, image, (20, 20))
    monkeypatch.setattr(speed, "REFERENCE_BATCH", 37)
    batched = speed.reference_upscale(model, image, (20, 20))
    np.testing.assert_allclose(batched, whole, atol=1e-6)


def test_smallest_passing_halo_needs_every_larger_halo_to_pass() -> None:
    worst = {0: 0.5, 4: 2e-4, 8: 5e-3, 12: 1e-4, 16: 0.0}
    assert halo.smallest_passing(worst, 1e-3) == 12
    assert halo.smallest_passing({0: 1.0}, 1e-3) is None


def test_memory_inputs_have_the_requested_size() -> None:
    assert memory.parse_size("3000x2000") == (2000, 3000)
    img = memory.seeded_input(21, 35)
    assert img.shape == (21, 35, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0

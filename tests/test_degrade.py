"""The LR degradations of the real-inputs training (training/degrade.py)."""

from __future__ import annotations

import numpy as np
import pytest

from training.degrade import (
    Degradation,
    DegradedSampler,
    degrade,
    encode,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    poisson_noise,
    resize_chain,
)


def _image(seed: int = 0, size: int = 32) -> np.ndarray:
    """A smooth gradient with a sharp square, so blur and JPEG both have edges to act on."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    img = np.stack([x * 7 % 256, y * 5 % 256, (x + y) * 3 % 256], -1).astype(np.uint8)
    img[8:20, 10:22] = rng.integers(0, 256, 3, dtype=np.uint8)
    return img


def test_same_seed_same_result_and_different_seed_differs() -> None:
    img = _image()
    spec = Degradation(clean=0.0)
    a = degrade(img, np.random.default_rng(3), spec)
    b = degrade(img, np.random.default_rng(3), spec)
    c = degrade(img, np.random.default_rng(4), spec)
    assert a.shape == img.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_clean_probability_one_returns_the_input() -> None:
    img = _image()
    assert degrade(img, np.random.default_rng(0), Degradation(clean=1.0)) is img


def test_nothing_enabled_changes_nothing() -> None:
    img = _image()
    off = Degradation(clean=0.0, blur=0.0, resize=0.0, noise=0.0, poisson=0.0, jpeg=0.0)
    np.testing.assert_array_equal(degrade(img, np.random.default_rng(1), off), img)


def test_each_step_changes_the_image_by_a_plausible_amount() -> None:
    img = _image()
    rng = np.random.default_rng(2)
    for out in (
        gaussian_blur(img, 1.0),
        resize_chain(img, 0.5, 1, 1),
        gaussian_noise(img, 5.0, rng),
        poisson_noise(img, 100.0, rng),
        jpeg(img, 50),
    ):
        assert out.shape == img.shape and out.dtype == np.uint8
        err = np.abs(out.astype(float) - img).mean()
        assert 0.2 < err < 40


def test_noise_sigma_is_as_asked() -> None:
    flat = np.full((64, 64, 3), 128, np.uint8)
    out = gaussian_noise(flat, 6.0, np.random.default_rng(0))
    assert out.astype(float).std() == pytest.approx(6.0, rel=0.1)
    grey = gaussian_noise(flat, 6.0, np.random.default_rng(0), grey=True)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])


def test_lower_jpeg_quality_loses_more_and_chroma_subsampling_matters() -> None:
    img = _image(size=48)

    def err(out: np.ndarray) -> float:
        return float(np.abs(out.astype(float) - img).mean())

    assert err(jpeg(img, 30)) > err(jpeg(img, 90))
    assert not np.array_equal(jpeg(img, 75, subsampling=0), jpeg(img, 75, subsampling=2))
    assert encode(img, "WEBP", 70).shape == img.shape


def test_from_config_turns_lists_into_tuples_and_rejects_unknown_keys() -> None:
    spec = Degradation.from_config({"jpeg_quality": [40, 60], "clean": 0.5})
    assert spec.jpeg_quality == (40, 60) and spec.clean == 0.5
    with pytest.raises(TypeError):
        Degradation.from_config({"sharpen": 1})


def test_degraded_sampler_touches_only_the_lr_patch() -> None:
    class Fixed:
        def sample_one(self, rng: np.random.Generator) -> tuple:
            gt = np.full((4, 3), 0.5, np.float32)
            coord = np.zeros((4, 2), np.float32)
            return _image(), coord, coord.copy(), gt, 2.0

    sampler = DegradedSampler(Fixed(), Degradation(clean=0.0, jpeg=1.0))
    lr, coord, _cell, gt, scale = sampler.sample_one(np.random.default_rng(0))
    assert not np.array_equal(lr, _image())
    np.testing.assert_array_equal(gt, 0.5)
    assert scale == 2.0 and coord.shape == (4, 2)


def test_real_inputs_checkpoints_are_selected_on_degraded_validation_with_a_clean_guard() -> None:
    from training.finetune_document import selection_score

    start = {"x4": 30.0, "x4_degraded": 25.0, "mean": 27.5}
    cfg = {"select": {"score": "x4_degraded", "guard": "x4", "max_drop_db": 0.3}}
    assert selection_score(cfg, start, start) == 25.0
    better = {"x4": 29.8, "x4_degraded": 25.6, "mean": 27.7}
    assert selection_score(cfg, better, start) == 25.6
    too_soft = {"x4": 29.6, "x4_degraded": 26.0, "mean": 27.8}  # clean fell 0.4 dB
    assert selection_score(cfg, too_soft, start) == float("-inf")
    assert selection_score({}, too_soft, start) == 27.8  # no rule: the mean


def test_decoder_learning_rate_scale_freezes_or_slows_the_decoder() -> None:
    from tests.conftest import make_tiny_model
    from training.finetune_document import make_optimizer

    model = make_tiny_model(seed=3)
    frozen = make_optimizer({"lr": 1e-4, "decoder_lr_scale": 0.0}, model)
    assert len(frozen.param_groups) == 1
    encoder_params = {id(p) for p in model.encoder.parameters()}
    assert {id(p) for p in frozen.param_groups[0]["params"]} == encoder_params
    assert not any(p.requires_grad for p in model.imnet.parameters())

    model = make_tiny_model(seed=3)
    slowed = make_optimizer({"lr": 1e-4, "decoder_lr_scale": 0.25}, model)
    assert [g["scale"] for g in slowed.param_groups] == [1.0, 0.25]
    assert sum(len(g["params"]) for g in slowed.param_groups) == len(list(model.parameters()))

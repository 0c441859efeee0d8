"""The "invented detail" map: ensemble spread, tiles that join seamlessly, range, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liif_desktop.model.decoder import Cancelled, FoldedDecoder
from liif_desktop.model.ensemble_spread import SpreadDecoder
from liif_desktop.model.liif import LIIF
from liif_desktop.render.invention import (
    MAP_GRID,
    PERTURBATION,
    PERTURBATION_DRAWS,
    companions,
    invention_tile,
    map_grid,
    perturbation_pattern,
    perturbed_input,
    render_with_spread,
    smooth_valid,
    whole_map,
)
from liif_desktop.render.region import RegionRenderer


def _image(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


def test_spread_decoder_matches_the_folded_decoder(tiny_model: LIIF) -> None:
    image = _image()
    renderer = RegionRenderer(tiny_model, image)
    rgb, spread = render_with_spread(renderer, (30, 41), (3, 20), (5, 41))
    np.testing.assert_allclose(rgb, renderer.render((30, 41), (3, 20), (5, 41)), atol=1e-6)
    assert spread.shape == (17, 36) and spread.dtype == np.float32
    assert (spread >= 0).all() and spread.max() > 0


def test_spread_is_zero_when_the_four_predictions_agree(tiny_model: LIIF) -> None:
    # With the decoder's feature weights zeroed every latent code predicts the same colour
    # for the same offset, but the offsets differ; zero the offset weights too.
    decoder = SpreadDecoder(tiny_model)
    decoder.fold_weight = torch.zeros_like(decoder.fold_weight)
    decoder.coord_weight = torch.zeros_like(decoder.coord_weight)
    proj = decoder.project(torch.randn(16, 6, 6))
    raw, spread = decoder.decode_grid_spread(proj, (0, 0), (6, 6), (24, 24), (0, 24), (0, 24))
    reference = FoldedDecoder(tiny_model)
    assert raw.shape == (24, 24, 3) and reference.ensemble
    assert float(spread.abs().max()) < 1e-6


def test_perturbation_is_fixed_by_position() -> None:
    checker = perturbation_pattern((3, 4), "checker")
    assert checker[0, 0] == -1 and checker[0, 1] == 1 and checker[1, 0] == 1
    noise = perturbation_pattern((40, 50), "noise")
    np.testing.assert_array_equal(noise, perturbation_pattern((40, 50), "noise"))
    assert set(np.unique(noise)) == {-1.0, 1.0}
    image = np.ones((4, 4, 3), dtype=np.float32)
    assert perturbed_input(image).max() == pytest.approx(1 + PERTURBATION)  # not clipped
    with pytest.raises(ValueError):
        perturbation_pattern((2, 2), "stripes")


def test_smoothing_keeps_the_fully_covered_part() -> None:
    values = np.random.default_rng(1).random((30, 40)).astype(np.float32)
    whole = smooth_valid(values, 1.5)  # radius ceil(3 * 1.5) = 5
    assert whole.shape == (20, 30)
    np.testing.assert_allclose(smooth_valid(values[8:22, 3:20], 1.5), whole[8:12, 3:10], atol=1e-6)
    flat = smooth_valid(np.full((12, 12), 0.25, dtype=np.float32), 1.0)
    np.testing.assert_allclose(flat, 0.25, atol=1e-6)


@pytest.mark.parametrize("out_size", [(40, 52), (29, 37), (12, 16)])
def test_tiles_join_into_the_whole_map(tiny_model: LIIF, out_size: tuple[int, int]) -> None:
    image = _image()
    renderer = RegionRenderer(tiny_model, image)
    grid = map_grid(renderer.lr_size)
    assert grid == (12 * MAP_GRID, 16 * MAP_GRID)
    base, perturbed = companions(renderer)
    assert base is renderer and companions(renderer)[1] is perturbed
    whole_grid = ((0, grid[0]), (0, grid[1]))
    assert len(perturbed) == PERTURBATION_DRAWS == 2
    a = base.render(grid, *whole_grid)
    expected = whole_map(a, [p.render(grid, *whole_grid) for p in perturbed], out_size)
    assert expected.shape == out_size and expected.dtype == np.float32
    assert 0.0 <= expected.min() and expected.max() <= 1.0 and expected.std() > 0
    stitched = np.zeros(out_size, dtype=np.float32)
    cut_r, cut_c = out_size[0] // 3, out_size[1] // 2 + 1
    for rows in ((0, cut_r), (cut_r, out_size[0])):
        for cols in ((0, cut_c), (cut_c, out_size[1])):
            tile = invention_tile(renderer, out_size, rows, cols)
            stitched[rows[0] : rows[1], cols[0] : cols[1]] = tile
    np.testing.assert_allclose(stitched, expected, atol=1e-5)


def test_low_precision_renderers_get_an_fp32_base(tiny_model: LIIF) -> None:
    renderer = RegionRenderer(tiny_model, _image(), precision="bf16")
    base, perturbed = companions(renderer)
    assert base is not renderer and base.precision == "fp32"
    assert all(p.precision == "fp32" for p in perturbed)


def test_invention_tile_checks_and_cancels(tiny_model: LIIF) -> None:
    renderer = RegionRenderer(tiny_model, _image())
    with pytest.raises(ValueError):
        invention_tile(renderer, (24, 32), (0, 25), (0, 8))
    with pytest.raises(Cancelled):
        invention_tile(renderer, (24, 32), (0, 24), (0, 32), should_stop=lambda: True)

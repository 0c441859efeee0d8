"""The fast folded decoder agrees with the reference formulation; regions equal the whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from liif_desktop.model import build_liif, load_checkpoint
from liif_desktop.model.coords import grid_coords
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.model.tiling import default_halo
from liif_desktop.render.full import render_image, upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import make_tiny_model, random_image, tiny_spec


def _reference(model: LIIF, image: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    h, w = out_size
    with torch.no_grad():
        feat = model.encode(torch.from_numpy(image).permute(2, 0, 1)[None])
        coord = grid_coords(h, w)[None]
        cell = torch.tensor([2 / h, 2 / w]).expand_as(coord)
        raw = model.query(feat, coord, cell)
    return (raw * 0.5 + 0.5).clamp(0, 1).view(h, w, 3).numpy()


@pytest.mark.parametrize("encoder", ["edsr-baseline", "rdn"])
@pytest.mark.parametrize(
    "switches",
    [
        {},
        {"local_ensemble": False},
        {"feat_unfold": False},
        {"cell_decode": False},
        {"local_ensemble": False, "feat_unfold": False, "cell_decode": False},
    ],
)
def test_fast_path_matches_reference(encoder: str, switches: dict[str, bool]) -> None:
    torch.manual_seed(1)
    model = build_liif({**tiny_spec(encoder), **switches}).eval()
    image = random_image(13, 17, seed=2)
    for out_size in [(26, 34), (48, 41), (13, 17), (9, 60)]:  # ×2, ×3.7/×2.4, ×1, mixed
        ref = _reference(model, image, out_size)
        fast = RegionRenderer(model, image).render(out_size, (0, out_size[0]), (0, out_size[1]))
        assert np.abs(fast - ref).max() <= 1e-5, out_size


def test_rectangles_equal_the_whole_grid() -> None:
    model = make_tiny_model()
    image = random_image(20, 28, seed=3)
    out_size = (74, 104)  # ×3.7
    renderer = RegionRenderer(model, image, feature_tile=16)
    whole = renderer.render(out_size, (0, 74), (0, 104))
    rng = np.random.default_rng(0)
    for _ in range(12):
        r0, c0 = int(rng.integers(0, 73)), int(rng.integers(0, 103))
        r1, c1 = int(rng.integers(r0 + 1, 75)), int(rng.integers(c0 + 1, 105))
        part = renderer.render(out_size, (r0, r1), (c0, c1))
        assert np.abs(part - whole[r0:r1, c0:c1]).max() <= 1e-5


def test_tiled_render_matches_whole_with_full_halo() -> None:
    model = make_tiny_model("rdn")
    image = random_image(30, 22, seed=4)
    out_size = (75, 55)
    whole = RegionRenderer(model, image, feature_tile=4096).render(out_size, (0, 75), (0, 55))
    tiled = upscale_array(
        RegionRenderer(model, image, halo=model.receptive_radius, feature_tile=8), out_size, tile=16
    )
    assert np.abs(tiled - whole).max() <= 1e-5


def test_default_halo_keeps_tiles_within_tolerance(edsr_weights: Path) -> None:
    """Tiled encoding with the measured halo stays within 1e-3 of whole-image encoding."""
    model = load_checkpoint(edsr_weights)
    image = random_image(48, 40, seed=5)
    out_size = (192, 160)
    whole = RegionRenderer(model, image, feature_tile=4096).render(out_size, (0, 192), (0, 160))
    tiled = upscale_array(RegionRenderer(model, image, feature_tile=12), out_size, tile=64)
    assert default_halo(model) < model.receptive_radius
    assert np.abs(tiled - whole).max() <= 1e-3


def test_cancel_stops_between_chunks() -> None:
    model = make_tiny_model()
    renderer = RegionRenderer(model, random_image(16, 16), max_queries=64)
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        renderer.render((64, 64), (0, 64), (0, 64), should_stop=stop_after_two)
    assert len(calls) == 3


def test_render_image_reports_progress_and_covers_everything() -> None:
    model = make_tiny_model()
    image = random_image(10, 12)
    tiles = list(render_image(RegionRenderer(model, image), (25, 31), tile=8))
    assert tiles[-1].done == tiles[-1].total == 25 * 31
    covered = np.zeros((25, 31), dtype=int)
    for t in tiles:
        covered[t.rows[0] : t.rows[1], t.cols[0] : t.cols[1]] += 1
    assert (covered == 1).all()
    assert [t.done for t in tiles] == sorted(t.done for t in tiles)


def test_rejects_rectangles_outside_the_grid() -> None:
    renderer = RegionRenderer(make_tiny_model(), random_image(8, 8))
    with pytest.raises(ValueError, match="outside"):
        renderer.render((16, 16), (0, 17), (0, 4))


@pytest.mark.parametrize("encoder", ["edsr-baseline", "rdn"])
def test_encoding_stops_between_blocks(encoder: str) -> None:
    model = make_tiny_model(encoder)
    renderer = RegionRenderer(model, random_image(16, 16))
    polls = []

    def stop_on_third_poll() -> bool:
        polls.append(1)
        return len(polls) >= 3

    with pytest.raises(Cancelled):
        renderer.render((32, 32), (0, 32), (0, 32), should_stop=stop_on_third_poll)
    assert len(polls) == 3  # stopped inside the encoder, before any decoding
    assert len(renderer.features) == 0


def test_rdn_polls_before_every_dense_conv() -> None:
    # Config A: 20 blocks of 6 dense convs; a prompt cancel needs a poll per conv, not per block.
    model = make_tiny_model("rdn")
    polls = []

    def never() -> bool:
        polls.append(1)
        return False

    with torch.inference_mode():
        model.encoder(torch.zeros(1, 3, 8, 8), should_stop=never)
    assert len(polls) == 20 * 6

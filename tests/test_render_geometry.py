"""Viewport geometry: exact screen ↔ image maps, visible tiles, clamping and zoom anchors."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liif_desktop.render.geometry import TileKey, ViewGeometry

sizes = st.tuples(st.integers(1, 5000), st.integers(1, 5000))
zooms = st.floats(0.01, 64.0, allow_nan=False, allow_infinity=False)
coords = st.floats(-5000.0, 5000.0, allow_nan=False, allow_infinity=False)
viewports = st.tuples(st.integers(1, 3000), st.integers(1, 3000))


def view(image=(100, 200), zoom=2.0, origin=(0.0, 0.0), viewport=(300, 150)) -> ViewGeometry:
    return ViewGeometry(image_size=image, zoom=zoom, origin=origin, viewport=viewport)


def test_out_size_rounds_and_scale_is_exact() -> None:
    g = view(image=(30, 41), zoom=3.7)
    assert g.out_size == (111, 152)  # round(111.0), round(151.7)
    assert g.scale == (152 / 41, 111 / 30)
    assert view(image=(3, 2), zoom=0.01).out_size == (1, 1)


def test_pixel_centres_match_the_output_grid_convention() -> None:
    g = view(image=(30, 41), zoom=3.7, origin=(10.25, -3.5))
    h_out, w_out = g.out_size
    # output pixel (i, j) is drawn at screen (j - ox, i - oy); its centre is source (j+.5)*W/W_out
    i, j = 17, 100
    x, y = g.screen_to_image(j + 0.5 - g.origin[0], i + 0.5 - g.origin[1])
    assert x == pytest.approx((j + 0.5) * 41 / w_out, abs=1e-12)
    assert y == pytest.approx((i + 0.5) * 30 / h_out, abs=1e-12)


@settings(deadline=None, max_examples=60)
@given(sizes, zooms, st.tuples(coords, coords), viewports, st.tuples(coords, coords))
def test_screen_image_round_trip(size, zoom, origin, viewport, point) -> None:
    g = ViewGeometry(size, zoom, origin, viewport)
    ix, iy = g.screen_to_image(*point)
    sx, sy = g.image_to_screen(ix, iy)
    assert sx == pytest.approx(point[0], rel=1e-9, abs=1e-6)
    assert sy == pytest.approx(point[1], rel=1e-9, abs=1e-6)
    back = g.screen_to_image(sx, sy)
    assert back == pytest.approx((ix, iy), rel=1e-9, abs=1e-6)


@settings(deadline=None, max_examples=60)
@given(sizes, zooms, st.tuples(coords, coords), viewports, st.floats(0.1, 32.0), coords, coords)
def test_zoomed_about_keeps_the_anchor_point(size, zoom, origin, viewport, new_zoom, ax, ay):
    g = ViewGeometry(size, zoom, origin, viewport)
    z = g.zoomed_about(new_zoom, ax, ay)
    assert z.zoom == new_zoom
    before = g.screen_to_image(ax, ay)
    after = z.screen_to_image(ax, ay)
    assert after == pytest.approx(before, rel=1e-9, abs=1e-6)


@settings(deadline=None, max_examples=60)
@given(
    st.tuples(st.integers(1, 400), st.integers(1, 400)),
    st.floats(0.05, 12.0),
    st.tuples(coords, coords),
    st.tuples(st.integers(1, 900), st.integers(1, 900)),
    st.sampled_from([16, 64, 256]),
)
def test_visible_tiles_cover_the_view_in_distance_order(size, zoom, origin, viewport, tile):
    g = ViewGeometry(size, zoom, origin, viewport)
    tiles = g.visible_tiles(tile)
    rect = g.visible_rect()
    if rect is None:
        assert tiles == []
        return
    h_out, w_out = g.out_size
    covered = set()
    for k in tiles:
        assert k.rows[0] % tile == 0 and k.cols[0] % tile == 0
        assert k.rows[1] == min(h_out, k.rows[0] + tile)
        assert k.cols[1] == min(w_out, k.cols[0] + tile)
        # every tile shows at least one visible pixel
        assert k.rows[0] < rect.rows[1] and k.rows[1] > rect.rows[0]
        assert k.cols[0] < rect.cols[1] and k.cols[1] > rect.cols[0]
        covered.add((k.rows[0], k.cols[0]))
    assert len(covered) == len(tiles)
    for r in range(rect.rows[0] // tile * tile, rect.rows[1], tile):
        for c in range(rect.cols[0] // tile * tile, rect.cols[1], tile):
            assert (r, c) in covered
    cx, cy = origin[0] + viewport[0] / 2, origin[1] + viewport[1] / 2
    dist = [math.dist(k.centre, (cx, cy)) for k in tiles]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(dist))


def test_visible_tiles_nearest_centre_first_example() -> None:
    g = view(image=(100, 100), zoom=4.0, origin=(96.0, 96.0), viewport=(128, 128))
    tiles = g.visible_tiles(64)
    # viewport covers output [96, 224)² ; the centre (160, 160) is in tile (128..192)²
    assert tiles[0] == TileKey((128, 192), (128, 192))
    assert len(tiles) == 9
    assert set(tiles[-4:]) == {
        TileKey((r, r + 64), (c, c + 64)) for r in (64, 192) for c in (64, 192)
    }


def test_visible_tiles_empty_when_panned_away() -> None:
    assert view(origin=(5000.0, 0.0)).visible_tiles(64) == []
    assert view(origin=(-400.0, 0.0)).visible_tiles(64) == []


def test_clamp_origin_centres_small_images_and_bounds_large_ones() -> None:
    small = view(image=(10, 20), zoom=2.0, origin=(123.0, -50.0), viewport=(300, 150))
    assert small.clamp_origin().origin == ((40 - 300) / 2, (20 - 150) / 2)
    big = view(image=(100, 200), zoom=4.0, origin=(-30.0, 9999.0), viewport=(300, 150))
    assert big.clamp_origin().origin == (0.0, 400.0 - 150.0)
    inside = view(image=(100, 200), zoom=4.0, origin=(12.5, 7.25), viewport=(300, 150))
    assert inside.clamp_origin() == inside


@pytest.mark.parametrize("zoom", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_zoom_is_rejected(zoom: float) -> None:
    with pytest.raises(ValueError, match="zoom"):
        view(zoom=zoom)


def test_pan_and_dpr_helpers() -> None:
    g = ViewGeometry((100, 200), 2.0, (10.0, 20.0), (300, 150), device_pixel_ratio=1.5)
    assert g.panned(5, -5).origin == (5.0, 25.0)
    assert g.logical_viewport == (200.0, 100.0)
    with pytest.raises(ValueError, match="ratio"):
        ViewGeometry((100, 200), 2.0, (0.0, 0.0), (300, 150), device_pixel_ratio=0)

"""The rendered-tile cache and the Pillow tiles (downscale, bicubic placeholders)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.render.preview import SourcePreview, to_uint8
from liif_desktop.render.tiles import TileCache, TileCacheKey
from tests.conftest import random_image


def _key(i: int) -> TileCacheKey:
    return TileCacheKey("img", "model", (64, 64), TileKey((0, 8), (i, i + 8)))


def test_tile_cache_evicts_least_recently_used_under_budget() -> None:
    tile_bytes = 8 * 8 * 3
    cache = TileCache(3 * tile_bytes)
    for i in range(3):
        cache.store(_key(i), np.full((8, 8, 3), i, np.uint8))
    assert cache.lookup(_key(0)) is not None  # 0 is now the most recent
    cache.store(_key(3), np.zeros((8, 8, 3), np.uint8))
    assert cache.used_bytes == 3 * tile_bytes
    assert _key(1) not in cache
    assert all(_key(i) in cache for i in (0, 2, 3))
    cache.budget_bytes = tile_bytes
    assert len(cache) == 1 and _key(3) in cache and cache.used_bytes == tile_bytes


def test_tile_cache_checks_shape_and_freezes_tiles() -> None:
    cache = TileCache(1 << 20)
    with pytest.raises(ValueError, match="uint8"):
        cache.store(_key(0), np.zeros((8, 7, 3), np.uint8))
    rgb = np.zeros((8, 8, 3), np.uint8)
    cache.store(_key(0), rgb)
    stored = cache.lookup(_key(0))
    assert stored is not None and not stored.flags.writeable


def test_to_uint8_rounds_to_nearest_and_clips() -> None:
    got = to_uint8(np.array([[[0.0, 0.5 / 255, 1.49 / 255]], [[1.0, 1.2, -0.1]]]))
    assert got.tolist() == [[[0, 0, 1]], [[255, 255, 0]]]


@pytest.mark.parametrize(
    ("zoom", "resample"),
    [(0.37, Image.Resampling.LANCZOS), (2.6, Image.Resampling.BICUBIC)],
)
def test_preview_tiles_join_into_the_whole_image_resize(zoom, resample) -> None:
    image = random_image(50, 37, seed=3)
    preview = SourcePreview(image)
    g = ViewGeometry((50, 37), zoom, (0.0, 0.0), (1000, 1000))
    h_out, w_out = g.out_size
    whole = np.asarray(
        Image.fromarray(to_uint8(image)).resize((w_out, h_out), resample), dtype=np.int16
    )
    out = np.zeros((h_out, w_out, 3), np.int16)
    for key in g.visible_tiles(7):
        tile = (
            preview.downscale(g.out_size, key)
            if resample == Image.Resampling.LANCZOS
            else preview.bicubic(g.out_size, key)
        )
        out[key.rows[0] : key.rows[1], key.cols[0] : key.cols[1]] = tile
    assert np.abs(out - whole).max() <= 1


def test_preview_rejects_tiles_outside_the_grid() -> None:
    preview = SourcePreview(random_image(16, 16))
    with pytest.raises(ValueError, match="outside"):
        preview.bicubic((32, 32), TileKey((0, 33), (0, 8)))

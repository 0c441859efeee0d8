"""The viewport engine: tiles equal the whole output, stale work is dropped, order, caches."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cache import ByteLRU
from liif_desktop.render.engine import TileResult, ViewportEngine, encode_features
from liif_desktop.render.full import upscale_array
from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.render.preview import SourcePreview, to_uint8
from liif_desktop.render.region import RegionRenderer
from liif_desktop.render.tiles import TileCacheKey
from tests.conftest import make_tiny_model, random_image

TIMEOUT = 60.0


class Collector:
    """on_result sink: records results and lets a test wait for a count of them."""

    def __init__(self) -> None:
        self.results: list[TileResult] = []
        self._cond = threading.Condition()

    def __call__(self, result: TileResult) -> None:
        with self._cond:
            self.results.append(result)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[TileResult]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.results) >= count, timeout), (
                f"only {len(self.results)} of {count} results arrived"
            )
            return list(self.results)


class GatedRenderer:
    """A fake renderer whose tiles take until ``gate`` opens, in short simulated chunks.

    ``started`` receives (out_size, key, time) when a tile starts.
    """

    def __init__(self, honour_stop: bool = True) -> None:
        self.gate = threading.Event()
        self.honour_stop = honour_stop
        self.started: queue.Queue[tuple[tuple[int, int], TileKey, float]] = queue.Queue()
        self.cancelled: list[TileKey] = []

    def factory(self, model: LIIF, image: np.ndarray, features: ByteLRU[torch.Tensor]):
        return self

    def render(
        self,
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        key = TileKey(rows, cols)
        self.started.put((out_size, key, time.perf_counter()))
        while not self.gate.wait(0.002):  # one 2 ms "decoder chunk"
            if self.honour_stop and should_stop is not None and should_stop():
                self.cancelled.append(key)
                raise Cancelled
        return np.full((*key.shape, 3), 0.25, np.float32)


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def make_engine(collector: Collector) -> Iterator[Callable[..., ViewportEngine]]:
    engines: list[ViewportEngine] = []

    def make(**kwargs) -> ViewportEngine:
        engine = ViewportEngine(collector, **kwargs)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown()


def _assemble(
    results: list[TileResult], out_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((*out_size, 3), np.int16)
    filled = np.zeros(out_size, bool)
    for r in results:
        (r0, r1), (c0, c1) = r.request.key.rows, r.request.key.cols
        out[r0:r1, c0:c1] = r.rgb
        filled[r0:r1, c0:c1] = True
    return out, filled


def _check_tiles_equal_whole_output(model: LIIF, engine: ViewportEngine, collector: Collector):
    image = random_image(30, 26, seed=5)
    engine.set_image("img", image)
    engine.set_model("m", model)
    # zoom 3.7 (out 111 × 96), a pan that is not tile-aligned, a viewport with partial tiles
    geometry = ViewGeometry((30, 26), 3.7, (17.3, 29.6), (61, 58))
    plan = engine.update_view(geometry)
    assert plan.pending == len(plan.tiles) >= 4
    assert not any(t.refined for t in plan.tiles)
    results = collector.wait_for(len(plan.tiles))
    assert engine.progress() == (len(plan.tiles), len(plan.tiles))
    assert {r.request.key for r in results} == {t.request.key for t in plan.tiles}
    assert all(r.refined and r.request.generation == plan.generation for r in results)
    whole = to_uint8(upscale_array(RegionRenderer(model, image), geometry.out_size))
    got, filled = _assemble(results, geometry.out_size)
    assert filled.sum() > 0
    diff = np.abs(got[filled] - whole[filled].astype(np.int16))
    assert diff.max() <= 1, f"max diff {diff.max()} (of 255)"
    # the placeholders are the bicubic tiles of the same rectangles
    for t in plan.tiles:
        assert np.array_equal(t.rgb, engine.preview_tile(geometry.out_size, t.request.key))


def test_tiles_equal_the_whole_output_tiny_model(make_engine, collector) -> None:
    engine = make_engine(tile_size=24)
    _check_tiles_equal_whole_output(make_tiny_model(seed=2), engine, collector)


def test_tiles_equal_the_whole_output_official_weights(
    make_engine, collector, edsr_weights: Path
) -> None:
    from liif_desktop.weights import load_model

    engine = make_engine(tile_size=24)
    _check_tiles_equal_whole_output(load_model("edsr-baseline-liif"), engine, collector)


def test_zoom_change_cancels_the_running_tile_and_starts_the_new_view_fast(
    make_engine, collector
) -> None:
    fake = GatedRenderer()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    old = ViewGeometry((40, 40), 3.0, (10.0, 10.0), (64, 48))
    engine.update_view(old)
    out_size, _, _ = fake.started.get(timeout=TIMEOUT)
    assert out_size == old.out_size
    new = old.zoomed_about(5.5, 32, 24)
    t0 = time.perf_counter()
    plan = engine.update_view(new)
    out_size, key, t1 = fake.started.get(timeout=TIMEOUT)
    assert out_size == new.out_size
    assert key == new.visible_tiles(16)[0]
    assert t1 - t0 < 0.1, f"first new tile started {1000 * (t1 - t0):.0f} ms after the change"
    assert len(fake.cancelled) == 1
    fake.gate.set()
    collector.wait_for(len(plan.tiles))
    assert engine.wait_idle(TIMEOUT)
    assert all(r.request.generation == plan.generation for r in collector.results)
    assert len(collector.results) == len(plan.tiles)


def test_stale_results_are_discarded_on_arrival(make_engine, collector) -> None:
    fake = GatedRenderer(honour_stop=False)  # finishes the old tile regardless
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    old = ViewGeometry((40, 40), 3.0, (10.0, 10.0), (64, 48))
    engine.update_view(old)
    _, old_key, _ = fake.started.get(timeout=TIMEOUT)
    plan = engine.update_view(old.zoomed_about(2.0, 0, 0))
    assert plan.generation == engine.generation
    fake.gate.set()
    collector.wait_for(len(plan.tiles))
    assert engine.wait_idle(TIMEOUT)
    assert len(collector.results) == len(plan.tiles)
    assert {r.request.generation for r in collector.results} == {plan.generation}
    assert {r.request.out_size for r in collector.results} == {plan.geometry.out_size}
    # the stale tile's pixels are valid, so they are cached, just not delivered
    assert len(engine.tile_cache) == len(plan.tiles) + 1
    assert TileCacheKey("img", "m", old.out_size, old_key) in engine.tile_cache
    assert engine.progress() == (len(plan.tiles), len(plan.tiles))


def test_a_tile_still_visible_after_a_pan_is_not_thrown_away(make_engine, collector) -> None:
    fake = GatedRenderer()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    g = ViewGeometry((40, 40), 3.0, (10.0, 10.0), (64, 48))
    engine.update_view(g)
    _, running, _ = fake.started.get(timeout=TIMEOUT)
    plan = engine.update_view(g.panned(-3, 2))
    assert running in {t.request.key for t in plan.tiles}
    fake.gate.set()
    results = collector.wait_for(len(plan.tiles))
    assert fake.cancelled == []
    assert {r.request.key for r in results} == {t.request.key for t in plan.tiles}
    assert {r.request.generation for r in results} == {plan.generation}


def test_tiles_render_nearest_the_centre_first(make_engine, collector) -> None:
    fake = GatedRenderer()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    g = ViewGeometry((40, 40), 4.0, (21.0, 5.0), (80, 70))
    plan = engine.update_view(g)
    fake.gate.set()
    collector.wait_for(len(plan.tiles))
    order = [fake.started.get(timeout=TIMEOUT)[1] for _ in plan.tiles]
    assert order == g.visible_tiles(16)
    assert [r.request.key for r in collector.results] == order
    cx, cy = 21.0 + 40, 5.0 + 35
    dist = [np.hypot(k.centre[0] - cx, k.centre[1] - cy) for k in order]
    assert dist == sorted(dist) and dist[0] < dist[-1]


def test_cached_tiles_come_back_at_once_and_the_cache_keeps_its_budget(
    make_engine, collector
) -> None:
    fake = GatedRenderer()
    fake.gate.set()
    tile_bytes = 16 * 16 * 3
    engine = make_engine(
        tile_size=16, tile_cache_bytes=6 * tile_bytes, renderer_factory=fake.factory
    )
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    g = ViewGeometry((40, 40), 4.0, (32.0, 32.0), (32, 32))  # 4 whole tiles
    plan = engine.update_view(g)
    collector.wait_for(4)
    again = engine.update_view(g)
    assert all(t.refined for t in again.tiles) and engine.progress() == (4, 4)
    assert engine.tile_cache_used == 4 * tile_bytes
    far = engine.update_view(g.with_origin(96.0, 96.0))
    collector.wait_for(8)
    assert engine.wait_idle(TIMEOUT)
    assert engine.tile_cache_used <= engine.tile_cache_budget == 6 * tile_bytes
    assert len(engine.tile_cache) == 6
    back = engine.update_view(g)  # the two least recently used of the first view are gone
    assert sum(t.refined for t in back.tiles) == 2
    assert {t.request.key for t in back.tiles if t.refined} == {
        t.request.key for t in plan.tiles[2:]
    }
    assert len(far.tiles) == 4
    engine.tile_cache_budget = tile_bytes
    assert engine.tile_cache_used <= tile_bytes


def test_feature_cache_budget_is_shared_with_the_renderer(make_engine, collector) -> None:
    model = make_tiny_model()
    engine = make_engine(tile_size=32, feature_cache_bytes=1 << 20)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", model)
    plan = engine.update_view(ViewGeometry((40, 40), 2.0, (0.0, 0.0), (80, 80)))
    collector.wait_for(len(plan.tiles))
    assert 0 < engine.feature_cache_used <= engine.feature_cache_budget == 1 << 20
    engine.feature_cache_budget = 1000
    assert engine.feature_cache_used == 0


def test_zoom_at_most_one_is_an_exact_downscale_without_the_model(make_engine, collector) -> None:
    fake = GatedRenderer()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    image = random_image(64, 48, seed=1)
    engine.set_image("img", image)
    engine.set_model("m", make_tiny_model())
    g = ViewGeometry((64, 48), 0.55, (-3.0, 0.0), (40, 40))
    plan = engine.update_view(g)
    assert plan.tiles and all(t.refined for t in plan.tiles)
    assert engine.progress() == (len(plan.tiles), len(plan.tiles))
    got, filled = _assemble(plan.tiles, g.out_size)
    expected = SourcePreview(image).downscale(
        g.out_size, TileKey((0, g.out_size[0]), (0, g.out_size[1]))
    )
    assert filled.all()
    assert np.abs(got - expected).max() <= 1
    assert engine.wait_idle(TIMEOUT)
    assert fake.started.empty() and collector.results == []


def test_without_a_model_only_placeholders(make_engine, collector) -> None:
    engine = make_engine(tile_size=16)
    engine.set_image("img", random_image(20, 20))
    engine.set_model("none", None)
    plan = engine.update_view(ViewGeometry((20, 20), 2.5, (0.0, 0.0), (50, 50)))
    assert plan.tiles and not any(t.refined for t in plan.tiles)
    assert engine.wait_idle(TIMEOUT)
    assert collector.results == [] and engine.progress() == (0, len(plan.tiles))


def test_view_of_another_image_size_is_rejected(make_engine) -> None:
    engine = make_engine()
    engine.set_image("img", random_image(20, 20))
    with pytest.raises(ValueError, match="image"):
        engine.update_view(ViewGeometry((21, 20), 2.0, (0.0, 0.0), (50, 50)))


def test_shutdown_stops_a_running_tile_and_is_idempotent(make_engine, collector) -> None:
    fake = GatedRenderer()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(40, 40))
    engine.set_model("m", make_tiny_model())
    engine.update_view(ViewGeometry((40, 40), 3.0, (0.0, 0.0), (64, 48)))
    fake.started.get(timeout=TIMEOUT)
    engine.shutdown()
    engine.shutdown()
    assert len(fake.cancelled) == 1 and collector.results == []


def test_setting_an_image_id_again_drops_its_tiles(make_engine, collector) -> None:
    fake = GatedRenderer()
    fake.gate.set()
    engine = make_engine(tile_size=16, renderer_factory=fake.factory)
    engine.set_image("img", random_image(20, 20))
    engine.set_model("m", make_tiny_model())
    g = ViewGeometry((20, 20), 2.0, (0.0, 0.0), (16, 16))
    plan = engine.update_view(g)
    collector.wait_for(len(plan.tiles))
    assert engine.update_view(g).tiles[0].refined
    engine.set_image("img", random_image(20, 20, seed=9))
    assert len(engine.tile_cache) == 0
    assert not engine.update_view(g).tiles[0].refined


def test_feature_encoding_stops_between_feature_tiles() -> None:
    renderer = RegionRenderer(make_tiny_model(), random_image(40, 40), feature_tile=8)

    def stop_after_two() -> bool:
        return len(renderer.features) >= 2

    with pytest.raises(Cancelled):
        encode_features(renderer, (120, 120), (0, 120), (0, 120), stop_after_two)
    assert len(renderer.features) == 2
    encode_features(renderer, (120, 120), (0, 60), (0, 60), lambda: False)
    (y0, y1), (x0, x1) = renderer.lr_window((120, 120), (0, 60), (0, 60))
    n = len(renderer.features)
    assert y0 == x0 == 0
    assert n == ((y1 - 1) // 8 + 1) * ((x1 - 1) // 8 + 1) > 2
    # a rectangle whose tiles are cached encodes nothing and never polls
    encode_features(renderer, (120, 120), (0, 30), (0, 30), lambda: pytest.fail("polled"))
    assert len(renderer.features) == n

"""The viewport controller, without Qt: order of stages, exact pixels, stale work, caches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cache import ByteLRU
from liif_desktop.render.full import upscale_array
from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.render.preview import SourcePreview, to_uint8
from liif_desktop.render.region import RegionRenderer, _rectangles
from liif_desktop.render.viewport import (
    INVENTION,
    MAIN,
    REFERENCE,
    Stage,
    TileUpdate,
    ViewportController,
)
from tests.conftest import make_tiny_model, random_image

TIMEOUT = 60.0


class Collector:
    """on_update sink: records every update; a test waits for a condition on them."""

    def __init__(self) -> None:
        self.updates: list[TileUpdate] = []
        self.batches: list[list[TileUpdate]] = []
        self._cond = threading.Condition()

    def __call__(self, updates: list[TileUpdate]) -> None:
        with self._cond:
            self.updates.extend(updates)
            self.batches.append(list(updates))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[list[TileUpdate]], bool], timeout: float = TIMEOUT):
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.updates), timeout)
            assert ok, f"condition not met after {len(self.updates)} updates"
            return list(self.updates)

    def clear(self) -> None:
        with self._cond:
            self.updates.clear()
            self.batches.clear()


class FakeRenderer:
    """A renderer whose pixels are a known function of (row, col); records its calls and
    can be held at a gate, decoding in short simulated chunks that poll ``should_stop``."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[tuple[int, int], np.ndarray, np.ndarray]] = []
        self.cancelled = 0
        self.running = threading.Event()
        self.log: list[tuple[str, tuple[int, int], tuple[int, int]]] = []

    def factory(self, model, image, features, precision):
        return self

    @staticmethod
    def value(out_size: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        r = rows[:, None].astype(np.float32) / out_size[0]
        c = cols[None, :].astype(np.float32) / out_size[1]
        return np.stack([r + 0 * c, c + 0 * r, (r + c) / 2], axis=-1).astype(np.float32)

    def prefetch(self, out_size, rows, cols, should_stop=None):
        self.log.append(("prefetch", rows, cols))

    def render_points(self, out_size, row_index, col_index, should_stop=None):
        self.calls.append((out_size, np.array(row_index), np.array(col_index)))
        rows, cols = np.asarray(row_index), np.asarray(col_index)
        self.log.append(
            (
                "render",
                (int(rows.min()), int(rows.max()) + 1),
                (int(cols.min()), int(cols.max()) + 1),
            )
        )
        self.running.set()
        while not self.gate.wait(0.002):
            if should_stop is not None and should_stop():
                self.cancelled += 1
                self.running.clear()
                raise Cancelled
        self.running.clear()
        return self.value(out_size, np.asarray(row_index), np.asarray(col_index))


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def make_controller(collector: Collector) -> Iterator[Callable[..., ViewportController]]:
    made: list[ViewportController] = []

    def make(**kwargs) -> ViewportController:
        controller = ViewportController(collector, **kwargs)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.shutdown()


def _model() -> LIIF:
    return make_tiny_model()


def _latest(updates: list[TileUpdate], layer: str = MAIN) -> dict[TileKey, TileUpdate]:
    out: dict[TileKey, TileUpdate] = {}
    for u in updates:
        if u.layer == layer:
            out[u.key] = u
    return out


def _done(controller: ViewportController) -> Callable[[list[TileUpdate]], bool]:
    def check(_: list[TileUpdate]) -> bool:
        final, total = controller.progress()
        return total > 0 and final == total

    return check


def test_final_view_equals_the_whole_output_tiny_model(make_controller, collector) -> None:
    model = _model()
    image = random_image(30, 26, seed=5)
    controller = make_controller(tile_size=24)
    controller.set_image("img", image)
    controller.set_model("m", model)
    # zoom 3.7 (out 111 × 96), a pan that is not tile-aligned, partial tiles at the edges
    geometry = ViewGeometry((30, 26), 3.7, (17.3, 29.6), (61, 58))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    tiles = _latest(collector.updates)
    keys = geometry.visible_tiles(24)
    assert set(tiles) == set(keys)
    assert all(t.final and t.stage == Stage.EXACT for t in tiles.values())
    whole = to_uint8(upscale_array(RegionRenderer(model, image), geometry.out_size))
    for key, t in tiles.items():
        (r0, r1), (c0, c1) = key.rows, key.cols
        diff = np.abs(t.rgb.astype(np.int16) - whole[r0:r1, c0:c1])
        assert diff.max() <= 1, f"tile {key}: max diff {diff.max()} (of 255)"
    # finished tiles are cached whole, off-screen parts included
    assert len(controller.tile_cache) == len(keys)


def test_stages_come_in_order_visible_pixels_first(make_controller, collector) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    image = random_image(20, 20, seed=1)
    controller.set_image("img", image)
    controller.set_model("m", _model())
    geometry = ViewGeometry((20, 20), 4.0, (10.0, 6.0), (40, 30))  # out 80×80
    visible = geometry.visible_rect()
    assert visible is not None
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    batches = collector.batches
    keys = geometry.visible_tiles(16)
    # 1. placeholders of every tile in one batch, bicubic, nothing final
    first = batches[0]
    assert [u.key for u in first] == keys
    preview = SourcePreview(image)
    for u in first:
        assert u.stage == Stage.PLACEHOLDER and not u.final
        assert np.array_equal(u.rgb, preview.bicubic(geometry.out_size, u.key))
    stages = [u.stage for b in batches[1:] for u in b]
    # 2. coarse updates, then exact ones; never back
    assert stages == sorted(stages)
    assert Stage.COARSE in stages and Stage.EXACT in stages
    # the renderer saw the coarse pixels (even rows and cols) of the visible part first ...
    n_coarse = sum(
        1 for b in batches[1:] for u in b if u.stage == Stage.COARSE
    )  # one call per tile in the coarse pass
    coarse_calls = fake.calls[:n_coarse]
    for _, rows, cols in coarse_calls:
        assert (rows % 2 == 0).all() and (cols % 2 == 0).all()
        assert rows.min() >= visible.rows[0] and rows.max() < visible.rows[1]
        assert cols.min() >= visible.cols[0] and cols.max() < visible.cols[1]
    # ... and every visible pixel before any off-screen one
    seen_offscreen = False
    for _, rows, cols in fake.calls:
        inside = (
            rows.min() >= visible.rows[0]
            and rows.max() < visible.rows[1]
            and cols.min() >= visible.cols[0]
            and cols.max() < visible.cols[1]
        )
        if not inside:
            seen_offscreen = True
        else:
            assert not seen_offscreen, "a visible pixel was decoded after an off-screen one"
    # no pixel decoded twice, and the final tiles hold exactly the renderer's values
    counts = np.zeros(geometry.out_size, np.int32)
    for _out_size, rows, cols in fake.calls:
        counts[np.ix_(rows, cols)] += 1
    covered = np.zeros(geometry.out_size, bool)
    for key in keys:
        covered[key.rows[0] : key.rows[1], key.cols[0] : key.cols[1]] = True
    assert counts[covered].max() == 1 and counts[covered].min() == 1
    expected = to_uint8(
        FakeRenderer.value(
            geometry.out_size, np.arange(geometry.out_size[0]), np.arange(geometry.out_size[1])
        )
    )
    for key, u in _latest(collector.updates).items():
        assert u.final
        assert np.array_equal(u.rgb, expected[key.rows[0] : key.rows[1], key.cols[0] : key.cols[1]])


def test_coarse_tiles_show_each_sample_over_its_block(make_controller, collector) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(8, 8, seed=2))
    controller.set_model("m", _model())
    geometry = ViewGeometry((8, 8), 4.0, (0.0, 0.0), (32, 32))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    coarse = [u for u in collector.updates if u.stage == Stage.COARSE]
    assert coarse
    u = coarse[0]
    r0, c0 = u.key.rows[0], u.key.cols[0]
    h, w = u.key.shape
    full = to_uint8(FakeRenderer.value((32, 32), np.arange(32), np.arange(32)))
    for r in range(h):
        for c in range(w):
            gr, gc = r0 + r - (r0 + r) % 2, c0 + c - (c0 + c) % 2
            assert np.array_equal(u.rgb[r, c], full[gr, gc])


def test_a_new_view_cancels_stale_work_and_stale_updates_never_arrive(
    make_controller, collector
) -> None:
    fake = FakeRenderer()
    fake.gate.clear()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(40, 40, seed=3))
    controller.set_model("m", _model())
    g1 = ViewGeometry((40, 40), 4.0, (0.0, 0.0), (32, 32))
    r1 = controller.request_view(g1)
    assert fake.running.wait(TIMEOUT)  # the first coarse step runs, held at the gate
    g2 = ViewGeometry((40, 40), 3.0, (60.0, 60.0), (32, 32))  # another zoom: nothing shared
    t0 = time.perf_counter()
    r2 = controller.request_view(g2)
    collector.wait(lambda us: any(u.generation == r2.generation for u in us))
    latency = time.perf_counter() - t0
    assert fake.cancelled >= 1
    assert latency < 5.0
    fake.gate.set()
    assert controller.wait_idle(TIMEOUT)
    after = [u for u in collector.updates if u.generation > r1.generation]
    assert all(u.out_size == g2.out_size for u in after)
    stale = [u for u in collector.updates if u.generation == r1.generation]
    assert all(u.stage == Stage.PLACEHOLDER for u in stale)  # only its placeholders came
    assert controller.progress()[0] == controller.progress()[1] > 0


def test_a_pan_keeps_a_tile_that_stays_visible(make_controller, collector) -> None:
    fake = FakeRenderer()
    fake.gate.clear()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory, coarse=False)
    controller.set_image("img", random_image(40, 40, seed=3))
    controller.set_model("m", _model())
    g1 = ViewGeometry((40, 40), 4.0, (8.0, 8.0), (16, 16))
    controller.request_view(g1)
    assert fake.running.wait(TIMEOUT)
    first_call = fake.calls[0]
    r2 = controller.request_view(g1.panned(-4, 0))  # the running tile is still on screen
    time.sleep(0.05)
    fake.gate.set()
    assert controller.wait_idle(TIMEOUT)
    assert fake.cancelled == 0
    # the step that ran was delivered under the new generation, not recomputed
    n_same = sum(
        1
        for c in fake.calls
        if np.array_equal(c[1], first_call[1]) and np.array_equal(c[2], first_call[2])
    )
    assert n_same == 1
    assert all(u.generation <= r2.generation for u in collector.updates)


def test_cached_tiles_come_back_final_at_once(make_controller, collector) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(16, 16, seed=4))
    controller.set_model("m", _model())
    geometry = ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    calls = len(fake.calls)
    collector.clear()
    controller.request_view(geometry.panned(0, 0))
    assert controller.wait_idle(TIMEOUT)
    assert len(fake.calls) == calls
    assert len(collector.batches) == 1
    assert all(u.final and u.stage == Stage.EXACT for u in collector.batches[0])


def test_zoom_at_most_one_is_a_final_downscale_without_the_model(make_controller, collector):
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    image = random_image(40, 40, seed=6)
    controller.set_image("img", image)
    controller.set_model("m", _model())
    geometry = ViewGeometry((40, 40), 0.5, (0.0, 0.0), (30, 30))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    assert fake.calls == []
    preview = SourcePreview(image)
    for key, u in _latest(collector.updates).items():
        assert u.final
        assert np.array_equal(u.rgb, preview.downscale(geometry.out_size, key))


def test_without_a_model_bicubic_is_final(make_controller, collector) -> None:
    controller = make_controller(tile_size=16)
    controller.set_image("img", random_image(16, 16, seed=7))
    controller.request_view(ViewGeometry((16, 16), 3.0, (0.0, 0.0), (40, 40)))
    assert controller.wait_idle(TIMEOUT)
    assert collector.updates and all(u.final for u in collector.updates)
    assert all(u.stage == Stage.PLACEHOLDER for u in collector.updates)


def test_reference_layer_renders_after_the_main_one(make_controller, collector) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(16, 16, seed=8))
    controller.set_model("m", _model())
    controller.set_reference_model("r", _model())
    controller.request_view(ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32)), reference=True)
    assert controller.wait_idle(TIMEOUT)
    layers = [u.layer for u in collector.updates if u.stage == Stage.EXACT]
    assert MAIN in layers and REFERENCE in layers
    first_ref = layers.index(REFERENCE)
    assert all(layer == REFERENCE for layer in layers[first_ref:])
    assert all(u.final for u in _latest(collector.updates, REFERENCE).values())
    # without a reference model the compare layer is bicubic, final at once
    controller.set_reference_model(None, None)
    collector.clear()
    controller.request_view(ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32)), reference=True)
    assert controller.wait_idle(TIMEOUT)
    refs = [u for u in collector.updates if u.layer == REFERENCE]
    assert refs and all(u.final and u.stage == Stage.PLACEHOLDER for u in refs)


def test_new_model_or_image_drops_work_and_view_of_another_size_is_refused(
    make_controller, collector
) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(16, 16, seed=9))
    controller.set_model("m", _model())
    geometry = ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    with pytest.raises(ValueError, match="image"):
        controller.request_view(ViewGeometry((17, 16), 2.0, (0.0, 0.0), (32, 32)))
    calls = len(fake.calls)
    controller.set_model("m2", _model())  # the current view is served again, with it
    assert controller.wait_idle(TIMEOUT)
    assert len(fake.calls) > calls


def test_shutdown_stops_a_running_step_and_is_idempotent(make_controller) -> None:
    fake = FakeRenderer()
    fake.gate.clear()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(16, 16, seed=10))
    controller.set_model("m", _model())
    controller.request_view(ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32)))
    assert fake.running.wait(TIMEOUT)
    t0 = time.perf_counter()
    controller.shutdown()
    controller.shutdown()
    assert time.perf_counter() - t0 < 5.0


def test_feature_cache_budget_reaches_the_renderer(make_controller) -> None:
    built: list[ByteLRU[torch.Tensor]] = []

    def factory(model, image, features, precision):
        built.append(features)
        return RegionRenderer(model, image, precision=precision)

    controller = make_controller(tile_size=16, renderer_factory=factory)
    controller.feature_cache_budget = 3 << 20
    controller.set_image("img", random_image(16, 16, seed=11))
    controller.set_model("m", _model())
    controller.request_view(ViewGeometry((16, 16), 2.0, (0.0, 0.0), (32, 32)))
    assert controller.wait_idle(TIMEOUT)
    assert built and built[0].budget_bytes == 3 << 20


def test_prefetch_encodes_a_view_in_one_window_with_the_same_codes() -> None:
    model = make_tiny_model(seed=12)
    image = random_image(40, 52, seed=12)
    calls: list[tuple[int, ...]] = []
    encode = model.encode

    def counting_encode(x, should_stop=None):
        calls.append(tuple(x.shape))
        return encode(x, should_stop)

    halo = model.receptive_radius  # full reach: tiled codes equal whole-image codes
    by_tile = RegionRenderer(model, image, halo=halo, feature_tile=16)
    expected = by_tile.render((80, 104), (0, 80), (0, 104))
    model.encode = counting_encode  # type: ignore[method-assign]
    renderer = RegionRenderer(model, image, halo=halo, feature_tile=16)
    renderer.prefetch((80, 104), (0, 80), (0, 104))
    assert len(calls) == 1  # 3 × 4 tiles, one window
    assert len(renderer.features) == 12
    got = renderer.render((80, 104), (0, 80), (0, 104))
    assert len(calls) == 1  # rendering found every tile cached
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # with a tile cached inside, the missing ones are encoded as bands around it
    renderer.features.clear()
    renderer.feature_tile_at(1, 1)
    calls.clear()
    renderer.prefetch((80, 104), (0, 80), (0, 104))
    assert len(calls) == 4  # above, left of, right of and below the cached tile
    np.testing.assert_allclose(renderer.render((80, 104), (0, 80), (0, 104)), expected, atol=1e-5)


@pytest.mark.parametrize("hole", [None, (2, 4, 3, 6), (0, 1, 0, 9), (5, 7, 8, 9)])
def test_missing_latent_tiles_are_covered_by_few_disjoint_rectangles(hole) -> None:
    grid = {(r, c) for r in range(8) for c in range(10)}
    cached = set()
    if hole is not None:
        r0, r1, c0, c1 = hole
        cached = {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    rects = _rectangles(grid - cached)
    covered = [
        (r, c) for r0, r1, c0, c1 in rects for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
    ]
    assert len(covered) == len(set(covered))  # disjoint
    assert set(covered) == grid - cached
    assert len(rects) <= (1 if hole is None else 4)


def test_invention_maps_follow_the_exact_visible_pixels_and_only_when_asked(
    make_controller, collector
) -> None:
    fake = FakeRenderer()
    asked: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def invention(renderer, out_size, rows, cols, should_stop):
        asked.append((rows, cols))
        return np.full((rows[1] - rows[0], cols[1] - cols[0]), 0.5, np.float32)

    controller = make_controller(
        tile_size=16, renderer_factory=fake.factory, invention_map=invention
    )
    controller.set_image("img", random_image(20, 20, seed=13))
    controller.set_model("m", _model())
    geometry = ViewGeometry((20, 20), 4.0, (10.0, 6.0), (40, 30))
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    assert not asked and all(u.layer != INVENTION for u in collector.updates)
    collector.clear()
    controller.tile_cache.clear()
    controller.request_view(geometry, invention=True)
    assert controller.wait_idle(TIMEOUT)
    order = [(u.layer, u.stage, u.key) for u in collector.updates]
    maps = [i for i, (layer, _, _) in enumerate(order) if layer == INVENTION]
    assert len(maps) == len(geometry.visible_tiles(16))
    visible = geometry.visible_rect()
    assert visible is not None
    main_exact = [
        j for j, (layer, stage, _) in enumerate(order) if layer == MAIN and stage == Stage.EXACT
    ]
    n_visible_exact = len(geometry.visible_tiles(16))
    # the maps come after the main layer's visible pixels are all exact
    assert min(maps) > main_exact[n_visible_exact - 1]
    for u in collector.updates:
        if u.layer == INVENTION:
            assert u.rgb.max() == 128  # 0.5 as grey levels, over the visible part only
    for rows, cols in asked:  # visible parts only
        assert visible.rows[0] <= rows[0] and rows[1] <= visible.rows[1]
        assert visible.cols[0] <= cols[0] and cols[1] <= visible.cols[1]


def test_first_tiles_latent_codes_are_encoded_before_the_rest_of_the_view(
    make_controller, collector
) -> None:
    fake = FakeRenderer()
    controller = make_controller(tile_size=16, renderer_factory=fake.factory)
    controller.set_image("img", random_image(20, 20, seed=1))
    controller.set_model("m", _model())
    geometry = ViewGeometry((20, 20), 4.0, (10.0, 6.0), (40, 30))  # out 80×80, several tiles
    visible = geometry.visible_rect()
    assert visible is not None
    controller.request_view(geometry)
    assert controller.wait_idle(TIMEOUT)
    kinds = [entry[0] for entry in fake.log]
    first, second, *offscreen = (i for i, k in enumerate(kinds) if k == "prefetch")
    assert first == 0 and kinds[1] == "render" and second == 2  # one tile, then the rest
    assert len(offscreen) <= 1  # the edge tiles' off-screen parts, once
    _, rows, cols = fake.log[0]
    _, r, c = fake.log[1]
    assert rows[0] <= r[0] and r[1] <= rows[1] and cols[0] <= c[0] and c[1] <= cols[1]
    assert (rows[1] - rows[0]) * (cols[1] - cols[0]) <= 16 * 16
    assert (fake.log[2][1], fake.log[2][2]) == (visible.rows, visible.cols)


def test_latent_code_tiles_must_have_a_positive_size(collector) -> None:
    with pytest.raises(ValueError, match="latent-code tile"):
        ViewportController(collector, feature_tile=0)
    with pytest.raises(ValueError, match="feature_tile"):
        RegionRenderer(_model(), random_image(8, 8, seed=1), feature_tile=0)

"""The viewport controller: what the canvas shows, rendered by one worker thread (no Qt).

The GUI thread hands :meth:`ViewportController.request_view` a :class:`ViewGeometry`; the
controller wraps it in a frozen :class:`ViewRequest` with a new generation and returns at
once. One worker thread then serves the newest request in three stages, visible pixels first:

1. **placeholder** – every tile of the view at once: finished tiles from the cache, tiles in
   progress as far as they got, the rest as bicubic resamples (at zoom ≤ 1 the exact Lanczos
   downscale, which is final there);
2. **coarse** – LIIF at half density over the visible part of each tile, nearest the centre
   first: the output pixels of even rows and columns, each shown over its 2×2 block. They
   are pixels of the final picture (nothing is computed twice), so the coarse pass costs a
   quarter of the exact one and the exact pass only fills in the rest;
3. **exact** – the remaining visible pixels, tile by tile, then the tiles' off-screen parts
   (so finished tiles can be cached whole and a small pan costs nothing).

Every change of the picture goes out as a :class:`TileUpdate` tagged with the generation it
belongs to, through one callback (``on_update``, called on the worker thread: wrap it in one
queued signal). Results of older generations are never sent; a receiver drops any that still
arrive after a newer request. When a new request comes, the worker stops the running step at
its next chunk unless the new view still shows that tile at the same zoom, and continues with
the new request: what was computed stays in the tiles in progress.

A second *reference* layer (another model, or bicubic) is rendered after the main one for
the compare views, and the *invention* layer (where the enlargement depends most on what the
model invented, :func:`liif_desktop.render.invention.invention_tile`) after the main layer's
visible pixels are exact, when the view asks for it.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cache import ByteLRU
from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.render.preview import SourcePreview, to_uint8
from liif_desktop.render.region import Precision, RegionRenderer, tensor_nbytes
from liif_desktop.render.tiles import TileCache, TileCacheKey

log = logging.getLogger(__name__)

MAIN = "main"
REFERENCE = "reference"
INVENTION = "invention"
INVENTION_ID = "\0invention:"  # prefix of the main model's id in the invention maps' cache keys
INVENTION_MIN_ZOOM = 1.0  # below, the map costs more than the picture and shows little
DOWNSCALE_ID = "\0lanczos"  # stands for the model in the cache keys of zoom ≤ 1 tiles
BICUBIC_ID = "\0bicubic"  # the reference layer without a model
COARSE_STRIDE = 2
MAX_TILES_IN_PROGRESS = 96  # about 25 MB of 256² tiles with their masks


class Stage(enum.IntEnum):
    """How far a tile's visible pixels are: each stage replaces the one before."""

    PLACEHOLDER = 0
    COARSE = 1
    EXACT = 2


@dataclass(frozen=True)
class ViewRequest:
    """A view to show, as the GUI thread asked for it.

    Attributes
    ----------
    generation
        Increases with every request (and with every image or model change).
    geometry
        The view.
    reference
        Also render the reference layer (for the compare views).
    epoch
        Increases when the image, a model or the precision changes (work of an older epoch
        is never reused).
    """

    generation: int
    geometry: ViewGeometry
    reference: bool = False
    epoch: int = 0
    invention: bool = False


@dataclass(frozen=True)
class TileUpdate:
    """New pixels for one tile of one layer.

    Attributes
    ----------
    generation
        The request this update belongs to.
    layer
        :data:`MAIN`, :data:`REFERENCE` or :data:`INVENTION` (whose ``rgb`` is the map as
        grey levels: 255 where the picture depends most on what the model invented).
    out_size
        (H_out, W_out) of the output grid (fixes the zoom).
    key
        The tile: a rectangle of that grid.
    rgb
        uint8 (rows, cols, 3), read-only: the whole tile as far as it has got.
    stage
        The stage of the tile's visible pixels.
    final
        Nothing more will come for the visible pixels (exact LIIF, the final downscale at
        zoom ≤ 1, or bicubic where the layer has no model).
    """

    generation: int
    layer: str
    out_size: tuple[int, int]
    key: TileKey
    rgb: np.ndarray
    stage: Stage
    final: bool


class PointRenderer(Protocol):
    """What the worker needs from a renderer (:class:`RegionRenderer` is one)."""

    def render_points(
        self,
        out_size: tuple[int, int],
        row_index: np.ndarray,
        col_index: np.ndarray,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray: ...


RendererFactory = Callable[[LIIF, np.ndarray, ByteLRU[torch.Tensor], str], PointRenderer]
InventionMap = Callable[
    [PointRenderer, tuple[int, int], tuple[int, int], tuple[int, int], Callable[[], bool]],
    np.ndarray,
]


def _invention_tile(
    renderer: PointRenderer,
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    should_stop: Callable[[], bool],
) -> np.ndarray:
    from liif_desktop.render.invention import invention_tile

    if not isinstance(renderer, RegionRenderer):
        raise TypeError("the invention map needs a RegionRenderer")
    return invention_tile(renderer, out_size, rows, cols, should_stop)


class _Layer:
    """A model slot: the model, its renderer (built lazily on the worker) and latent cache."""

    def __init__(self, model_id: str, model: LIIF | None, feature_budget: int) -> None:
        self.model_id = model_id
        self.model = model
        self.renderer: PointRenderer | None = None
        self.features: ByteLRU[torch.Tensor] = ByteLRU(feature_budget, tensor_nbytes)


class _Work:
    """A tile in progress: its pixels so far and which of them are exact."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = np.array(rgb, dtype=np.uint8, copy=True)
        self.done = np.zeros(rgb.shape[:2], dtype=bool)


@dataclass(frozen=True)
class _Step:
    layer: str
    stage: Stage
    key: TileKey
    rect: TileKey  # the part of the tile this step fills (tile-local coordinates follow)
    offscreen: bool = False  # fills the tile's off-screen part (after every visible pixel)


class ViewportController:
    """Owns the viewport's whole render lifecycle; the canvas only paints its updates.

    Parameters
    ----------
    on_update
        Called on the worker thread with a list of :class:`TileUpdate` (one list per step).
        It must not touch GUI state: emit a queued signal.
    tile_size
        Side of the tiles in output (= device) pixels; tiles are aligned to multiples of it,
        so they stay the same rectangles whatever the pan.
    feature_cache_bytes
        Budget of the latent-code cache of the main model (the reference gets half).
    tile_cache_bytes
        Budget of the finished-tile cache (all images, models and zooms).
    precision
        ``'fp32'``, ``'bf16'``, ``'fp16'`` or ``'auto'`` (measured once per machine, see
        :mod:`liif_desktop.render.precision`; resolved on the worker thread).
    coarse
        Run the half-density LIIF pass before the exact one.
    chunk_pixels
        Output pixels decoded between cancellation checks.
    feature_tile
        Side in input pixels of the latent-code tiles. A view's missing tiles are encoded
        together in a few rectangular windows (cancellable between encoder blocks), so small
        tiles cost no extra halo and keep the encoded window close to what the view needs
        (128-pixel tiles encoded twice the input of a 1280×800 view at ×4).
    renderer_factory
        Builds a renderer from (model, image, feature cache, precision); default a
        :class:`RegionRenderer`. Tests pass fakes.
    invention_map
        Computes the invention map of a rectangle from a renderer; default
        :func:`liif_desktop.render.invention.invention_tile`.
    """

    def __init__(
        self,
        on_update: Callable[[list[TileUpdate]], None],
        *,
        tile_size: int = 256,
        feature_cache_bytes: int = 512 << 20,
        tile_cache_bytes: int = 256 << 20,
        precision: str = "fp32",
        coarse: bool = True,
        chunk_pixels: int = 2048,
        feature_tile: int = 32,
        renderer_factory: RendererFactory | None = None,
        invention_map: InventionMap | None = None,
    ) -> None:
        if tile_size < 1:
            raise ValueError(f"tile size must be positive, got {tile_size}")
        if feature_tile < 1:
            raise ValueError(f"latent-code tile size must be positive, got {feature_tile}")
        if precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"unknown precision {precision!r}")
        self._on_update = on_update
        self.tile_size = int(tile_size)
        self.coarse = bool(coarse)
        self.chunk_pixels = int(chunk_pixels)
        self.feature_tile = int(feature_tile)
        self._requested_precision = precision
        self._precision: Precision | None = None if precision == "auto" else precision  # type: ignore[assignment]
        self._factory = renderer_factory or self._region_renderer
        self._invention = invention_map or _invention_tile
        self._feature_budget = int(feature_cache_bytes)
        self._cond = threading.Condition()
        self._generation = 0
        self._epoch = 0
        self._request: ViewRequest | None = None
        self._served = 0  # the generation the worker finished serving
        self._busy = False
        self._stopping = False
        self._image_id: str | None = None
        self._image: np.ndarray | None = None
        self._preview: SourcePreview | None = None
        self._layers: dict[str, _Layer] = {MAIN: _Layer("", None, self._feature_budget)}
        self._tiles = TileCache(tile_cache_bytes)
        self._works: OrderedDict[TileCacheKey, _Work] = OrderedDict()
        self._visible_keys: tuple[TileKey, ...] = ()
        self._final: set[TileKey] = set()
        self.last_error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="liif-viewport", daemon=True)
        self._worker.start()

    # -- state the GUI reads -----------------------------------------------------------
    @property
    def generation(self) -> int:
        """The generation of the newest request; updates of older ones are stale."""
        return self._generation

    @property
    def precision(self) -> str | None:
        """The precision the model runs at (None until ``'auto'`` has been measured)."""
        return self._precision

    def progress(self) -> tuple[int, int]:
        """(final main-layer tiles, tiles) of the newest view."""
        with self._cond:
            return len(self._final), len(self._visible_keys)

    @property
    def tile_cache(self) -> TileCache:
        """Finished tiles (and zoom ≤ 1 downscales)."""
        return self._tiles

    @property
    def feature_cache(self) -> ByteLRU[torch.Tensor]:
        """Latent codes of the main model for the current image."""
        return self._layers[MAIN].features

    @property
    def feature_cache_budget(self) -> int:
        return self._feature_budget

    @feature_cache_budget.setter
    def feature_cache_budget(self, value: int) -> None:
        self._feature_budget = int(value)
        for name, layer in self._layers.items():
            layer.features.budget_bytes = self._feature_budget // (1 if name == MAIN else 2)

    @property
    def feature_cache_used(self) -> int:
        return sum(layer.features.used_bytes for layer in self._layers.values())

    @property
    def tile_cache_budget(self) -> int:
        return self._tiles.budget_bytes

    @tile_cache_budget.setter
    def tile_cache_budget(self, value: int) -> None:
        self._tiles.budget_bytes = int(value)

    @property
    def tile_cache_used(self) -> int:
        return self._tiles.used_bytes

    def model(self, layer: str = MAIN) -> LIIF | None:
        """The model of a layer (None: bicubic)."""
        slot = self._layers.get(layer)
        return slot.model if slot is not None else None

    # -- inputs (GUI thread) ------------------------------------------------------------
    def set_image(self, image_id: str, image: np.ndarray) -> None:
        """Show another image: (H, W, 3) float32 RGB in [0, 1]. Cancels all work.

        Setting an id again means its pixels changed: its tiles are dropped.
        """
        preview = SourcePreview(image)
        image = np.ascontiguousarray(image, dtype=np.float32)
        with self._cond:
            if image_id == self._image_id:
                self._tiles.clear()
            self._image_id, self._image, self._preview = image_id, image, preview
            for name, layer in list(self._layers.items()):
                self._layers[name] = _Layer(
                    layer.model_id, layer.model, layer.features.budget_bytes
                )
            self._invalidate()

    def set_model(self, model_id: str, model: LIIF | None) -> None:
        """Refine with another model (None: bicubic placeholders are final). Cancels work."""
        self._set_layer(MAIN, model_id, model)

    def set_reference_model(self, model_id: str | None, model: LIIF | None) -> None:
        """The model the compare views show (None: bicubic)."""
        self._set_layer(REFERENCE, model_id or BICUBIC_ID, model)

    def _set_layer(self, name: str, model_id: str, model: LIIF | None) -> None:
        with self._cond:
            old = self._layers.get(name)
            if old is not None and old.model_id == model_id and old.model is model:
                return
            if old is not None and old.model_id == model_id:  # same id, new weights
                self._tiles.clear()
            budget = self._feature_budget // (1 if name == MAIN else 2)
            self._layers[name] = _Layer(model_id, model, budget)
            self._invalidate()

    def set_precision(self, precision: str) -> None:
        """Run the models at another precision (``'auto'`` is measured). Cancels work."""
        if precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"unknown precision {precision!r}")
        with self._cond:
            if precision == self._requested_precision:
                return
            self._requested_precision = precision
            self._precision = None if precision == "auto" else precision  # type: ignore[assignment]
            self._tiles.clear()
            for name, layer in list(self._layers.items()):
                self._layers[name] = _Layer(
                    layer.model_id, layer.model, layer.features.budget_bytes
                )
            self._invalidate()

    def _invalidate(self) -> None:
        # With the lock held: every tile in progress belongs to the old image/model.
        self._works.clear()
        self._generation += 1
        self._epoch += 1
        if self._request is not None:
            old = self._request
            self._request = ViewRequest(
                self._generation, old.geometry, old.reference, self._epoch, old.invention
            )
        self._final = set()
        self._cond.notify_all()

    def request_view(
        self, geometry: ViewGeometry, reference: bool = False, invention: bool = False
    ) -> ViewRequest:
        """Show ``geometry`` (with the reference layer when ``reference``, the invention map
        when ``invention``); returns at once.

        Raises
        ------
        ValueError
            When the view is of another image size than the current image.
        """
        with self._cond:
            preview = self._preview
            if preview is not None and geometry.image_size != preview.image_size:
                raise ValueError(
                    f"view is of a {geometry.image_size} image, the image is {preview.image_size}"
                )
            self._generation += 1
            request = ViewRequest(
                self._generation, geometry, bool(reference), self._epoch, bool(invention)
            )
            self._request = request
            self._visible_keys = tuple(geometry.visible_tiles(self.tile_size))
            self._final = set()
            self._cond.notify_all()
        return request

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the newest request is served (for scripts, tests and benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._stopping or (not self._busy and self._served == self._generation),
                timeout,
            )

    def shutdown(self) -> None:
        """Stop the worker (a running step stops at its next chunk); idempotent."""
        with self._cond:
            self._stopping = True
            self._generation += 1
            self._cond.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join()

    # -- the worker ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._served != self._generation)
                if self._stopping:
                    return
                request = self._request
                if request is None or request.generation != self._generation:
                    self._served = self._generation  # image/model set before any view
                    self._cond.notify_all()
                    continue
                self._busy = True
            finished = False
            try:
                finished = self._serve(request)
            except Exception as exc:  # keep the worker alive; the GUI shows last_error
                log.exception("serving %s failed", request)
                self.last_error = exc
                finished = True
            with self._cond:
                self._busy = False
                if finished and request.generation == self._generation:
                    self._served = request.generation
                self._cond.notify_all()

    def _superseded(self, request: ViewRequest) -> bool:
        return self._generation != request.generation

    def _serve(self, request: ViewRequest) -> bool:
        """Serve ``request``; False when a newer one superseded it before the end."""
        with self._cond:
            image_id, image, preview = self._image_id, self._image, self._preview
            layers = {MAIN: self._layers[MAIN]}
            if request.reference:
                layers[REFERENCE] = self._layers.get(REFERENCE) or _Layer(BICUBIC_ID, None, 0)
        geometry = request.geometry
        if image_id is None or image is None or preview is None:
            return True
        if self._precision is None:  # measured once, so the status bar can show it early
            models = [layer.model for layer in layers.values() if layer.model is not None]
            if models:
                self._resolve_precision(models[0])
        keys = geometry.visible_tiles(self.tile_size)
        visible = geometry.visible_rect()
        out_size = geometry.out_size
        downscale = geometry.zoom <= 1
        for name, layer in layers.items():
            updates = [
                self._placeholder(request, name, layer, image_id, preview, key, visible, downscale)
                for key in keys
            ]
            if not self._deliver(request, updates):
                return False
        invention = request.invention and geometry.zoom > INVENTION_MIN_ZOOM
        steps = list(self._steps(layers, keys, visible, downscale, invention))
        prefetched: dict[tuple[str, bool], int] = {}
        for step in steps:
            if self._superseded(request):
                return False
            if step.layer == INVENTION:
                update = self._run_invention_step(request, step, layers[MAIN], image, image_id)
                if update is not None and not self._deliver(request, [update], step):
                    return False
                continue
            layer = layers[step.layer]
            # Latent codes first, in as few windows as possible: the first visible step's
            # own (so a pixel shows soon after a jump, however heavy the encoder), then the
            # rest of the visible part's before the layer's second step, the edge tiles'
            # off-screen parts before its first off-screen step (so they never delay the
            # visible pixels).
            phase = (step.layer, step.offscreen)
            seen = prefetched[phase] = prefetched.get(phase, 0) + 1
            region: TileKey | None = None
            if step.offscreen:
                region = _union(keys) if seen == 1 else None
            elif seen == 1:
                region = _intersect(step.key, visible)
            elif seen == 2:
                region = visible
            if region is not None and not self._prefetch(request, layer, image, region):
                return False
            ck = TileCacheKey(image_id, layer.model_id, out_size, step.key)
            update = self._run_step(request, step, layer, image, ck, visible)
            if update is not None and not self._deliver(request, [update], step):
                return False
        return True

    def _steps(
        self,
        layers: dict[str, _Layer],
        keys: list[TileKey],
        visible: TileKey | None,
        downscale: bool,
        invention: bool = False,
    ) -> Iterator[_Step]:
        if downscale or visible is None:
            return
        refined = [name for name, layer in layers.items() if layer.model is not None]
        stages = [Stage.COARSE, Stage.EXACT] if self.coarse else [Stage.EXACT]
        for stage in stages:
            for name in refined:
                for key in keys:
                    part = _intersect(key, visible)
                    if part is not None:
                        yield _Step(name, stage, key, part)
        if invention and MAIN in refined:  # after the visible pixels, before the margins
            for key in keys:
                part = _intersect(key, visible)
                if part is not None:
                    yield _Step(INVENTION, Stage.EXACT, key, part)
        for name in refined:  # the tiles' off-screen parts, so they can be cached whole
            for key in keys:
                if key != _intersect(key, visible):
                    yield _Step(name, Stage.EXACT, key, key, offscreen=True)

    def _placeholder(
        self,
        request: ViewRequest,
        name: str,
        layer: _Layer,
        image_id: str,
        preview: SourcePreview,
        key: TileKey,
        visible: TileKey | None,
        downscale: bool,
    ) -> TileUpdate:
        out_size = request.geometry.out_size
        gen = request.generation
        if downscale:
            ck = TileCacheKey(image_id, DOWNSCALE_ID, out_size, key)
            rgb = self._tiles.lookup(ck)
            if rgb is None:
                rgb = preview.downscale(out_size, key)
                self._tiles.store(ck, rgb)
            return TileUpdate(gen, name, out_size, key, rgb, Stage.EXACT, True)
        if layer.model is None:
            ck = TileCacheKey(image_id, BICUBIC_ID, out_size, key)
            rgb = self._tiles.lookup(ck)
            if rgb is None:
                rgb = preview.bicubic(out_size, key)
                self._tiles.store(ck, rgb)
            return TileUpdate(gen, name, out_size, key, rgb, Stage.PLACEHOLDER, True)
        ck = TileCacheKey(image_id, layer.model_id, out_size, key)
        rgb = self._tiles.lookup(ck)
        if rgb is not None:
            return TileUpdate(gen, name, out_size, key, rgb, Stage.EXACT, True)
        with self._cond:
            work = self._works.get(ck)
            if work is not None:
                self._works.move_to_end(ck)
        if work is None:
            work = _Work(preview.bicubic(out_size, key))
            with self._cond:
                self._works[ck] = work
                while len(self._works) > MAX_TILES_IN_PROGRESS:
                    self._works.popitem(last=False)
        stage = self._stage_of(work, key, visible)
        return TileUpdate(
            gen, name, out_size, key, _snapshot(work.rgb), stage, stage == Stage.EXACT
        )

    @staticmethod
    def _stage_of(work: _Work, key: TileKey, visible: TileKey | None) -> Stage:
        part = _intersect(key, visible) if visible is not None else None
        if part is None:
            return Stage.EXACT if work.done.all() else Stage.PLACEHOLDER
        if work.done[_local(part, key)].all():
            return Stage.EXACT
        if work.done[_parity_slices(part, key)].all():
            return Stage.COARSE
        return Stage.PLACEHOLDER

    def _renderer(self, layer: _Layer, image: np.ndarray) -> PointRenderer:
        if layer.renderer is None:
            assert layer.model is not None
            if self._precision is None:
                self._resolve_precision(layer.model)
            assert self._precision is not None
            layer.renderer = self._factory(layer.model, image, layer.features, self._precision)
        return layer.renderer

    def _resolve_precision(self, model: LIIF) -> None:
        from liif_desktop.render.precision import resolve_precision

        device = next(model.parameters()).device
        self._precision = resolve_precision(self._requested_precision, device)

    def _region_renderer(
        self, model: LIIF, image: np.ndarray, features: ByteLRU[torch.Tensor], precision: str
    ) -> PointRenderer:
        renderer = RegionRenderer(
            model,
            image,
            precision=precision,  # type: ignore[arg-type]
            feature_cache_bytes=features.budget_bytes,
            feature_tile=self.feature_tile,
            max_queries=self.chunk_pixels,
        )
        renderer.features = features
        return renderer

    def _prefetch(
        self, request: ViewRequest, layer: _Layer, image: np.ndarray, region: TileKey
    ) -> bool:
        """Encode the latent codes of the whole view at once (fewer halos than tile by tile);
        False when a newer request stopped it."""
        try:
            renderer = self._renderer(layer, image)
        except Exception as exc:
            log.exception("building the renderer failed")
            self.last_error = exc
            return True
        prefetch = getattr(renderer, "prefetch", None)
        if prefetch is None:
            return True

        def stop() -> bool:
            if not self._superseded(request):
                return False
            newest = self._request
            return (
                self._stopping
                or newest is None
                or newest.epoch != request.epoch
                or newest.geometry.out_size != request.geometry.out_size
            )

        try:
            prefetch(request.geometry.out_size, region.rows, region.cols, stop)
        except Cancelled:
            return False
        return True

    def _still_wanted(self, request: ViewRequest, step: _Step) -> bool:
        """Whether the newest request still shows this step's tile at the same zoom."""
        newest = self._request
        if self._stopping or newest is None or newest.epoch != request.epoch:
            return False
        if newest.geometry.out_size != request.geometry.out_size:
            return False
        if step.layer == REFERENCE and not newest.reference:
            return False
        if step.layer == INVENTION and not newest.invention:
            return False
        return step.key in self._visible_keys

    def _run_step(
        self,
        request: ViewRequest,
        step: _Step,
        layer: _Layer,
        image: np.ndarray,
        ck: TileCacheKey,
        visible: TileKey | None,
    ) -> TileUpdate | None:
        with self._cond:
            work = self._works.get(ck)
        if work is None:  # finished meanwhile (cached) or evicted: nothing to add
            return None
        need = ~work.done[_local(step.rect, step.key)]
        if step.stage == Stage.COARSE:
            mask = np.zeros_like(need)
            mask[_parity_slices(step.rect, step.rect)] = True
            need &= mask
        if not need.any():
            return None

        def stop() -> bool:
            return self._superseded(request) and not self._still_wanted(request, step)

        try:
            renderer = self._renderer(layer, image)
            r_off = step.rect.rows[0] - step.key.rows[0]
            c_off = step.rect.cols[0] - step.key.cols[0]
            for rows, cols in _row_groups(need):
                rgb = renderer.render_points(
                    request.geometry.out_size,
                    rows + step.rect.rows[0],
                    cols + step.rect.cols[0],
                    stop,
                )
                values = to_uint8(rgb)
                lr, lc = rows + r_off, cols + c_off
                if step.stage == Stage.COARSE:
                    _fill_blocks(work, lr, lc, values)
                work.rgb[np.ix_(lr, lc)] = values
                work.done[np.ix_(lr, lc)] = True
        except Cancelled:
            return None
        complete = bool(work.done.all())
        if complete:
            with self._cond:
                current = self._works.get(ck) is work  # not if the image/model changed
                if current:
                    del self._works[ck]
            if current:
                self._tiles.store(ck, work.rgb)
            rgb_out = work.rgb
        else:
            rgb_out = _snapshot(work.rgb)
        stage = self._stage_of(work, step.key, visible)
        return TileUpdate(
            request.generation,
            step.layer,
            request.geometry.out_size,
            step.key,
            rgb_out,
            stage,
            stage == Stage.EXACT,
        )

    def _run_invention_step(
        self,
        request: ViewRequest,
        step: _Step,
        layer: _Layer,
        image: np.ndarray,
        image_id: str,
    ) -> TileUpdate | None:
        """The invention map of a tile's visible part (cached when that is the whole tile)."""
        out_size = request.geometry.out_size
        ck = TileCacheKey(image_id, INVENTION_ID + layer.model_id, out_size, step.key)
        cached = self._tiles.lookup(ck) if step.rect == step.key else None
        if cached is None:

            def stop() -> bool:
                return self._superseded(request) and not self._still_wanted(request, step)

            try:
                renderer = self._renderer(layer, image)
                values = self._invention(renderer, out_size, step.rect.rows, step.rect.cols, stop)
            except Cancelled:
                return None
            except Exception as exc:  # the overlay is an extra: the picture goes on
                log.exception("the invention map of %s failed", step.key)
                self.last_error = exc
                return None
            grey = np.clip(np.rint(np.asarray(values) * 255), 0, 255).astype(np.uint8)
            tile = np.zeros((*step.key.shape, 3), np.uint8)
            tile[_local(step.rect, step.key)] = grey[..., None]
            if step.rect == step.key:
                self._tiles.store(ck, tile)
            cached = tile
        return TileUpdate(
            request.generation, INVENTION, out_size, step.key, cached, Stage.EXACT, True
        )

    def _deliver(
        self, request: ViewRequest, updates: list[TileUpdate], step: _Step | None = None
    ) -> bool:
        """Send updates under the newest generation if they are still wanted."""
        with self._cond:
            if self._superseded(request):
                if step is None or not self._still_wanted(request, step):
                    return False
                newest = self._generation
                updates = [_regenerate(u, newest) for u in updates]
            for u in updates:
                if u.layer == MAIN and u.final and u.key in self._visible_keys:
                    self._final.add(u.key)
        if updates:
            try:
                self._on_update(updates)
            except Exception as exc:
                log.exception("on_update failed")
                self.last_error = exc
        return not self._superseded(request)


def _regenerate(update: TileUpdate, generation: int) -> TileUpdate:
    return TileUpdate(
        generation,
        update.layer,
        update.out_size,
        update.key,
        update.rgb,
        update.stage,
        update.final,
    )


def _snapshot(rgb: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    out.flags.writeable = False
    return out


def _union(keys: list[TileKey]) -> TileKey:
    rows = (min(k.rows[0] for k in keys), max(k.rows[1] for k in keys))
    cols = (min(k.cols[0] for k in keys), max(k.cols[1] for k in keys))
    return TileKey(rows, cols)


def _intersect(a: TileKey, b: TileKey | None) -> TileKey | None:
    if b is None:
        return None
    r0, r1 = max(a.rows[0], b.rows[0]), min(a.rows[1], b.rows[1])
    c0, c1 = max(a.cols[0], b.cols[0]), min(a.cols[1], b.cols[1])
    if r0 >= r1 or c0 >= c1:
        return None
    return TileKey((r0, r1), (c0, c1))


def _local(part: TileKey, key: TileKey) -> tuple[slice, slice]:
    """Slices of a tile's arrays that hold ``part`` (a rectangle of the same grid)."""
    return (
        slice(part.rows[0] - key.rows[0], part.rows[1] - key.rows[0]),
        slice(part.cols[0] - key.cols[0], part.cols[1] - key.cols[0]),
    )


def _parity_slices(part: TileKey, key: TileKey) -> tuple[slice, slice]:
    """Slices (local to ``key``) of the coarse pixels in ``part``: even global rows and cols."""
    r = part.rows[0] + (-part.rows[0]) % COARSE_STRIDE
    c = part.cols[0] + (-part.cols[0]) % COARSE_STRIDE
    return (
        slice(r - key.rows[0], part.rows[1] - key.rows[0], COARSE_STRIDE),
        slice(c - key.cols[0], part.cols[1] - key.cols[0], COARSE_STRIDE),
    )


def _row_groups(need: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Split a mask of pixels to compute into separable (rows × cols) groups.

    Rows that need the same columns form one group, so the usual shapes (a rectangle; the
    pixels left after the coarse pass) take one or two decoder calls.
    """
    groups: dict[bytes, list[int]] = {}
    for r in np.flatnonzero(need.any(axis=1)):
        groups.setdefault(need[r].tobytes(), []).append(int(r))
    for rows in groups.values():
        cols = np.flatnonzero(need[rows[0]])
        yield np.asarray(rows, dtype=np.int64), cols.astype(np.int64)


def _fill_blocks(work: _Work, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """Show each coarse sample over its stride × stride block where nothing is exact yet."""
    shape: tuple[int, ...] = tuple(work.done.shape)
    h, w = shape[0], shape[1]
    for dr in range(COARSE_STRIDE):
        for dc in range(COARSE_STRIDE):
            if dr == 0 and dc == 0:
                continue
            rsel = rows + dr < h
            csel = cols + dc < w
            rr, cc = rows[rsel] + dr, cols[csel] + dc
            if rr.size == 0 or cc.size == 0:
                continue
            block = np.ix_(rr, cc)
            open_ = ~work.done[block]
            target = work.rgb[block]
            target[open_] = values[np.ix_(rsel, csel)][open_]
            work.rgb[block] = target


__all__ = [
    "INVENTION",
    "MAIN",
    "REFERENCE",
    "PointRenderer",
    "Stage",
    "TileUpdate",
    "ViewRequest",
    "ViewportController",
]

"""The viewport render engine: visible tiles only, LIIF on one background worker thread.

The GUI thread calls :meth:`ViewportEngine.update_view` on every pan, zoom or resize. It bumps
the generation, answers at once with a :class:`ViewPlan` (cached LIIF tiles, exact downscales
at zoom ≤ 1, bicubic placeholders elsewhere) and queues the missing LIIF tiles, nearest the
viewport centre first, for the worker thread. The worker delivers each finished tile of the
current generation through ``on_result`` (on the worker thread: wrap it in a queued signal).
Stale queued tiles are dropped, a stale running tile stops at its next decoder chunk, and a
stale result is never delivered (it is still cached, as its pixels are valid).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
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

PLACEHOLDER_CACHE_BYTES = 32 << 20
DOWNSCALE_ID = "\0lanczos"  # stands for the model in the cache keys of zoom ≤ 1 tiles


@dataclass(frozen=True)
class TileRequest:
    """One tile of one output grid, asked for by the view of one generation."""

    image_id: str
    model_id: str
    out_size: tuple[int, int]
    key: TileKey
    generation: int

    @property
    def cache_key(self) -> TileCacheKey:
        return TileCacheKey(self.image_id, self.model_id, self.out_size, self.key)


@dataclass(frozen=True)
class TileResult:
    """Pixels for a request.

    Attributes
    ----------
    request
        What was asked for.
    rgb
        uint8 (rows, cols, 3), read-only (it may be shared with the cache).
    refined
        True for a LIIF tile (or the exact downscale at zoom ≤ 1); False for a bicubic
        placeholder that a LIIF tile will replace.
    """

    request: TileRequest
    rgb: np.ndarray
    refined: bool


@dataclass(frozen=True)
class ViewPlan:
    """What to draw at once after a view change: one result per visible tile."""

    generation: int
    geometry: ViewGeometry
    tiles: list[TileResult]

    @property
    def pending(self) -> int:
        """Tiles still to be refined."""
        return sum(not t.refined for t in self.tiles)


class TileRenderer(Protocol):
    """What the worker needs from a renderer (:class:`RegionRenderer` is one)."""

    def render(
        self,
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray: ...


RendererFactory = Callable[[LIIF, np.ndarray, ByteLRU[torch.Tensor]], TileRenderer]


def encode_features(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    should_stop: Callable[[], bool],
) -> None:
    """Encode the feature tiles a rectangle needs one at a time, polling ``should_stop``.

    ``RegionRenderer.render`` only polls between decoder chunks, so a tile in a new area would
    otherwise be deaf to cancellation while its whole input window is encoded.

    Raises
    ------
    liif_desktop.model.decoder.Cancelled
        When ``should_stop`` returns True between feature tiles.
    """
    win_rows, win_cols = renderer.lr_window(out_size, rows, cols)
    t = renderer.feature_tile
    for ty in range(win_rows[0] // t, (win_rows[1] - 1) // t + 1):
        for tx in range(win_cols[0] // t, (win_cols[1] - 1) // t + 1):
            if (ty, tx) in renderer.features:
                continue
            if should_stop():
                raise Cancelled
            renderer.feature_tile_at(ty, tx, should_stop)


class _Job:
    """The tile the worker is rendering; ``request`` moves to a newer generation when the
    new view still shows the tile (so a pan does not throw away a tile that is still wanted)."""

    def __init__(self, request: TileRequest) -> None:
        self.request = request


class ViewportEngine:
    """Renders the visible tiles of a view with LIIF on one worker thread.

    Parameters
    ----------
    on_result
        Called on the worker thread with each finished LIIF tile of the current generation.
        It must not touch GUI or shared state (emit a queued signal). The receiver should still
        compare ``result.request.generation`` with :attr:`generation`, as the view may have
        changed while the signal was queued.
    tile_size
        Side of the viewport tiles in output (= device) pixels.
    feature_cache_bytes
        Budget of the latent-code cache of the current (image, model).
    tile_cache_bytes
        Budget of the rendered-tile cache (all images, models and zooms).
    precision
        Decoder precision, see :class:`RegionRenderer`.
    chunk_pixels
        Output pixels decoded between cancellation checks (bounds how long a stale tile runs).
    feature_tile
        Side in input pixels of the feature tiles (encoded one at a time between cancellation
        checks; smaller ones stop sooner but cost more halo).
    renderer_factory
        Builds the renderer for an (model, image, feature cache); default: a
        :class:`RegionRenderer` using that cache. Tests pass instrumented renderers.
    on_tile_start
        Called on the worker thread as it starts rendering a request (instrumentation).
    """

    def __init__(
        self,
        on_result: Callable[[TileResult], None],
        *,
        tile_size: int = 256,
        feature_cache_bytes: int = 512 << 20,
        tile_cache_bytes: int = 256 << 20,
        precision: str = "fp32",
        chunk_pixels: int = 4096,
        feature_tile: int = 128,
        renderer_factory: RendererFactory | None = None,
        on_tile_start: Callable[[TileRequest], None] | None = None,
    ) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"unknown precision {precision!r}; use 'fp32', 'bf16' or 'fp16'")
        if tile_size < 1:
            raise ValueError(f"tile size must be positive, got {tile_size}")
        self._on_result = on_result
        self.tile_size = int(tile_size)
        self.precision: Precision = precision  # type: ignore[assignment]
        self.chunk_pixels = int(chunk_pixels)
        self.feature_tile = int(feature_tile)
        self._on_tile_start = on_tile_start
        self._factory = renderer_factory or self._region_renderer
        self._cond = threading.Condition()
        self._generation = 0
        self._queue: list[TileRequest] = []
        self._job: _Job | None = None
        self._refined: set[TileKey] = set()
        self._visible = 0
        self._image_id: str | None = None
        self._image: np.ndarray | None = None
        self._preview: SourcePreview | None = None
        self._model_id = ""
        self._model: LIIF | None = None
        self._renderer: TileRenderer | None = None
        self._features: ByteLRU[torch.Tensor] = ByteLRU(feature_cache_bytes, tensor_nbytes)
        self._tiles = TileCache(tile_cache_bytes)
        self._placeholders = TileCache(PLACEHOLDER_CACHE_BYTES)
        self._stopping = False
        self.last_error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="liif-viewport", daemon=True)
        self._worker.start()

    # -- state the GUI reads -----------------------------------------------------------
    @property
    def generation(self) -> int:
        """The generation of the current view; results of older ones are stale."""
        return self._generation

    def progress(self) -> tuple[int, int]:
        """(refined tiles of the current generation, visible tiles)."""
        with self._cond:
            return len(self._refined), self._visible

    @property
    def feature_cache(self) -> ByteLRU[torch.Tensor]:
        """Latent codes of the current (image, model), by feature tile."""
        return self._features

    @property
    def tile_cache(self) -> TileCache:
        """Rendered LIIF tiles (and zoom ≤ 1 downscales)."""
        return self._tiles

    @property
    def feature_cache_budget(self) -> int:
        return self._features.budget_bytes

    @feature_cache_budget.setter
    def feature_cache_budget(self, value: int) -> None:
        self._features.budget_bytes = int(value)

    @property
    def feature_cache_used(self) -> int:
        return self._features.used_bytes

    @property
    def tile_cache_budget(self) -> int:
        return self._tiles.budget_bytes

    @tile_cache_budget.setter
    def tile_cache_budget(self, value: int) -> None:
        self._tiles.budget_bytes = int(value)

    @property
    def tile_cache_used(self) -> int:
        return self._tiles.used_bytes

    # -- inputs ------------------------------------------------------------------------
    def set_image(self, image_id: str, image: np.ndarray) -> None:
        """Show another image: (H, W, 3) float32 RGB in [0, 1].

        Cancels all work. Setting an id again means its pixels changed: its tiles are dropped.
        """
        preview = SourcePreview(image)
        image = np.ascontiguousarray(image, dtype=np.float32)
        with self._cond:
            if image_id == self._image_id:
                self._tiles.clear()
                self._placeholders.clear()
            self._image_id, self._image, self._preview = image_id, image, preview
            self._reset_renderer()

    def set_model(self, model_id: str, model: LIIF | None) -> None:
        """Use another model (None: placeholders only above zoom 1). Cancels all work."""
        with self._cond:
            if model_id == self._model_id and model is self._model:
                return
            if model_id == self._model_id:
                self._tiles.clear()
            self._model_id, self._model = model_id, model
            self._reset_renderer()

    def _reset_renderer(self) -> None:
        # Called with the lock held. The worker may still hold the old renderer for a moment
        # (its job is now stale), so it gets a fresh feature cache rather than a cleared one.
        self._renderer = None
        self._features = ByteLRU(self._features.budget_bytes, tensor_nbytes)
        self._generation += 1
        self._queue.clear()
        self._refined.clear()
        self._visible = 0

    # -- the view ----------------------------------------------------------------------
    def update_view(self, geometry: ViewGeometry) -> ViewPlan:
        """Switch to a new view; returns at once with something to draw for every tile.

        Bumps the generation, drops queued tiles the new view does not need, lets a running
        tile finish only if the new view still shows it, and queues the missing LIIF tiles
        nearest the viewport centre first.
        """
        keys = geometry.visible_tiles(self.tile_size)
        out_size = geometry.out_size
        with self._cond:
            self._generation += 1
            generation = self._generation
            preview, image_id, model_id = self._preview, self._image_id, self._model_id
            if preview is None or image_id is None:
                self._queue.clear()
                self._refined.clear()
                self._visible = 0
                return ViewPlan(generation, geometry, [])
            if geometry.image_size != preview.image_size:
                raise ValueError(
                    f"view is of a {geometry.image_size} image, engine has {preview.image_size}"
                )
            requests = [TileRequest(image_id, model_id, out_size, k, generation) for k in keys]
            downscale = geometry.zoom <= 1
            # Look cached tiles up before the worker sees the new queue: its new tiles could
            # otherwise evict them between the queueing and the lookup.
            cached = [self._cached(r, downscale) for r in requests]
            wanted: list[TileRequest] = []
            if not downscale and self._model is not None:
                wanted = [r for r, rgb in zip(requests, cached, strict=True) if rgb is None]
            job = self._job
            if job is not None:
                running = job.request.cache_key
                adopt = next((r for r in wanted if r.cache_key == running), None)
                if adopt is not None:
                    job.request = adopt
                    wanted.remove(adopt)
            self._queue = wanted
            self._refined = {
                r.key for r, rgb in zip(requests, cached, strict=True) if rgb is not None
            }
            self._visible = len(requests)
            self._cond.notify_all()

        tiles = []
        for request, rgb in zip(requests, cached, strict=True):
            if rgb is not None:
                tiles.append(TileResult(request, rgb, True))
            elif downscale:
                rgb = preview.downscale(request.out_size, request.key)
                self._tiles.store(self._cache_key(request, downscale), rgb)
                tiles.append(TileResult(request, rgb, True))
            else:
                tiles.append(TileResult(request, self._placeholder(request, preview), False))
        if downscale:
            with self._cond:
                if self._generation == generation:
                    self._refined.update(t.request.key for t in tiles)
        return ViewPlan(generation, geometry, tiles)

    @staticmethod
    def _cache_key(request: TileRequest, downscale: bool) -> TileCacheKey:
        if downscale:  # a downscale does not depend on the model
            return replace(request.cache_key, model_id=DOWNSCALE_ID)
        return request.cache_key

    def _cached(self, request: TileRequest, downscale: bool) -> np.ndarray | None:
        if not downscale and self._model is None:
            return None
        return self._tiles.lookup(self._cache_key(request, downscale))

    def _placeholder(self, request: TileRequest, preview: SourcePreview) -> np.ndarray:
        ck = replace(request.cache_key, model_id="")
        rgb = self._placeholders.lookup(ck)
        if rgb is None:
            rgb = preview.bicubic(request.out_size, request.key)
            self._placeholders.store(ck, rgb)
        return rgb

    def preview_tile(self, out_size: tuple[int, int], key: TileKey) -> np.ndarray:
        """Bicubic uint8 (rows, cols, 3) tile of the current image (for the compare view)."""
        preview = self._preview
        if preview is None:
            raise RuntimeError("no image set")
        return preview.bicubic(out_size, key)

    # -- the worker --------------------------------------------------------------------
    def _region_renderer(
        self, model: LIIF, image: np.ndarray, features: ByteLRU[torch.Tensor]
    ) -> TileRenderer:
        renderer = RegionRenderer(
            model,
            image,
            precision=self.precision,
            feature_cache_bytes=features.budget_bytes,
            feature_tile=self.feature_tile,
            max_queries=self.chunk_pixels,
        )
        renderer.features = features
        return renderer

    def _next_job(self) -> tuple[_Job, TileRenderer | None, np.ndarray | None] | None:
        """Wait for the next request (None on shutdown) and the renderer for it."""
        with self._cond:
            while not self._stopping and not self._queue:
                self._cond.wait()
            if self._stopping:
                return None
            request = self._queue.pop(0)
            job = _Job(request)
            self._job = job
            cached = self._tiles.lookup(request.cache_key)
            if cached is not None:
                return job, None, cached
            if (
                self._renderer is None
                and self._model is not None
                and self._image is not None
                and request.image_id == self._image_id
                and request.model_id == self._model_id
            ):
                model, image, features = self._model, self._image, self._features
            else:
                return job, self._renderer, None
        # Built outside the lock: the GUI thread must never wait on the worker.
        try:
            renderer = self._factory(model, image, features)
        except Exception as exc:
            log.exception("building the renderer for %s failed", request)
            self.last_error = exc
            return job, None, None
        with self._cond:
            if features is self._features:
                self._renderer = renderer
        return job, renderer, None

    def _run(self) -> None:
        while True:
            got = self._next_job()
            if got is None:
                return
            job, renderer, rgb = got

            def stale(job: _Job = job) -> bool:
                return job.request.generation != self._generation

            if rgb is None and renderer is not None and not stale():
                request = job.request
                try:
                    if self._on_tile_start is not None:
                        self._on_tile_start(request)
                    rows, cols = request.key.rows, request.key.cols
                    if isinstance(renderer, RegionRenderer):
                        encode_features(renderer, request.out_size, rows, cols, stale)
                    rgb = to_uint8(renderer.render(request.out_size, rows, cols, stale))
                except Cancelled:
                    rgb = None
                except Exception as exc:  # keep the worker alive; the GUI can show last_error
                    log.exception("rendering tile %s failed", request)
                    self.last_error = exc
                    rgb = None
                if rgb is not None:
                    self._tiles.store(request.cache_key, rgb)
            with self._cond:
                self._job = None
                request = job.request
                deliver = rgb is not None and not stale()
                if deliver:
                    self._refined.add(request.key)
                self._cond.notify_all()
            if deliver and rgb is not None:
                try:
                    self._on_result(TileResult(request, rgb, True))
                except Exception as exc:
                    log.exception("on_result failed for %s", request)
                    self.last_error = exc

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and nothing runs (for scripts and benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._stopping or (not self._queue and self._job is None), timeout
            )

    def shutdown(self) -> None:
        """Stop the worker (a running tile stops at its next chunk); idempotent."""
        with self._cond:
            self._stopping = True
            self._generation += 1
            self._queue.clear()
            self._cond.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join()


__all__ = [
    "TileRenderer",
    "TileRequest",
    "TileResult",
    "ViewPlan",
    "ViewportEngine",
    "encode_features",
]

"""Plans views off the GUI thread: asks the engines for a view's tiles and makes QImages.

:meth:`ViewportEngine.update_view` resamples a bicubic placeholder for every tile it has no
LIIF tile for; on a large image that is tens of milliseconds, too long for the GUI thread.
The canvas hands each new view to a :class:`ViewPlanner`, keeps drawing the tiles it has
(rescaled to the new view) and swaps in the plan when the planner's queued signal brings it.
Only the newest view waiting is planned: a view superseded before its turn is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtGui import QImage

from liif_desktop.render.engine import TileResult, ViewportEngine
from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.ui.image_loading import array_to_qimage

log = logging.getLogger(__name__)
BICUBIC_CACHE_TILES = 192  # about 36 MB of 256² tiles: a 4K view holds ~135


@dataclass
class Tile:
    """A tile ready to paint: the engine's pixels and the QImage made from them."""

    rgb: np.ndarray
    image: QImage
    refined: bool


def tile_image(rgb: np.ndarray, device_pixel_ratio: float) -> QImage:
    """A uint8 tile as a QImage drawn one pixel per device pixel."""
    image = array_to_qimage(rgb)
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


@dataclass(frozen=True)
class PlanRequest:
    """A view to plan.

    Attributes
    ----------
    seq
        Increases with every view the canvas asks for.
    epoch
        Changes when the image or model changes (plans of an older epoch are dropped).
    geometry
        The view.
    reference
        ``'none'``, ``'bicubic'`` (compare against bicubic) or ``'engine'`` (against a
        second model, whose engine then gets the view too).
    """

    seq: int
    epoch: int
    geometry: ViewGeometry
    reference: str = "none"


@dataclass(frozen=True)
class PlannedView:
    """The tiles of a planned view, for the main engine and for the reference."""

    request: PlanRequest
    generation: int
    tiles: dict[TileKey, Tile]
    reference_generation: int
    reference: dict[TileKey, Tile]


class _Converter:
    """Turns results into Tiles, reusing the QImage of a tile the engine handed back again."""

    def __init__(self) -> None:
        self._last: dict[TileKey, Tile] = {}
        self._out_size: tuple[int, int] | None = None

    def convert(self, results: list[TileResult], geometry: ViewGeometry) -> dict[TileKey, Tile]:
        same = self._out_size == geometry.out_size
        dpr = geometry.device_pixel_ratio
        tiles: dict[TileKey, Tile] = {}
        for r in results:
            key = r.request.key
            prev = self._last.get(key) if same else None
            if prev is not None and prev.rgb is r.rgb and prev.image.devicePixelRatio() == dpr:
                tiles[key] = prev
            else:
                tiles[key] = Tile(r.rgb, tile_image(r.rgb, dpr), r.refined)
        self._last, self._out_size = tiles, geometry.out_size
        return tiles


class ViewPlanner:
    """One background thread that plans the newest requested view.

    Parameters
    ----------
    engine
        The main engine.
    deliver
        Called on the planner thread with each :class:`PlannedView` (emit a queued signal).
    """

    def __init__(self, engine: ViewportEngine, deliver: Callable[[PlannedView], None]) -> None:
        self._engine = engine
        self._reference_engine: ViewportEngine | None = None
        self._deliver = deliver
        self._cond = threading.Condition()
        self._pending: PlanRequest | None = None
        self._busy = False
        self._stopping = False
        self._main = _Converter()
        self._ref = _Converter()
        self._bicubic: dict[tuple[int, tuple[int, int], TileKey, float], Tile] = {}
        self._thread = threading.Thread(target=self._run, name="liif-view-planner", daemon=True)
        self._thread.start()

    def set_reference_engine(self, engine: ViewportEngine | None) -> None:
        with self._cond:
            self._reference_engine = engine
            self._ref = _Converter()

    def request(self, request: PlanRequest) -> None:
        """Plan ``request`` next, replacing a request still waiting."""
        with self._cond:
            self._pending = request
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is waiting or being planned (for tests and scripts)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def shutdown(self) -> None:
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._pending is None:
                    self._cond.wait()
                if self._stopping:
                    return
                request = self._pending
                assert request is not None
                self._pending = None
                reference_engine = self._reference_engine
                self._busy = True
            try:
                planned = self._plan(request, reference_engine)
            except Exception:  # a view of an image replaced meanwhile; a newer one follows
                log.debug("planning %s failed", request, exc_info=True)
                planned = None
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            if planned is not None:
                self._deliver(planned)

    def _plan(
        self, request: PlanRequest, reference_engine: ViewportEngine | None
    ) -> PlannedView | None:
        geom = request.geometry
        plan = self._engine.update_view(geom)
        tiles = self._main.convert(plan.tiles, geom)
        reference: dict[TileKey, Tile] = {}
        reference_generation = 0
        if reference_engine is not None:
            if request.reference == "engine":
                ref_plan = reference_engine.update_view(geom)
                reference = self._ref.convert(ref_plan.tiles, geom)
                reference_generation = ref_plan.generation
            else:  # an empty view drops the reference engine's queued work
                reference_engine.update_view(replace(geom, viewport=(0, 0)))
        if request.reference == "bicubic":
            reference = {key: self._bicubic_tile(request.epoch, geom, key) for key in tiles}
        return PlannedView(request, plan.generation, tiles, reference_generation, reference)

    def _bicubic_tile(self, epoch: int, geom: ViewGeometry, key: TileKey) -> Tile:
        cache_key = (epoch, geom.out_size, key, geom.device_pixel_ratio)
        tile = self._bicubic.get(cache_key)
        if tile is None:
            if len(self._bicubic) >= BICUBIC_CACHE_TILES:
                self._bicubic.clear()
            rgb = self._engine.preview_tile(geom.out_size, key)
            tile = Tile(rgb, tile_image(rgb, geom.device_pixel_ratio), True)
            self._bicubic[cache_key] = tile
        return tile


__all__ = ["PlanRequest", "PlannedView", "Tile", "ViewPlanner", "tile_image"]

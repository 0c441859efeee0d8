"""The image canvas: continuous zoom and pan over LIIF tiles rendered in the background.

One output pixel is one device pixel. Each pan, zoom or resize sets the view at once (zoom
label, scrollbars) and hands it to the :class:`ViewportController`, which renders it on its
worker thread (placeholders, a coarse LIIF pass, then exact tiles, visible pixels first) and
sends every change back through one queued signal. The canvas only paints: it keeps the
tiles of the newest view's zoom, drops updates of older generations, and draws the tiles of
the previous zoom rescaled underneath until the new zoom's tiles cover the view.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QGestureEvent, QPinchGesture, QWidget

from liif_desktop.model.liif import LIIF
from liif_desktop.render.geometry import TileKey, ViewGeometry
from liif_desktop.render.viewport import (
    INVENTION,
    MAIN,
    REFERENCE,
    Stage,
    TileUpdate,
    ViewportController,
)
from liif_desktop.ui.image_loading import array_to_qimage

MIN_ZOOM = 0.02
MAX_ZOOM = 64.0
ZOOM_STEPS = (
    0.02, 0.05, 0.1, 0.125, 0.25, 1 / 3, 0.5, 2 / 3, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0,
    12.0, 16.0, 24.0, 32.0, 48.0, 64.0,
)  # fmt: skip
WHEEL_NOTCHES_PER_DOUBLING = 4.0
OVERLAY_OPACITY = 190  # of 255, where the invention map reaches OVERLAY_FULL
OVERLAY_FROM, OVERLAY_FULL = 0.35, 0.75  # map levels where the tint starts and is full
SPLIT_GRAB_PX = 6


@dataclass
class Tile:
    """A tile ready to paint: the controller's pixels and the QImage made from them."""

    rgb: np.ndarray
    image: QImage
    stage: Stage
    final: bool


def overlay_image(grey: np.ndarray, device_pixel_ratio: float) -> QImage:
    """An invention map tile (grey levels in channel 0) as a translucent orange overlay."""
    h, w = grey.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 255, 96, 0
    # Only the upper part of the map's range is drawn, ramping in from OVERLAY_FROM: there
    # the map marks about a fifth of a page's text area (benchmarks/invention.py), which is
    # where most misread characters fall; a faint tint everywhere else would hide the picture.
    level = grey[..., 0].astype(np.float32) / 255.0
    ramp = np.clip((level - OVERLAY_FROM) / (OVERLAY_FULL - OVERLAY_FROM), 0.0, 1.0)
    rgba[..., 3] = np.rint(ramp * OVERLAY_OPACITY).astype(np.uint8)
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


def tile_image(rgb: np.ndarray, device_pixel_ratio: float) -> QImage:
    """A uint8 tile as a QImage drawn one pixel per device pixel."""
    image = array_to_qimage(rgb)
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


class CompareMode(enum.Enum):
    """How the reference (bicubic or a second model) is shown against the LIIF tiles."""

    OFF = "off"
    SWAP = "swap"  # the whole view shows the reference
    SPLIT = "split"  # reference left of the divider, LIIF right of it


class FitMode(enum.Enum):
    NONE = "none"
    WINDOW = "window"
    WIDTH = "width"


class ImageCanvas(QAbstractScrollArea):
    """Shows one image through LIIF at any zoom.

    Signals
    -------
    zoomChanged(float)
        Output (device) pixels per source pixel.
    cursorMoved(object)
        ``(x, y)`` in source pixels under the mouse, or None outside the image.
    progressChanged(int, int)
        (refined, visible) tiles of the current view.
    stageChanged(object)
        The lowest :class:`Stage` over the view's visible tiles (placeholder, coarse, exact).
    viewRefined()
        Every visible tile is now a LIIF tile.
    selectionChanged(object)
        The selection as a QRectF in source pixels, or None.
    """

    zoomChanged = Signal(float)
    cursorMoved = Signal(object)
    progressChanged = Signal(int, int)
    stageChanged = Signal(object)
    viewRefined = Signal()
    selectionChanged = Signal(object)
    _updatesArrived = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        tile_size: int = 256,
        feature_cache_bytes: int = 512 << 20,
        tile_cache_bytes: int = 256 << 20,
        precision: str = "fp32",
    ) -> None:
        super().__init__(parent)
        self.tile_size = tile_size
        self.controller = ViewportController(
            self._updatesArrived.emit,
            tile_size=tile_size,
            feature_cache_bytes=feature_cache_bytes,
            tile_cache_bytes=tile_cache_bytes,
            precision=precision,
        )
        self._updatesArrived.connect(self._on_updates, Qt.ConnectionType.QueuedConnection)
        self._reference_model_id: str | None = None
        self._image_id: str | None = None
        self._image: np.ndarray | None = None
        self._geometry: ViewGeometry | None = None
        # Tiles of the newest view's output grid, by layer; the previous grid's main tiles
        # are drawn rescaled underneath (the backdrop) until the new ones cover the view.
        self._tiles: dict[TileKey, Tile] = {}
        self._reference_tiles: dict[TileKey, Tile] = {}
        self._overlay_tiles: dict[TileKey, QImage] = {}
        self._show_invention = False
        self._tiles_out_size: tuple[int, int] | None = None
        self._backdrop: dict[TileKey, Tile] = {}
        self._backdrop_out_size: tuple[int, int] | None = None
        self._visible_keys: list[TileKey] = []
        self._generation = -1
        self._stage: Stage | None = None
        self._has_model = False  # without one the bicubic placeholders are final
        self._refined_announced = False
        self._fit = FitMode.WINDOW
        self._compare = CompareMode.OFF
        self._split = 0.5
        self._selection: QRectF | None = None
        self._select_tool = False
        self._drag: str | None = None
        self._drag_last = QPointF()
        self._drag_start_image = QPointF()
        self._syncing_scrollbars = False
        self.wheel_zooms = True
        self.hint = "Open an image (Ctrl+O), drop one here, or paste one (Ctrl+V)"
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.horizontalScrollBar().valueChanged.connect(self._on_scrollbar_moved)
        self.verticalScrollBar().valueChanged.connect(self._on_scrollbar_moved)

    # -- inputs ------------------------------------------------------------------------
    def set_image(self, image_id: str, image: np.ndarray) -> None:
        """Show a new (H, W, 3) float32 image, fitted to the window."""
        self._image_id, self._image = image_id, image
        self.controller.set_image(image_id, image)
        self._drop_tiles()
        self._selection = None
        self.selectionChanged.emit(None)
        h, w = image.shape[:2]
        self._geometry = ViewGeometry((h, w), 1.0, (0.0, 0.0), self._viewport_device_size(), 1)
        self.fit_window()

    def set_model(self, model_id: str, model: LIIF | None) -> None:
        """Refine with another model (None: bicubic only)."""
        self.controller.set_model(model_id, model)
        self._has_model = model is not None
        self._drop_tiles(keep_backdrop=True)
        self._refresh()

    def set_reference_model(self, model_id: str | None, model: LIIF | None) -> None:
        """Compare against a second model, or against bicubic when ``model`` is None."""
        self.controller.set_reference_model(model_id if model is not None else None, model)
        self._reference_model_id = model_id if model is not None else None
        self._drop_tiles(keep_backdrop=True)
        self._refresh()

    def set_precision(self, precision: str) -> None:
        """Run the model at ``'auto'``, ``'fp32'``, ``'bf16'`` or ``'fp16'``."""
        self.controller.set_precision(precision)
        self._drop_tiles(keep_backdrop=True)
        self._refresh()

    @property
    def invention_overlay(self) -> bool:
        """Whether the "invented detail" map is drawn over the picture."""
        return self._show_invention

    def set_invention_overlay(self, on: bool) -> None:
        """Mark where the enlargement depends most on what the model invented (computed for
        the visible tiles in the background, after their exact pixels)."""
        if bool(on) == self._show_invention:
            return
        self._show_invention = bool(on)
        if not on:
            self._overlay_tiles = {}
        self._refresh()

    def overlay_complete(self) -> bool:
        """Every visible tile has its invention map (True when the overlay is off)."""
        if not self._show_invention or self._geometry is None or self._geometry.zoom <= 1:
            return True
        return all(k in self._overlay_tiles for k in self._visible_keys)

    @property
    def reference_model_id(self) -> str | None:
        """The second model compared against (None: bicubic)."""
        return self._reference_model_id

    def shutdown(self) -> None:
        """Stop the render worker (call before the app quits)."""
        self.controller.shutdown()

    def _drop_tiles(self, keep_backdrop: bool = False) -> None:
        if keep_backdrop and self._tiles:
            self._backdrop, self._backdrop_out_size = self._tiles, self._tiles_out_size
        elif not keep_backdrop:
            self._backdrop, self._backdrop_out_size = {}, None
        self._tiles, self._reference_tiles, self._tiles_out_size = {}, {}, None
        self._overlay_tiles = {}

    # -- state -------------------------------------------------------------------------
    @property
    def view(self) -> ViewGeometry | None:
        """The current view, or None without an image."""
        return self._geometry

    @property
    def zoom(self) -> float:
        return self._geometry.zoom if self._geometry is not None else 1.0

    @property
    def fit_mode(self) -> FitMode:
        return self._fit

    @property
    def compare_mode(self) -> CompareMode:
        return self._compare

    def set_compare_mode(self, mode: CompareMode) -> None:
        if mode == self._compare:
            return
        self._compare = mode
        self._refresh()

    @property
    def split_position(self) -> float:
        """Where the split divider is, as a fraction of the viewport width."""
        return self._split

    def set_split_position(self, fraction: float) -> None:
        self._split = min(1.0, max(0.0, float(fraction)))
        self.viewport().update()

    @property
    def select_tool(self) -> bool:
        """True: a plain drag selects a region (Shift+drag always does)."""
        return self._select_tool

    def set_select_tool(self, on: bool) -> None:
        self._select_tool = bool(on)
        self._update_cursor()

    def selection(self) -> QRectF | None:
        """The selected region in source pixels, or None."""
        return QRectF(self._selection) if self._selection is not None else None

    def set_selection(self, rect: QRectF | None) -> None:
        """Select a region (source pixels; clipped to the image) or clear the selection."""
        if rect is not None and self._geometry is not None:
            h, w = self._geometry.image_size
            rect = rect.normalized().intersected(QRectF(0, 0, w, h))
            if rect.width() <= 0 or rect.height() <= 0:
                rect = None
        self._selection = rect
        self.selectionChanged.emit(self.selection())
        self.viewport().update()

    def selection_region(self) -> tuple[int, int, int, int] | None:
        """The selection as whole source pixels ``(x, y, w, h)``, or None."""
        sel = self._selection
        if sel is None or self._geometry is None:
            return None
        h, w = self._geometry.image_size
        x0, y0 = max(0, math.floor(sel.left())), max(0, math.floor(sel.top()))
        x1, y1 = min(w, math.ceil(sel.right())), min(h, math.ceil(sel.bottom()))
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def progress(self) -> tuple[int, int]:
        """(final, visible) tiles of the current view."""
        tiles = self._tiles
        done = sum(1 for k in self._visible_keys if (t := tiles.get(k)) is not None and t.final)
        return done, len(self._visible_keys)

    @property
    def stage(self) -> Stage | None:
        """The lowest stage over the visible tiles (None until every tile has pixels)."""
        return self._stage

    def is_refined(self) -> bool:
        """True when the current view is complete: every visible tile final (the
        reference's too while comparing)."""
        done, total = self.progress()
        if self._geometry is None or total == 0 or done != total:
            return False
        if self._compare == CompareMode.OFF:
            return True
        ref = self._reference_tiles
        return all((t := ref.get(k)) is not None and t.final for k in self._visible_keys)

    # -- zoom and pan ------------------------------------------------------------------
    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` output pixels per source pixel, keeping the image point under
        ``anchor`` (viewport logical position; default: the centre) where it is."""
        geom = self._geometry
        if geom is None:
            return
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, float(zoom)))
        self._fit = FitMode.NONE
        ax, ay = self._anchor_device(anchor)
        self._apply(geom.zoomed_about(zoom, ax, ay))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def zoom_in(self) -> None:
        """Zoom to the next step of the zoom ladder."""
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self.zoom * 1.001), MAX_ZOOM))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.zoom / 1.001), MIN_ZOOM))

    def fit_window(self) -> None:
        """Show the whole image, as large as the viewport allows."""
        geom = self._geometry
        if geom is None:
            return
        (h, w), (vw, vh) = geom.image_size, self._viewport_device_size()
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, min(max(vw, 1) / w, max(vh, 1) / h)))
        self._fit = FitMode.WINDOW
        self._apply(replace(geom, zoom=zoom, viewport=(vw, vh)))

    def fit_width(self) -> None:
        """Fill the viewport width (for documents), keeping the top of the view."""
        geom = self._geometry
        if geom is None:
            return
        h, w = geom.image_size
        vw, vh = self._viewport_device_size()
        # Leave room for the vertical scrollbar that a tall page needs (and only then).
        bar = round(self.verticalScrollBar().sizeHint().width() * self._dpr())
        if self.verticalScrollBar().isVisible():
            vw += bar
        if h * vw / w > vh:
            vw = max(1, vw - bar)
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, vw / w))
        top = geom.origin[1] / geom.scale[1] if geom.origin[1] > 0 else 0.0
        new = replace(geom, zoom=zoom)
        self._fit = FitMode.WIDTH
        self._apply(new.with_origin(0, top * new.scale[1]))

    def actual_size(self) -> None:
        """One source pixel per device pixel."""
        self.set_zoom(1.0)

    def zoom_to_rect(self, rect: QRectF) -> None:
        """Fit a region (source pixels) into the viewport and centre it."""
        geom = self._geometry
        if geom is None or rect.width() <= 0 or rect.height() <= 0:
            return
        vw, vh = self._viewport_device_size()
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, min(vw / rect.width(), vh / rect.height())))
        self._fit = FitMode.NONE
        self._apply(self._centred(replace(geom, zoom=zoom), rect.center().x(), rect.center().y()))

    def zoom_to_selection(self) -> None:
        if self._selection is not None:
            self.zoom_to_rect(self._selection)

    def center_on(self, x: float, y: float) -> None:
        """Put source point (x, y) at the viewport centre."""
        geom = self._geometry
        if geom is None:
            return
        self._fit = FitMode.NONE
        self._apply(self._centred(geom, x, y))

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) logical pixels on screen."""
        geom = self._geometry
        if geom is None:
            return
        if self._fit == FitMode.WINDOW:
            self._fit = FitMode.NONE
        dpr = self._dpr()
        self._apply(geom.panned(dx * dpr, dy * dpr))

    def image_position(self, pos: QPointF) -> tuple[float, float] | None:
        """Source (x, y) under a viewport position (logical pixels), or None outside."""
        geom = self._geometry
        if geom is None:
            return None
        dpr = self._dpr()
        x, y = geom.screen_to_image(pos.x() * dpr, pos.y() * dpr)
        h, w = geom.image_size
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    def _centred(self, geom: ViewGeometry, x: float, y: float) -> ViewGeometry:
        sx, sy = geom.scale
        vw, vh = geom.viewport
        return geom.with_origin(x * sx - vw / 2, y * sy - vh / 2)

    def _dpr(self) -> float:
        return float(self.viewport().devicePixelRatioF())

    def _viewport_device_size(self) -> tuple[int, int]:
        dpr = self._dpr()
        vp = self.viewport()
        return max(0, round(vp.width() * dpr)), max(0, round(vp.height() * dpr))

    def _anchor_device(self, anchor: QPointF | None) -> tuple[float, float]:
        vw, vh = self._viewport_device_size()
        if anchor is None:
            return vw / 2, vh / 2
        dpr = self._dpr()
        return anchor.x() * dpr, anchor.y() * dpr

    def _refresh(self) -> None:
        if self._geometry is not None:
            self._apply(self._geometry)

    def _apply(self, geom: ViewGeometry) -> None:
        """Make ``geom`` (clamped, on whole device pixels) the view and have it rendered."""
        geom = replace(geom, viewport=self._viewport_device_size(), device_pixel_ratio=self._dpr())
        geom = geom.clamp_origin()
        geom = geom.with_origin(round(geom.origin[0]), round(geom.origin[1]))
        old = self._geometry
        self._geometry = geom
        if self._tiles_out_size is not None and self._tiles_out_size != geom.out_size:
            self._drop_tiles(keep_backdrop=True)
        self._visible_keys = geom.visible_tiles(self.tile_size)
        visible = set(self._visible_keys)
        for tiles in (self._tiles, self._reference_tiles, self._overlay_tiles):
            for key in [k for k in tiles if k not in visible]:
                del tiles[key]
        request = self.controller.request_view(
            geom, reference=self._compare != CompareMode.OFF, invention=self._show_invention
        )
        self._generation = request.generation
        self._sync_scrollbars()
        self.viewport().update()
        if old is None or old.zoom != geom.zoom:
            self.zoomChanged.emit(geom.zoom)
        self._refined_announced = False
        self._announce_progress()

    def _announce_progress(self) -> None:
        done, total = self.progress()
        self.progressChanged.emit(done, total)
        stages = [t.stage for k in self._visible_keys if (t := self._tiles.get(k)) is not None]
        stage = min(stages) if len(stages) == total and total else None
        if stage is not None and not self._has_model:
            stage = Stage.EXACT  # bicubic is all there is
        if stage != self._stage:
            self._stage = stage
            self.stageChanged.emit(stage)
        if self.is_refined() and not self._refined_announced:
            self._refined_announced = True
            self.viewRefined.emit()

    # -- updates from the controller (GUI thread, queued) ------------------------------
    def _on_updates(self, updates: list[TileUpdate]) -> None:
        geom = self._geometry
        if geom is None:
            return
        dpr = geom.device_pixel_ratio
        changed = False
        for u in updates:
            if u.generation < self._generation or u.out_size != geom.out_size:
                continue  # stale: a newer view was asked for since
            if u.layer == INVENTION:
                if self._show_invention:
                    self._overlay_tiles[u.key] = overlay_image(u.rgb, dpr)
                    self.viewport().update(self._tile_rect(u.key, u.out_size).toAlignedRect())
                continue
            tiles = self._tiles if u.layer == MAIN else self._reference_tiles
            assert u.layer in (MAIN, REFERENCE)
            tiles[u.key] = Tile(u.rgb, tile_image(u.rgb, dpr), u.stage, u.final)
            self._tiles_out_size = u.out_size
            self.viewport().update(self._tile_rect(u.key, u.out_size).toAlignedRect())
            changed = True
        if not changed:
            return
        if self._backdrop and all(k in self._tiles for k in self._visible_keys):
            self._backdrop, self._backdrop_out_size = {}, None
            self.viewport().update()
        self._announce_progress()

    # -- painting ----------------------------------------------------------------------
    def _tile_rect(self, key: TileKey, out_size: tuple[int, int]) -> QRectF:
        """Where a tile of an ``out_size`` grid goes in the current view (logical pixels)."""
        geom = self._geometry
        assert geom is not None
        dpr = geom.device_pixel_ratio
        (r0, r1), (c0, c1) = key.rows, key.cols
        if out_size == geom.out_size:
            ox, oy = geom.origin
            return QRectF((c0 - ox) / dpr, (r0 - oy) / dpr, (c1 - c0) / dpr, (r1 - r0) / dpr)
        # A tile of another zoom, shown rescaled until the new zoom's tiles arrive.
        h, w = geom.image_size
        sx, sy = out_size[1] / w, out_size[0] / h
        x0, y0 = geom.image_to_screen(c0 / sx, r0 / sy)
        x1, y1 = geom.image_to_screen(c1 / sx, r1 / sy)
        return QRectF(x0 / dpr, y0 / dpr, (x1 - x0) / dpr, (y1 - y0) / dpr)

    def _reference_image(self, key: TileKey) -> QImage | None:
        tile = self._reference_tiles.get(key)
        return tile.image if tile is not None else None

    def split_x(self) -> float:
        """The divider's x in logical viewport pixels."""
        return self._split * self.viewport().width()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        pal = self.palette()
        painter.fillRect(event.rect(), pal.color(QPalette.ColorRole.Dark))
        geom = self._geometry
        if geom is None:
            painter.setPen(pal.color(QPalette.ColorRole.BrightText))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.hint)
            return
        exposed = QRectF(event.rect())
        if self._backdrop_out_size is not None:
            for key, tile in self._backdrop.items():
                rect = self._tile_rect(key, self._backdrop_out_size)
                if rect.intersects(exposed):
                    painter.drawImage(rect, tile.image)
        out_size = geom.out_size
        for key, tile in self._tiles.items():
            rect = self._tile_rect(key, out_size)
            if not rect.intersects(exposed):
                continue
            image = tile.image
            if self._compare == CompareMode.SWAP:
                image = self._reference_image(key) or image
            painter.drawImage(rect, image)
        if self._compare == CompareMode.SPLIT:
            self._paint_split(painter, exposed)
        if self._show_invention:
            for key, overlay in self._overlay_tiles.items():
                rect = self._tile_rect(key, out_size)
                if rect.intersects(exposed):
                    painter.drawImage(rect, overlay)
        if self._selection is not None:
            self._paint_selection(painter)
        if self._compare != CompareMode.OFF:
            self._paint_compare_labels(painter)

    def _paint_split(self, painter: QPainter, exposed: QRectF) -> None:
        x = self.split_x()
        height = self.viewport().height()
        painter.save()
        painter.setClipRect(QRectF(0, 0, x, height))
        out_size = self._geometry.out_size if self._geometry is not None else (0, 0)
        for key in self._tiles:
            rect = self._tile_rect(key, out_size)
            if rect.left() < x and rect.intersects(exposed):
                image = self._reference_image(key)
                if image is not None:
                    painter.drawImage(rect, image)
        painter.restore()
        painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.drawLine(QPointF(x + 1.5, 0), QPointF(x + 1.5, height))
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.drawEllipse(QPointF(x, height / 2), 8, 8)

    def reference_label(self) -> str:
        return "Bicubic" if self._reference_model_id is None else "Reference model"

    def _paint_compare_labels(self, painter: QPainter) -> None:
        ref = self.reference_label()
        if self._compare == CompareMode.SWAP:
            labels = [(8.0, f"{ref} (compare)")]
        else:
            labels = [(8.0, ref), (self.split_x() + 8, "LIIF")]
        fm = painter.fontMetrics()
        for x, text in labels:
            rect = QRectF(x, 8, fm.horizontalAdvance(text) + 12, fm.height() + 6)
            painter.fillRect(rect, QColor(0, 0, 0, 150))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_selection(self, painter: QPainter) -> None:
        geom, sel = self._geometry, self._selection
        assert geom is not None and sel is not None
        dpr = geom.device_pixel_ratio
        x0, y0 = geom.image_to_screen(sel.left(), sel.top())
        x1, y1 = geom.image_to_screen(sel.right(), sel.bottom())
        rect = QRectF(x0 / dpr, y0 / dpr, (x1 - x0) / dpr, (y1 - y0) / dpr)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        fill = QColor(highlight)
        fill.setAlpha(40)
        painter.fillRect(rect, fill)
        pen = QPen(highlight, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)

    # -- scrollbars --------------------------------------------------------------------
    def _sync_scrollbars(self) -> None:
        geom = self._geometry
        if geom is None:
            return
        dpr = geom.device_pixel_ratio
        h_out, w_out = geom.out_size
        vw, vh = geom.viewport
        self._syncing_scrollbars = True
        try:
            for bar, size, view, origin in (
                (self.horizontalScrollBar(), w_out, vw, geom.origin[0]),
                (self.verticalScrollBar(), h_out, vh, geom.origin[1]),
            ):
                bar.setRange(0, max(0, math.ceil((size - view) / dpr)))
                bar.setPageStep(max(1, round(view / dpr)))
                bar.setSingleStep(max(1, round(view / dpr / 20)))
                bar.setValue(max(0, round(origin / dpr)))
        finally:
            self._syncing_scrollbars = False

    def _on_scrollbar_moved(self, _value: int) -> None:
        geom = self._geometry
        if self._syncing_scrollbars or geom is None:
            return
        dpr = geom.device_pixel_ratio
        x = self.horizontalScrollBar().value() * dpr if geom.out_size[1] > geom.viewport[0] else 0
        y = self.verticalScrollBar().value() * dpr if geom.out_size[0] > geom.viewport[1] else 0
        if self._fit == FitMode.WINDOW:
            self._fit = FitMode.NONE
        self._apply(geom.with_origin(x, y))

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # The view follows the scrollbars through _on_scrollbar_moved; never blit-scroll.
        pass

    # -- events ------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        geom = self._geometry
        if geom is None:
            return
        if self._fit == FitMode.WINDOW:
            self.fit_window()
        elif self._fit == FitMode.WIDTH:
            self.fit_width()
        else:
            # Keep the image point at the centre where it was.
            cx, cy = geom.screen_to_image(geom.viewport[0] / 2, geom.viewport[1] / 2)
            resized = replace(geom, viewport=self._viewport_device_size())
            self._apply(self._centred(resized, cx, cy))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._geometry is None:
            return
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if ctrl or self.wheel_zooms:
            notches = event.angleDelta().y() / 120.0
            if notches:
                self.zoom_by(2.0 ** (notches / WHEEL_NOTCHES_PER_DOUBLING), event.position())
            event.accept()
            return
        pixel = event.pixelDelta()
        if not pixel.isNull():
            dx, dy = float(pixel.x()), float(pixel.y())
        else:
            step = 3 * self.fontMetrics().height()
            dx = event.angleDelta().x() / 120.0 * step
            dy = event.angleDelta().y() / 120.0 * step
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            dx, dy = dy, dx
        self.pan_by(dx, dy)
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.NativeGesture:
            assert isinstance(event, QNativeGestureEvent)
            if event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self.zoom_by(1.0 + event.value(), event.position())
                return True
        if event.type() == QEvent.Type.Gesture:
            assert isinstance(event, QGestureEvent)
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                flags = pinch.changeFlags()
                if flags & QPinchGesture.ChangeFlag.ScaleFactorChanged:
                    centre = self.viewport().mapFromGlobal(pinch.centerPoint().toPoint())
                    self.zoom_by(pinch.scaleFactor(), QPointF(centre))
                event.accept(pinch)
                return True
        return super().viewportEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._geometry is None:
            super().mousePressEvent(event)
            return
        pos = event.position()
        if self._compare == CompareMode.SPLIT and abs(pos.x() - self.split_x()) <= SPLIT_GRAB_PX:
            self._drag = "split"
        elif self._select_tool or event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._drag = "select"
            geom = self._geometry
            dpr = geom.device_pixel_ratio
            x, y = geom.screen_to_image(pos.x() * dpr, pos.y() * dpr)
            self._drag_start_image = QPointF(x, y)
            self._selection = None
        else:
            self._drag = "pan"
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        self._drag_last = pos
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self.cursorMoved.emit(self.image_position(pos))
        geom = self._geometry
        if self._drag == "pan":
            delta = pos - self._drag_last
            self._drag_last = pos
            self.pan_by(delta.x(), delta.y())
        elif self._drag == "split":
            width = max(1, self.viewport().width())
            self.set_split_position(pos.x() / width)
        elif self._drag == "select" and geom is not None:
            dpr = geom.device_pixel_ratio
            x, y = geom.screen_to_image(pos.x() * dpr, pos.y() * dpr)
            self._selection = QRectF(self._drag_start_image, QPointF(x, y)).normalized()
            self.viewport().update()
        else:
            self._update_cursor(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag == "select":
            sel = self._selection
            zoom = self.zoom
            # A click (or a drag under 4 screen pixels) clears the selection.
            if sel is None or sel.width() * zoom < 4 or sel.height() * zoom < 4:
                sel = None
            self.set_selection(sel)
        self._update_cursor(event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._geometry is not None:
            if self._fit == FitMode.WINDOW:
                self.set_zoom(1.0, event.position())
            else:
                self.fit_window()
            event.accept()

    def leaveEvent(self, event: QEvent) -> None:
        self.cursorMoved.emit(None)
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        key = Qt.Key(event.key())
        moves: dict[Qt.Key, tuple[float, float]] = {
            Qt.Key.Key_Left: (vw / 8, 0.0),
            Qt.Key.Key_Right: (-vw / 8, 0.0),
            Qt.Key.Key_Up: (0.0, vh / 8),
            Qt.Key.Key_Down: (0.0, -vh / 8),
            Qt.Key.Key_PageUp: (0.0, vh * 0.9),
            Qt.Key.Key_PageDown: (0.0, -vh * 0.9),
        }
        if key in moves:
            self.pan_by(*moves[key])
        elif key == Qt.Key.Key_Home and self._geometry is not None:
            self._apply(self._geometry.with_origin(self._geometry.origin[0], 0))
        elif key == Qt.Key.Key_End and self._geometry is not None:
            self._apply(self._geometry.with_origin(self._geometry.origin[0], 1e12))
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _update_cursor(self, pos: QPointF | None = None) -> None:
        if pos is not None and self._compare == CompareMode.SPLIT:
            if abs(pos.x() - self.split_x()) <= SPLIT_GRAB_PX:
                self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
                return
        if self._select_tool:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)


__all__ = ["MAX_ZOOM", "MIN_ZOOM", "ZOOM_STEPS", "CompareMode", "FitMode", "ImageCanvas"]

"""Viewport geometry: which tiles of which output grid a view shows, and screen ↔ image maps.

One output pixel is drawn as one device pixel, so a view at zoom ``z`` shows a window of the
``out_size`` grid (``round(H*z)``, ``round(W*z)``) starting at ``origin``. The output grid
spans the same extent as the source image, so the exact scale along each axis is
``W_out / W`` and ``H_out / H`` (which differ slightly from ``zoom`` after rounding); the
coordinate maps use those exact scales, matching the pixel-centre convention of the
LIIF output grids (pixel ``j`` of ``W_out`` is centred on source ``x = (j + 0.5) * W / W_out``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, order=True)
class TileKey:
    """A half-open rectangle of an output grid.

    Attributes
    ----------
    rows, cols
        Half-open output-grid pixel ranges ``(start, stop)``.
    """

    rows: tuple[int, int]
    cols: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) in pixels."""
        return self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]

    @property
    def centre(self) -> tuple[float, float]:
        """(x, y) of the rectangle's centre in output-grid pixels."""
        return (self.cols[0] + self.cols[1]) / 2, (self.rows[0] + self.rows[1]) / 2


@dataclass(frozen=True)
class ViewGeometry:
    """What a viewport shows: an image at a zoom, panned, in a viewport of some size.

    Attributes
    ----------
    image_size
        (H, W) of the source image in pixels.
    zoom
        Output pixels per source pixel (> 0, any real number).
    origin
        (x, y): the output-grid position at the viewport's top-left corner (may be negative or
        fractional: the image is then offset or centred inside the viewport).
    viewport
        (width, height) of the viewport in device pixels.
    device_pixel_ratio
        Device pixels per logical (Qt) pixel; the UI divides device positions by it to paint.
    """

    image_size: tuple[int, int]
    zoom: float
    origin: tuple[float, float]
    viewport: tuple[int, int]
    device_pixel_ratio: float = 1.0

    def __post_init__(self) -> None:
        if not (self.zoom > 0 and math.isfinite(self.zoom)):
            raise ValueError(f"zoom must be a positive finite number, got {self.zoom}")
        if self.image_size[0] < 1 or self.image_size[1] < 1:
            raise ValueError(f"image size must be positive, got {self.image_size}")
        if self.viewport[0] < 0 or self.viewport[1] < 0:
            raise ValueError(f"viewport size must not be negative, got {self.viewport}")
        if not self.device_pixel_ratio > 0:
            raise ValueError(f"device pixel ratio must be > 0, got {self.device_pixel_ratio}")

    @property
    def out_size(self) -> tuple[int, int]:
        """(H_out, W_out) of the output grid at this zoom."""
        h, w = self.image_size
        return max(1, round(h * self.zoom)), max(1, round(w * self.zoom))

    @property
    def scale(self) -> tuple[float, float]:
        """Exact (x, y) output pixels per source pixel of the output grid."""
        h_out, w_out = self.out_size
        return w_out / self.image_size[1], h_out / self.image_size[0]

    @property
    def logical_viewport(self) -> tuple[float, float]:
        """(width, height) of the viewport in logical pixels."""
        return (
            self.viewport[0] / self.device_pixel_ratio,
            self.viewport[1] / self.device_pixel_ratio,
        )

    def screen_to_image(self, x: float, y: float) -> tuple[float, float]:
        """Map a viewport position (device pixels) to continuous source coordinates (x, y).

        Source pixel ``(i, j)`` covers ``[j, j+1) × [i, i+1)``.
        """
        sx, sy = self.scale
        return (x + self.origin[0]) / sx, (y + self.origin[1]) / sy

    def image_to_screen(self, x: float, y: float) -> tuple[float, float]:
        """Map continuous source coordinates (x, y) to a viewport position (device pixels)."""
        sx, sy = self.scale
        return x * sx - self.origin[0], y * sy - self.origin[1]

    def visible_rect(self) -> TileKey | None:
        """The output-grid pixels the viewport shows (partly or wholly), or None."""
        h_out, w_out = self.out_size
        ox, oy = self.origin
        vw, vh = self.viewport
        c0, c1 = max(0, math.floor(ox)), min(w_out, math.ceil(ox + vw))
        r0, r1 = max(0, math.floor(oy)), min(h_out, math.ceil(oy + vh))
        if c0 >= c1 or r0 >= r1:
            return None
        return TileKey((r0, r1), (c0, c1))

    def visible_tiles(self, tile: int = 256) -> list[TileKey]:
        """Tiles of a ``tile``-pixel grid over the output grid that the viewport shows.

        Tiles are aligned to multiples of ``tile`` in the output grid (so they are the same
        rectangles whatever the pan) and clipped at its edges. Sorted nearest the viewport
        centre first (ties: top to bottom, then left to right).
        """
        if tile < 1:
            raise ValueError(f"tile size must be positive, got {tile}")
        rect = self.visible_rect()
        if rect is None:
            return []
        h_out, w_out = self.out_size
        keys = [
            TileKey((r, min(h_out, r + tile)), (c, min(w_out, c + tile)))
            for r in range(rect.rows[0] // tile * tile, rect.rows[1], tile)
            for c in range(rect.cols[0] // tile * tile, rect.cols[1], tile)
        ]
        cx = self.origin[0] + self.viewport[0] / 2
        cy = self.origin[1] + self.viewport[1] / 2

        def distance(key: TileKey) -> tuple[float, int, int]:
            kx, ky = key.centre
            return (kx - cx) ** 2 + (ky - cy) ** 2, key.rows[0], key.cols[0]

        return sorted(keys, key=distance)

    def clamp_origin(self) -> ViewGeometry:
        """The same view with the pan limited so the image stays on screen.

        Along an axis where the output is smaller than the viewport the image is centred;
        otherwise the viewport stays inside the output grid.
        """
        h_out, w_out = self.out_size
        vw, vh = self.viewport

        def clamp(origin: float, size: int, view: int) -> float:
            if size <= view:
                return (size - view) / 2
            return min(max(origin, 0.0), float(size - view))

        origin = (clamp(self.origin[0], w_out, vw), clamp(self.origin[1], h_out, vh))
        return replace(self, origin=origin)

    def zoomed_about(self, new_zoom: float, anchor_x: float, anchor_y: float) -> ViewGeometry:
        """The view at ``new_zoom`` with the image point under (anchor_x, anchor_y) kept there.

        The anchor is a viewport position in device pixels. The result is not clamped (call
        :meth:`clamp_origin` for that).
        """
        ix, iy = self.screen_to_image(anchor_x, anchor_y)
        zoomed = replace(self, zoom=float(new_zoom))
        sx, sy = zoomed.scale
        return replace(zoomed, origin=(ix * sx - anchor_x, iy * sy - anchor_y))

    def with_origin(self, x: float, y: float) -> ViewGeometry:
        """The same view panned so that output-grid position (x, y) is at the top-left."""
        return replace(self, origin=(float(x), float(y)))

    def panned(self, dx: float, dy: float) -> ViewGeometry:
        """The same view with the image moved by (dx, dy) device pixels on screen."""
        return replace(self, origin=(self.origin[0] - dx, self.origin[1] - dy))


__all__ = ["TileKey", "ViewGeometry"]

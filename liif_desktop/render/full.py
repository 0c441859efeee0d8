"""Rendering a whole output image tile by tile, as a generator with progress and cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from liif_desktop.model.decoder import Cancelled
from liif_desktop.render.region import RegionRenderer


@dataclass(frozen=True)
class RenderedTile:
    """One finished tile of a whole-image render.

    Attributes
    ----------
    rows, cols
        Half-open output pixel ranges of the tile.
    rgb
        (rows, cols, 3) float32 in [0, 1].
    done, total
        Output pixels finished so far (this tile included) and in all.
    """

    rows: tuple[int, int]
    cols: tuple[int, int]
    rgb: np.ndarray
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def output_tiles(
    out_size: tuple[int, int], tile: int, strip: int | None = None
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Tiles covering an output grid: row-major within vertical strips of ``strip`` columns.

    Walking one strip top to bottom before the next keeps the latent tiles in use to a band
    of the strip's width, whatever the image's width or height.
    """
    height, width = out_size
    strip = width if strip is None else max(tile, strip - strip % tile)
    return [
        ((r, min(height, r + tile)), (c, min(width, c + tile)))
        for s0 in range(0, width, strip)
        for r in range(0, height, tile)
        for c in range(s0, min(width, s0 + strip), tile)
    ]


#: Input columns per strip in whole-image renders (a multiple of the latent tile is best).
STRIP_INPUT_COLUMNS = 1024


def render_image(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    tile: int = 512,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[RenderedTile]:
    """Render the whole ``out_size`` grid of the renderer's image, one tile at a time.

    Tiles go row by row through vertical strips (:func:`output_tiles`), so each band of
    latent tiles is encoded about once and then falls out of the renderer's cache: working
    memory is bounded whatever the image size. The caller owns the output buffer (write each
    tile where it belongs).

    Raises
    ------
    liif_desktop.model.decoder.Cancelled
        When ``should_stop`` returns True (checked between tiles and between chunks).
    """
    # Keep two bands of latent tiles across one strip: this band and the next.
    t = renderer.feature_tile
    strip_lr = min(renderer.lr_size[1], STRIP_INPUT_COLUMNS)
    band_bytes = renderer.model.latent_dim * 4 * t * (strip_lr + 2 * t)
    renderer.features.budget_bytes = max(renderer.features.budget_bytes, int(2.5 * band_bytes))
    strip = max(tile, round(strip_lr * out_size[1] / renderer.lr_size[1]))
    total = out_size[0] * out_size[1]
    done = 0
    for rows, cols in output_tiles(out_size, tile, strip):
        if should_stop is not None and should_stop():
            raise Cancelled
        rgb = renderer.render(out_size, rows, cols, should_stop)
        done += (rows[1] - rows[0]) * (cols[1] - cols[0])
        yield RenderedTile(rows, cols, rgb, done, total)


def upscale_array(
    renderer: RegionRenderer,
    out_size: tuple[int, int],
    tile: int = 512,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Convenience: the whole output as one (H, W, 3) float32 array."""
    out = np.empty((*out_size, 3), dtype=np.float32)
    for t in render_image(renderer, out_size, tile, should_stop):
        out[t.rows[0] : t.rows[1], t.cols[0] : t.cols[1]] = t.rgb
    return out


__all__ = ["Cancelled", "RenderedTile", "output_tiles", "render_image", "upscale_array"]

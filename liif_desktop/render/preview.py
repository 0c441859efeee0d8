"""Instant resampled tiles of the source image with Pillow (no model).

Used for zoom ≤ 1 (a proper downscale is the final picture there) and, above 1, for the
bicubic placeholders shown until the LIIF tiles land. Each tile is resampled from the whole
source with Pillow's ``box`` argument, so filter taps reach across tile borders and the tiles
of a grid join seamlessly, equal to the same pixels of one whole-image resize.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from liif_desktop.render.geometry import TileKey


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] to uint8, rounding to nearest."""
    return np.clip(np.rint(np.asarray(rgb, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


class SourcePreview:
    """Resamples tiles of any output grid of one image, on the calling thread.

    Parameters
    ----------
    image
        (H, W, 3) float32 RGB in [0, 1].
    """

    def __init__(self, image: np.ndarray) -> None:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        self.image_size = (int(image.shape[0]), int(image.shape[1]))
        self._pil = Image.fromarray(to_uint8(image), mode="RGB")

    def source_box(
        self, out_size: tuple[int, int], key: TileKey
    ) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the source region a tile covers, in source pixels."""
        h, w = self.image_size
        sy, sx = h / out_size[0], w / out_size[1]
        return key.cols[0] * sx, key.rows[0] * sy, key.cols[1] * sx, key.rows[1] * sy

    def resample(
        self, out_size: tuple[int, int], key: TileKey, filter: Image.Resampling
    ) -> np.ndarray:
        """Tile ``key`` of the ``out_size`` grid, resampled with ``filter``: uint8 (h, w, 3)."""
        if not (0 <= key.rows[0] < key.rows[1] <= out_size[0]) or not (
            0 <= key.cols[0] < key.cols[1] <= out_size[1]
        ):
            raise ValueError(f"tile {key} is outside the {out_size} output grid")
        rows, cols = key.shape
        tile = self._pil.resize((cols, rows), filter, box=self.source_box(out_size, key))
        return np.asarray(tile, dtype=np.uint8)

    def bicubic(self, out_size: tuple[int, int], key: TileKey) -> np.ndarray:
        """Bicubic tile (the placeholder above zoom 1, and the compare view's reference)."""
        return self.resample(out_size, key, Image.Resampling.BICUBIC)

    def downscale(self, out_size: tuple[int, int], key: TileKey) -> np.ndarray:
        """Lanczos (antialiased) tile, the final picture at zoom ≤ 1."""
        return self.resample(out_size, key, Image.Resampling.LANCZOS)


__all__ = ["SourcePreview", "to_uint8"]

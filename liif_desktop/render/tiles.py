"""The cache of rendered viewport tiles, keyed by image, model, output grid and rectangle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liif_desktop.render.cache import ByteLRU
from liif_desktop.render.geometry import TileKey


@dataclass(frozen=True)
class TileCacheKey:
    """Identifies a rendered tile: the same key always means the same pixels.

    Attributes
    ----------
    image_id, model_id
        The ids given to the engine (an id must name one content; the engine clears tiles of
        an id that is set again).
    out_size
        (H_out, W_out) of the output grid, which fixes the zoom.
    key
        The rectangle of that grid.
    """

    image_id: str
    model_id: str
    out_size: tuple[int, int]
    key: TileKey


class TileCache(ByteLRU[np.ndarray]):
    """LRU of uint8 tiles under a budget in bytes (thread-safe)."""

    def __init__(self, budget_bytes: int) -> None:
        super().__init__(budget_bytes, lambda rgb: int(rgb.nbytes))

    def lookup(self, key: TileCacheKey) -> np.ndarray | None:
        """The tile for ``key`` (marking it recently used), or None."""
        return self.get(key)

    def store(self, key: TileCacheKey, rgb: np.ndarray) -> None:
        """Keep a uint8 (rows, cols, 3) tile; it is made read-only, as it is shared."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[:2] != key.key.shape:
            raise ValueError(f"tile for {key.key} must be uint8 {key.key.shape}, got {rgb.shape}")
        rgb.flags.writeable = False
        self.put(key, rgb)


__all__ = ["TileCache", "TileCacheKey"]

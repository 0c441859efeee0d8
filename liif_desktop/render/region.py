"""Rendering any rectangle of any output grid of one image with one model."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Literal

import numpy as np
import torch

from liif_desktop.model.decoder import FoldedDecoder, axis_queries
from liif_desktop.model.liif import LIIF
from liif_desktop.model.tiling import default_halo, encode_window
from liif_desktop.render.cache import ByteLRU

Precision = Literal["fp32", "bf16", "fp16"]
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def tensor_nbytes(t: torch.Tensor) -> int:
    return t.element_size() * t.nelement()


class RegionRenderer:
    """Renders rectangles of LIIF output grids of one image, caching latent codes by tile.

    Latent codes are computed lazily for square tiles of the input (``feature_tile`` pixels,
    encoded with a ``halo`` of context), kept in an LRU cache and reused across zoom levels
    and pans. A rectangle of any output grid only encodes the tiles its queries reach.

    Parameters
    ----------
    model
        LIIF model (eval mode) on ``device``.
    image
        (H, W, 3) float32 RGB in [0, 1].
    precision
        ``'fp32'`` (exact) or ``'bf16'`` / ``'fp16'`` (faster where supported; a small
        quality cost reported by the benchmarks).
    halo
        Input pixels of context around each feature tile; default: measured per encoder.
    feature_tile
        Side of the feature tiles in input pixels.
    feature_cache_bytes
        Budget of the latent-code cache.
    max_queries
        Output pixels decoded at once (bounds the decoder's working memory).
    """

    def __init__(
        self,
        model: LIIF,
        image: np.ndarray,
        precision: Precision = "fp32",
        halo: int | None = None,
        feature_tile: int = 128,
        feature_cache_bytes: int = 256 << 20,
        max_queries: int = 8192,
    ) -> None:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        self.model = model
        self.device = next(model.parameters()).device
        self.precision = precision
        self.dtype = _DTYPES[precision]
        self.decoder = FoldedDecoder(model, self.dtype)
        self.image = (
            torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
            .permute(2, 0, 1)
            .to(self.device)
        )
        self.lr_size = (int(image.shape[0]), int(image.shape[1]))
        self.halo = default_halo(model) if halo is None else int(halo)
        self.feature_tile = int(feature_tile)
        self.max_queries = int(max_queries)
        self.features: ByteLRU[torch.Tensor] = ByteLRU(feature_cache_bytes, tensor_nbytes)

    # -- latent codes ------------------------------------------------------------------
    def _autocast(self) -> torch.autocast | nullcontext[None]:
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def feature_tile_at(
        self, ty: int, tx: int, should_stop: Callable[[], bool] | None = None
    ) -> torch.Tensor:
        """Latent codes (C, h, w) of feature tile (``ty``, ``tx``), from the cache if there.

        ``should_stop`` is polled between encoder blocks while a missing tile is encoded.
        """
        key = (ty, tx)
        feat = self.features.get(key)
        if feat is None:
            t = self.feature_tile
            h, w = self.lr_size
            rows = (ty * t, min(h, (ty + 1) * t))
            cols = (tx * t, min(w, (tx + 1) * t))
            with torch.inference_mode(), self._autocast():
                feat = encode_window(
                    self.model, self.image, rows, cols, self.halo, should_stop
                ).float()
            self.features.put(key, feat)
        return feat

    def features_for(
        self,
        rows: tuple[int, int],
        cols: tuple[int, int],
        should_stop: Callable[[], bool] | None = None,
    ) -> torch.Tensor:
        """Latent codes (C, rows, cols) of an input window, assembled from cached tiles."""
        t = self.feature_tile
        bands = []
        for ty in range(rows[0] // t, (rows[1] - 1) // t + 1):
            row_tiles = [
                self.feature_tile_at(ty, tx, should_stop)
                for tx in range(cols[0] // t, (cols[1] - 1) // t + 1)
            ]
            bands.append(torch.cat(row_tiles, dim=2) if len(row_tiles) > 1 else row_tiles[0])
        full = torch.cat(bands, dim=1) if len(bands) > 1 else bands[0]
        r0, c0 = (rows[0] // t) * t, (cols[0] // t) * t
        return full[:, rows[0] - r0 : rows[1] - r0, cols[0] - c0 : cols[1] - c0]

    def lr_window(
        self, out_size: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """The input window whose codes a rectangle of an output grid needs (with margin)."""
        h, w = self.lr_size
        m = self.decoder.margin
        ens = self.decoder.ensemble
        y0, y1 = axis_queries(out_size[0], h, rows[0], rows[1], ens).span
        x0, x1 = axis_queries(out_size[1], w, cols[0], cols[1], ens).span
        return (max(0, y0 - m), min(h, y1 + m)), (max(0, x0 - m), min(w, x1 + m))

    # -- output ------------------------------------------------------------------------
    def render(
        self,
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """RGB of output pixels ``rows × cols`` of an ``out_size`` (H, W) grid of the image.

        Returns
        -------
        numpy.ndarray
            (rows, cols, 3) float32 in [0, 1].

        Raises
        ------
        liif_desktop.model.decoder.Cancelled
            When ``should_stop`` returns True between chunks.
        """
        if not (0 <= rows[0] < rows[1] <= out_size[0] and 0 <= cols[0] < cols[1] <= out_size[1]):
            raise ValueError(f"rectangle {rows}×{cols} is outside the {out_size} output grid")
        win_rows, win_cols = self.lr_window(out_size, rows, cols)
        with torch.inference_mode():
            feat = self.features_for(win_rows, win_cols, should_stop)
            proj = self.decoder.project(feat)
            raw = self.decoder.decode_grid(
                proj,
                (win_rows[0], win_cols[0]),
                self.lr_size,
                out_size,
                rows,
                cols,
                max_queries=self.max_queries,
                should_stop=should_stop,
            )
            rgb = (raw * 0.5 + 0.5).clamp_(0, 1)
        return rgb.cpu().numpy()

"""Rendering any rectangle of any output grid of one image with one model."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch

from liif_desktop.model.decoder import (
    AxisQueries,
    Cancelled,
    FoldedDecoder,
    axis_queries,
    axis_queries_at,
)
from liif_desktop.model.liif import LIIF
from liif_desktop.model.tiling import default_halo, encode_window
from liif_desktop.render.cache import ByteLRU

Precision = Literal["fp32", "bf16", "fp16"]
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def tensor_nbytes(t: torch.Tensor) -> int:
    return t.element_size() * t.nelement()


def _rectangles(cells: set[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cover a set of (row, col) cells by disjoint rectangles ``(r0, r1, c0, c1)`` (inclusive).

    Greedy: from the first uncovered cell in raster order, the longest run to the right, grown
    downwards while the whole run is in the set. A full rectangle gives one rectangle; a
    rectangle with a rectangular hole gives at most four bands.
    """
    left = set(cells)
    out = []
    for r, c in sorted(cells):
        if (r, c) not in left:
            continue
        c1 = c
        while (r, c1 + 1) in left:
            c1 += 1
        r1 = r
        while all((r1 + 1, x) in left for x in range(c, c1 + 1)):
            r1 += 1
        for y in range(r, r1 + 1):
            for x in range(c, c1 + 1):
                left.discard((y, x))
        out.append((r, r1, c, c1))
    return out


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
        (H, W, 3) float32 RGB in [0, 1], or uint8 / uint16 samples (kept as they are and
        converted window by window: a quarter or half of the memory for huge images).
    precision
        ``'fp32'`` (exact) or ``'bf16'`` / ``'fp16'``: the encoder and the MLP's hidden layers
        run with weights and activations in that type (explicit casts once, not autocast),
        faster on CPUs with native bf16 and on GPUs; the output layer stays float32.
        :func:`liif_desktop.render.precision.resolve_precision` picks one by measuring.
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
        if feature_tile < 1:
            raise ValueError(f"feature_tile must be positive, got {feature_tile}")
        self.model = model
        self.device = next(model.parameters()).device
        self.precision = precision
        self.dtype = _DTYPES[precision]
        self.decoder = FoldedDecoder(model, self.dtype)
        kept = image.dtype if image.dtype in (np.uint8, np.uint16) else np.float32
        self.image = (
            torch.from_numpy(np.ascontiguousarray(image, dtype=kept))
            .permute(2, 0, 1)
            .to(self.device)
        )
        self.lr_size = (int(image.shape[0]), int(image.shape[1]))
        self.halo = default_halo(model) if halo is None else int(halo)
        self.feature_tile = int(feature_tile)
        self.max_queries = int(max_queries)
        self.features: ByteLRU[torch.Tensor] = ByteLRU(feature_cache_bytes, tensor_nbytes)
        self._encoder_model = model
        self._encoder_image = self.image
        if self.dtype != torch.float32:
            self._encoder_model = copy.deepcopy(model).to(self.dtype)
            if self.image.is_floating_point():  # integer samples are converted per window
                self._encoder_image = self.image.to(self.dtype)
        if self.device.type == "cpu":
            # oneDNN's convolutions run ~1.5× faster on channels-last weights (measured on
            # the encoder); the result is the same up to float rounding. In place and
            # idempotent: every renderer of a model agrees on it.
            self._encoder_model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    # -- latent codes ------------------------------------------------------------------

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
            with torch.inference_mode():
                feat = encode_window(
                    self._encoder_model, self._encoder_image, rows, cols, self.halo, should_stop
                ).float()
            self.features.put(key, feat)
        return feat

    def prefetch(
        self,
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Encode the missing latent tiles a rectangle needs in as few windows as possible.

        Encoding tile by tile pays the halo on every tile: for LIIF-RDN (halo 24) a 128-pixel
        tile encodes 176² pixels, nearly twice its own. A view's missing tiles are encoded
        in a few rectangular windows (one where they form a rectangle; four bands around a
        hole already encoded) and then cut into tiles for the cache.
        """
        win_rows, win_cols = self.lr_window(out_size, rows, cols)
        t = self.feature_tile
        tys = range(win_rows[0] // t, (win_rows[1] - 1) // t + 1)
        txs = range(win_cols[0] // t, (win_cols[1] - 1) // t + 1)
        missing = {(ty, tx) for ty in tys for tx in txs if (ty, tx) not in self.features}
        if not missing:
            return
        groups = _rectangles(missing)
        h, w = self.lr_size
        for ty0, ty1, tx0, tx1 in groups:
            if should_stop is not None and should_stop():
                raise Cancelled
            r0, r1 = ty0 * t, min(h, (ty1 + 1) * t)
            c0, c1 = tx0 * t, min(w, (tx1 + 1) * t)
            with torch.inference_mode():
                feat = encode_window(
                    self._encoder_model,
                    self._encoder_image,
                    (r0, r1),
                    (c0, c1),
                    self.halo,
                    should_stop,
                ).float()
            for ty in range(ty0, ty1 + 1):
                for tx in range(tx0, tx1 + 1):
                    tile = feat[
                        :,
                        ty * t - r0 : min(h, (ty + 1) * t) - r0,
                        tx * t - c0 : min(w, (tx + 1) * t) - c0,
                    ]
                    self.features.put((ty, tx), tile.contiguous())

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
        ens = self.decoder.ensemble
        qy = axis_queries(out_size[0], self.lr_size[0], rows[0], rows[1], ens)
        qx = axis_queries(out_size[1], self.lr_size[1], cols[0], cols[1], ens)
        return self._window(qy, qx)

    def _window(self, qy: AxisQueries, qx: AxisQueries) -> tuple[tuple[int, int], tuple[int, int]]:
        h, w = self.lr_size
        m = self.decoder.margin
        y0, y1 = qy.span
        x0, x1 = qx.span
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
        ens = self.decoder.ensemble
        qy = axis_queries(out_size[0], self.lr_size[0], rows[0], rows[1], ens)
        qx = axis_queries(out_size[1], self.lr_size[1], cols[0], cols[1], ens)
        return self._decode(out_size, qy, qx, should_stop)

    def render_points(
        self,
        out_size: tuple[int, int],
        row_index: np.ndarray,
        col_index: np.ndarray,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """RGB of the output pixels at rows ``row_index`` × columns ``col_index``.

        The indices may be any (e.g. strided) subsets of the output grid's axes; each pixel
        equals the same pixel of :meth:`render` on a rectangle holding it.

        Returns
        -------
        numpy.ndarray
            (len(row_index), len(col_index), 3) float32 in [0, 1].
        """
        rows = torch.as_tensor(np.asarray(row_index, dtype=np.int64))
        cols = torch.as_tensor(np.asarray(col_index, dtype=np.int64))
        if rows.numel() == 0 or cols.numel() == 0:
            return np.zeros((rows.numel(), cols.numel(), 3), np.float32)
        if int(rows.min()) < 0 or int(rows.max()) >= out_size[0]:
            raise ValueError(f"rows outside the {out_size} output grid")
        if int(cols.min()) < 0 or int(cols.max()) >= out_size[1]:
            raise ValueError(f"columns outside the {out_size} output grid")
        ens = self.decoder.ensemble
        qy = axis_queries_at(out_size[0], self.lr_size[0], rows, ens)
        qx = axis_queries_at(out_size[1], self.lr_size[1], cols, ens)
        return self._decode(out_size, qy, qx, should_stop)

    def _decode(
        self,
        out_size: tuple[int, int],
        qy: AxisQueries,
        qx: AxisQueries,
        should_stop: Callable[[], bool] | None,
    ) -> np.ndarray:
        win_rows, win_cols = self._window(qy, qx)
        with torch.inference_mode():
            feat = self.features_for(win_rows, win_cols, should_stop)
            proj = self.decoder.project(feat)
            raw = self.decoder.decode_axes(
                proj,
                (win_rows[0], win_cols[0]),
                self.lr_size,
                out_size,
                qy,
                qx,
                max_queries=self.max_queries,
                should_stop=should_stop,
            )
            rgb = (raw * 0.5 + 0.5).clamp_(0, 1)
        return rgb.cpu().numpy()

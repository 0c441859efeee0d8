"""Fast LIIF decoding on output-pixel grids.

The MLP's first layer is linear in the unfolded latent code, so its feature part is computed
once per latent cell instead of once per query: for 3×3 unfolding it is exactly a 3×3
convolution of the codes (:meth:`FoldedDecoder.project`). Queries on a rectangular grid are
separable: the neighbour index and relative offset of a row depend on the row only, and those
of a column on the column only, so a grid needs no per-pixel coordinate tensors and no
576-channel unfolded features at output resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from liif_desktop.model.coords import nearest_index, pixel_centres
from liif_desktop.model.liif import _EPS_SHIFT, LIIF
from liif_desktop.model.stop import Cancelled

__all__ = ["AxisQueries", "Cancelled", "FoldedDecoder", "axis_queries", "axis_queries_at"]


@dataclass(frozen=True)
class AxisQueries:
    """Per-shift latent indices and relative offsets for a run of output pixels on one axis.

    Attributes
    ----------
    index
        (S, n) latent-grid index for each ensemble shift S and output pixel.
    rel
        (S, n) offset from that latent centre, in latent pixels.
    """

    index: torch.Tensor
    rel: torch.Tensor

    @property
    def span(self) -> tuple[int, int]:
        """Lowest and one past the highest latent index used."""
        return int(self.index.min()), int(self.index.max()) + 1


def axis_queries(out_size: int, lr_size: int, start: int, stop: int, ensemble: bool) -> AxisQueries:
    """Queries of output pixels ``start..stop-1`` of an ``out_size`` axis on ``lr_size`` codes.

    The arithmetic matches :meth:`LIIF.query` so both paths pick the same codes.
    """
    return _queries(pixel_centres(out_size, start, stop), lr_size, ensemble)


def axis_queries_at(
    out_size: int, lr_size: int, index: torch.Tensor, ensemble: bool
) -> AxisQueries:
    """Queries of the output pixels ``index`` (any 1-D integer tensor) of an ``out_size`` axis.

    Pixel ``i`` gets exactly the centre :func:`pixel_centres` gives it, so a strided or
    scattered subset of an axis decodes to the same values as the whole axis.
    """
    radius = 1.0 / out_size
    centre = -1.0 + radius + (2 * radius) * index.float()
    return _queries(centre, lr_size, ensemble)


def _queries(centre: torch.Tensor, lr_size: int, ensemble: bool) -> AxisQueries:
    lr_centres = pixel_centres(lr_size)
    shifts = (-1, 1) if ensemble else (0,)
    eps = _EPS_SHIFT if ensemble else 0.0
    half = 1.0 / lr_size
    indices, rels = [], []
    for s in shifts:
        shifted = (centre + (s * half + eps)).clamp_(-1 + 1e-6, 1 - 1e-6)
        idx = nearest_index(shifted, lr_size)
        indices.append(idx)
        rels.append((centre - lr_centres[idx]) * lr_size)
    return AxisQueries(torch.stack(indices), torch.stack(rels))


class FoldedDecoder:
    """LIIF decoder with the first MLP layer folded onto the latent grid.

    Parameters
    ----------
    model
        A LIIF model (its weights are read, not copied, at construction).
    dtype
        Compute dtype of the MLP (float32, or bfloat16/float16 as a speed option).
    """

    def __init__(self, model: LIIF, dtype: torch.dtype = torch.float32) -> None:
        layers = model.imnet.linear_layers()
        first = layers[0]
        feat_dim = model.feat_dim
        weight = first.weight.detach()
        self.ensemble = model.local_ensemble
        self.cell_decode = model.cell_decode
        channels = model.latent_dim
        k = 3 if model.feat_unfold else 1
        # unfold orders its channels as (code channel, kernel row, kernel col): a conv kernel.
        self.fold_weight = weight[:, :feat_dim].reshape(weight.shape[0], channels, k, k)
        self.fold_bias = first.bias.detach()
        self.fold_padding = k // 2
        self.coord_weight = weight[:, feat_dim:].to(dtype)  # (hidden, 2 or 4)
        self.hidden = [
            (m.weight.detach().to(dtype), m.bias.detach().to(dtype)) for m in layers[1:-1]
        ]
        # The 256→3 output layer stays float32: in bf16 it is slower (too narrow for the
        # bf16 kernels) and it is where rounding would reach the pixels directly.
        out = layers[-1]
        self.output = (out.weight.detach().float(), out.bias.detach().float())
        self.dtype = dtype
        self.hidden_dim = int(weight.shape[0])

    @property
    def margin(self) -> int:
        """Latent pixels beyond a window that :meth:`project` needs to be exact there."""
        return self.fold_padding

    def project(self, feat: torch.Tensor) -> torch.Tensor:
        """First-layer feature term of every latent cell.

        Parameters
        ----------
        feat
            (C, h, w) or (1, C, h, w) latent codes. Zero padding at the edges matches the
            reference only at true image borders; elsewhere pass :attr:`margin` extra pixels
            and crop them from the result.

        Returns
        -------
        torch.Tensor
            (h, w, hidden) channels-last projection in the compute dtype.
        """
        if feat.dim() == 3:
            feat = feat.unsqueeze(0)
        proj = F.conv2d(
            feat, self.fold_weight.to(feat), self.fold_bias.to(feat), padding=self.fold_padding
        )
        return proj[0].permute(1, 2, 0).to(self.dtype).contiguous()

    def decode_grid(
        self,
        proj: torch.Tensor,
        origin: tuple[int, int],
        lr_size: tuple[int, int],
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        max_queries: int = 8192,
        should_stop: Callable[[], bool] | None = None,
    ) -> torch.Tensor:
        """Decode a rectangle of an output grid.

        Parameters
        ----------
        proj
            (h, w, hidden) from :meth:`project`, covering latent rows/cols from ``origin``
            and at least the span the rectangle needs (see :func:`axis_queries`).
        origin
            (row, col) of ``proj[0, 0]`` in the whole latent grid.
        lr_size
            (H, W) of the whole latent grid (the input image).
        out_size
            (H_out, W_out) of the whole output grid; need not be a multiple of ``lr_size``.
        rows, cols
            Half-open ranges of output pixels to produce.
        max_queries
            Output pixels decoded at once; bounds the working memory (about
            ``max_queries × hidden × 12`` bytes).
        should_stop
            Polled between chunks; when it returns True, :class:`Cancelled` is raised.

        Returns
        -------
        torch.Tensor
            (rows, cols, 3) raw predictions (float32); RGB is ``raw * 0.5 + 0.5``.
        """
        qy = axis_queries(out_size[0], lr_size[0], rows[0], rows[1], self.ensemble)
        qx = axis_queries(out_size[1], lr_size[1], cols[0], cols[1], self.ensemble)
        return self.decode_axes(proj, origin, lr_size, out_size, qy, qx, max_queries, should_stop)

    def decode_axes(
        self,
        proj: torch.Tensor,
        origin: tuple[int, int],
        lr_size: tuple[int, int],
        out_size: tuple[int, int],
        qy: AxisQueries,
        qx: AxisQueries,
        max_queries: int = 8192,
        should_stop: Callable[[], bool] | None = None,
    ) -> torch.Tensor:
        """Decode the separable grid of output rows ``qy`` × output columns ``qx``.

        The rows and columns may be any subsets of the output axes (see
        :func:`axis_queries_at`); the other parameters are those of :meth:`decode_grid`.

        Returns
        -------
        torch.Tensor
            (len(rows), len(cols), 3) raw predictions (float32).
        """
        n_rows, n_cols = int(qy.index.shape[1]), int(qx.index.shape[1])
        out = torch.empty(n_rows, n_cols, 3, dtype=torch.float32, device=proj.device)
        for r0, r1, preds, areas in self.chunk_predictions(
            proj, origin, lr_size, out_size, qy, qx, max_queries, should_stop
        ):
            if len(preds) == 1:
                out[r0:r1] = preds[0]
                continue
            total = torch.stack(areas).sum(0)
            acc = torch.zeros_like(preds[0])
            for pred, area in zip(preds, reversed(areas), strict=True):
                acc += pred * (area / total).unsqueeze(-1)
            out[r0:r1] = acc
        return out

    def chunk_predictions(
        self,
        proj: torch.Tensor,
        origin: tuple[int, int],
        lr_size: tuple[int, int],
        out_size: tuple[int, int],
        qy: AxisQueries,
        qx: AxisQueries,
        max_queries: int = 8192,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[int, int, list[torch.Tensor], list[torch.Tensor]]]:
        """The local ensemble's predictions, chunk by chunk of output rows, before blending.

        Yields ``(r0, r1, preds, areas)``: the rows ``r0:r1`` of the grid, the (r, c, 3) raw
        prediction of each ensemble member and its (r, c) area; member ``k`` is weighted by
        the area opposite to it, ``areas[-1 - k] / sum(areas)``. Polls ``should_stop``
        between chunks (raises :class:`Cancelled`).
        """
        lr_h, lr_w = lr_size
        out_h, out_w = out_size
        n_rows, n_cols = int(qy.index.shape[1]), int(qx.index.shape[1])
        rows_per_chunk = max(1, max_queries // max(n_cols, 1))
        cw = self.coord_weight.to(proj.device)
        cell_term = torch.zeros(self.hidden_dim, dtype=self.dtype, device=proj.device)
        if self.cell_decode:
            cell_term = cw[:, 2] * (2.0 / out_h * lr_h) + cw[:, 3] * (2.0 / out_w * lr_w)
        iy_all = (qy.index - origin[0]).to(proj.device)
        ix_all = (qx.index - origin[1]).to(proj.device)
        ry_all = qy.rel.to(proj.device)
        rx_all = qx.rel.to(proj.device)
        # Column terms do not depend on the row: compute them once per shift.
        col_terms = [torch.outer(rx_all[s].to(self.dtype), cw[:, 1]) for s in range(len(rx_all))]
        for r0 in range(0, n_rows, rows_per_chunk):
            if should_stop is not None and should_stop():
                raise Cancelled
            r1 = min(n_rows, r0 + rows_per_chunk)
            preds, areas = [], []
            for sy in range(len(iy_all)):
                ry = ry_all[sy, r0:r1]
                row_term = torch.outer(ry.to(self.dtype), cw[:, 0]) + cell_term
                band = proj[iy_all[sy, r0:r1]]  # (r, w, hidden)
                for sx in range(len(ix_all)):
                    h = band[:, ix_all[sx]]  # (r, c, hidden)
                    h += row_term[:, None, :]
                    h += col_terms[sx][None, :, :]
                    preds.append(self._mlp_tail(h))
                    areas.append((ry[:, None] * rx_all[sx][None, :]).abs() + 1e-9)
            yield r0, r1, preds, areas

    def _mlp_tail(self, h: torch.Tensor) -> torch.Tensor:
        torch.relu_(h)
        for w, b in self.hidden:
            h = torch.relu_(F.linear(h, w, b))
        w, b = self.output
        return F.linear(h.float(), w, b)

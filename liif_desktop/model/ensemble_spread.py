"""The local ensemble's disagreement: how far its four predictions lie from their blend.

LIIF answers a query from the four nearest latent codes and blends their four predictions by
area. Where the codes agree the colour is well determined by the neighbourhood; where they
disagree the decoder is interpolating between different guesses. :class:`SpreadDecoder`
decodes like :class:`~liif_desktop.model.decoder.FoldedDecoder` and also returns the weighted
spread of the four predictions at no extra MLP cost.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from liif_desktop.model.decoder import Cancelled, FoldedDecoder, axis_queries


class SpreadDecoder(FoldedDecoder):
    """A :class:`FoldedDecoder` that also reports the local ensemble's spread."""

    def decode_grid_spread(
        self,
        proj: torch.Tensor,
        origin: tuple[int, int],
        lr_size: tuple[int, int],
        out_size: tuple[int, int],
        rows: tuple[int, int],
        cols: tuple[int, int],
        max_queries: int = 8192,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode a rectangle and measure the ensemble's spread there.

        Parameters are those of :meth:`FoldedDecoder.decode_grid`.

        Returns
        -------
        tuple of torch.Tensor
            The (rows, cols, 3) raw predictions (identical to ``decode_grid``) and the
            (rows, cols) weighted standard deviation of the four predictions around their
            blend, averaged over the three channels (raw units, RGB is ``raw * 0.5 + 0.5``).
            Without a local ensemble the spread is zero.
        """
        lr_h, lr_w = lr_size
        out_h, out_w = out_size
        qy = axis_queries(out_h, lr_h, rows[0], rows[1], self.ensemble)
        qx = axis_queries(out_w, lr_w, cols[0], cols[1], self.ensemble)
        n_rows, n_cols = rows[1] - rows[0], cols[1] - cols[0]
        out = torch.empty(n_rows, n_cols, 3, dtype=torch.float32, device=proj.device)
        spread = torch.zeros(n_rows, n_cols, dtype=torch.float32, device=proj.device)
        rows_per_chunk = max(1, max_queries // max(n_cols, 1))
        cw = self.coord_weight.to(proj.device)
        cell_term = torch.zeros(self.hidden_dim, dtype=self.dtype, device=proj.device)
        if self.cell_decode:
            cell_term = cw[:, 2] * (2.0 / out_h * lr_h) + cw[:, 3] * (2.0 / out_w * lr_w)
        iy_all = (qy.index - origin[0]).to(proj.device)
        ix_all = (qx.index - origin[1]).to(proj.device)
        ry_all = qy.rel.to(proj.device)
        rx_all = qx.rel.to(proj.device)
        col_terms = [torch.outer(rx_all[s].to(self.dtype), cw[:, 1]) for s in range(len(rx_all))]
        for r0 in range(0, n_rows, rows_per_chunk):
            if should_stop is not None and should_stop():
                raise Cancelled
            r1 = min(n_rows, r0 + rows_per_chunk)
            preds, areas = [], []
            for sy in range(len(iy_all)):
                ry = ry_all[sy, r0:r1]
                row_term = torch.outer(ry.to(self.dtype), cw[:, 0]) + cell_term
                band = proj[iy_all[sy, r0:r1]]
                for sx in range(len(ix_all)):
                    h = band[:, ix_all[sx]]
                    h += row_term[:, None, :]
                    h += col_terms[sx][None, :, :]
                    preds.append(self._mlp_tail(h))
                    areas.append((ry[:, None] * rx_all[sx][None, :]).abs() + 1e-9)
            if len(preds) == 1:
                out[r0:r1] = preds[0]
                continue
            total = torch.stack(areas).sum(0)
            # Prediction k is weighted by the area opposite to it (as in decode_grid).
            weights = [(a / total).unsqueeze(-1) for a in reversed(areas)]
            acc = torch.zeros_like(preds[0])
            for pred, w in zip(preds, weights, strict=True):
                acc += pred * w
            var = torch.zeros_like(preds[0])
            for pred, w in zip(preds, weights, strict=True):
                var += w * (pred - acc) ** 2
            out[r0:r1] = acc
            spread[r0:r1] = var.sqrt().mean(-1)
        return out, spread

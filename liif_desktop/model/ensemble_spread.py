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

from liif_desktop.model.decoder import FoldedDecoder, axis_queries


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
        qy = axis_queries(out_size[0], lr_size[0], rows[0], rows[1], self.ensemble)
        qx = axis_queries(out_size[1], lr_size[1], cols[0], cols[1], self.ensemble)
        n_rows, n_cols = rows[1] - rows[0], cols[1] - cols[0]
        out = torch.empty(n_rows, n_cols, 3, dtype=torch.float32, device=proj.device)
        spread = torch.zeros(n_rows, n_cols, dtype=torch.float32, device=proj.device)
        for r0, r1, preds, areas in self.chunk_predictions(
            proj, origin, lr_size, out_size, qy, qx, max_queries, should_stop
        ):
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

"""LIIF: a latent-code encoder plus an MLP queried at continuous coordinates.

This module holds the model and its reference ("exact") query path, which follows the
paper's formulation one query at a time. The fast decoder used for rendering lives in
:mod:`liif_desktop.model.decoder` and is tested against this one.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from liif_desktop.model.coords import nearest_index, pixel_centres
from liif_desktop.model.edsr import EDSREncoder
from liif_desktop.model.mlp import MLP
from liif_desktop.model.rdn import RDNEncoder
from liif_desktop.model.stop import StopCheck

#: Offsets of the four neighbours in the local ensemble, in the order the weights are paired.
ENSEMBLE_SHIFTS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
#: Tiny shift that breaks ties when a query sits exactly between two latent codes.
_EPS_SHIFT = 1e-6


class LIIF(nn.Module):
    """Encoder + implicit MLP decoder.

    Parameters
    ----------
    encoder
        Module mapping a normalised image (B, 3, h, w) to latent codes (B, C, h, w); must
        expose ``out_dim``.
    hidden_list, out_dim
        The MLP's hidden widths and output channels.
    local_ensemble, feat_unfold, cell_decode
        The paper's three switches (all on in the official checkpoints).
    """

    def __init__(
        self,
        encoder: nn.Module,
        hidden_list: list[int],
        out_dim: int = 3,
        local_ensemble: bool = True,
        feat_unfold: bool = True,
        cell_decode: bool = True,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.local_ensemble = local_ensemble
        self.feat_unfold = feat_unfold
        self.cell_decode = cell_decode
        feat_dim = cast(int, encoder.out_dim) * (9 if feat_unfold else 1)
        self.feat_dim = feat_dim
        self.latent_dim = cast(int, encoder.out_dim)
        self.imnet = MLP(feat_dim + 2 + (2 if cell_decode else 0), out_dim, hidden_list)

    @property
    def receptive_radius(self) -> int:
        """Latent-grid pixels that influence one latent code (encoder + unfolding)."""
        return cast(int, self.encoder.receptive_radius)

    def encode(self, image: torch.Tensor, should_stop: StopCheck = None) -> torch.Tensor:
        """Latent codes of a batch of images.

        Parameters
        ----------
        image
            (B, 3, h, w) in [0, 1].
        should_stop
            Polled between encoder blocks; :class:`~liif_desktop.model.stop.Cancelled` is
            raised when it returns True.

        Returns
        -------
        torch.Tensor
            (B, C, h, w) latent codes (before unfolding).
        """
        return self.encoder((image - 0.5) / 0.5, should_stop=should_stop)

    def unfold(self, feat: torch.Tensor) -> torch.Tensor:
        """3×3 feature unfolding (zero padded), or the codes unchanged when it is off."""
        if not self.feat_unfold:
            return feat
        b, c, h, w = feat.shape
        return F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)

    def query(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Answer coordinate queries from latent codes (reference path).

        Parameters
        ----------
        feat
            (B, C, h, w) codes from :meth:`encode`.
        coord
            (B, Q, 2) query points (y, x) in [-1, 1].
        cell
            (B, Q, 2) output-pixel sizes in the same units.

        Returns
        -------
        torch.Tensor
            (B, Q, 3) raw predictions; RGB in [0, 1] is ``raw * 0.5 + 0.5``.
        """
        grid = self.unfold(feat)
        _, _, h, w = grid.shape
        half_y, half_x = 1.0 / h, 1.0 / w
        shifts = ENSEMBLE_SHIFTS if self.local_ensemble else ((0, 0),)
        eps = _EPS_SHIFT if self.local_ensemble else 0.0
        flat = grid.flatten(2)  # (B, D, h*w)
        preds, areas = [], []
        for sy, sx in shifts:
            shifted = coord.clone()
            shifted[..., 0] += sy * half_y + eps
            shifted[..., 1] += sx * half_x + eps
            shifted.clamp_(-1 + 1e-6, 1 - 1e-6)
            iy = nearest_index(shifted[..., 0], h)
            ix = nearest_index(shifted[..., 1], w)
            index = (iy * w + ix).unsqueeze(1).expand(-1, flat.shape[1], -1)
            q_feat = torch.gather(flat, 2, index).permute(0, 2, 1)
            rel_y = (coord[..., 0] - pixel_centres(h).to(coord)[iy]) * h
            rel_x = (coord[..., 1] - pixel_centres(w).to(coord)[ix]) * w
            parts = [q_feat, rel_y.unsqueeze(-1), rel_x.unsqueeze(-1)]
            if self.cell_decode:
                parts += [cell[..., :1] * h, cell[..., 1:] * w]
            preds.append(self.imnet(torch.cat(parts, -1)))
            areas.append((rel_y * rel_x).abs() + 1e-9)
        if not self.local_ensemble:
            return preds[0]
        total = torch.stack(areas).sum(0)
        # Each prediction is weighted by the area of the rectangle opposite to it.
        out = torch.zeros_like(preds[0])
        for pred, area in zip(preds, reversed(areas), strict=True):
            out = out + pred * (area / total).unsqueeze(-1)
        return out

    def forward(self, image: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        return self.query(self.encode(image), coord, cell)


def _encoder_from_spec(spec: dict[str, Any]) -> nn.Module:
    name = spec.get("name")
    args = dict(spec.get("args") or {})
    if not args.pop("no_upsampling", False):
        raise ValueError(
            f"encoder {name!r} has an upsampling tail; LIIF encoders must set no_upsampling"
        )
    args.pop("scale", None)  # only used by the (absent) upsampler
    args.pop("rgb_range", None)  # the colour shift is never applied
    if name == "edsr-baseline":
        kwargs: dict[str, Any] = {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0}
        kwargs.update(args)
        return EDSREncoder(**kwargs)
    if name == "edsr":
        kwargs = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1}
        kwargs.update(args)
        return EDSREncoder(**kwargs)
    if name == "rdn":
        return RDNEncoder(**args)
    raise ValueError(f"unknown encoder {name!r}; supported: 'edsr-baseline', 'edsr', 'rdn'")


def build_liif(args: dict[str, Any]) -> LIIF:
    """Build a LIIF model from the ``args`` of an official-format checkpoint.

    Raises
    ------
    ValueError
        If the spec names an unknown encoder or decoder, or has unsupported arguments.
    """
    encoder_spec = args.get("encoder_spec")
    imnet_spec = args.get("imnet_spec")
    if not isinstance(encoder_spec, dict) or not isinstance(imnet_spec, dict):
        raise ValueError("model args need 'encoder_spec' and 'imnet_spec' dictionaries")
    if imnet_spec.get("name") != "mlp":
        raise ValueError(f"unknown decoder {imnet_spec.get('name')!r}; supported: 'mlp'")
    imnet_args = dict(imnet_spec.get("args") or {})
    unknown = set(args) - {
        "encoder_spec",
        "imnet_spec",
        "local_ensemble",
        "feat_unfold",
        "cell_decode",
    }
    if unknown:
        raise ValueError(f"unsupported LIIF arguments: {sorted(unknown)}")
    try:
        encoder = _encoder_from_spec(encoder_spec)
        return LIIF(
            encoder,
            hidden_list=list(imnet_args.get("hidden_list", [256, 256, 256, 256])),
            out_dim=int(imnet_args.get("out_dim", 3)),
            local_ensemble=bool(args.get("local_ensemble", True)),
            feat_unfold=bool(args.get("feat_unfold", True)),
            cell_decode=bool(args.get("cell_decode", True)),
        )
    except TypeError as exc:  # unexpected keyword in a spec
        raise ValueError(f"unsupported model arguments: {exc}") from exc

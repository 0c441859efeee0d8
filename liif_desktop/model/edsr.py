"""EDSR encoder without its upsampler, as used by LIIF.

Parameter names follow the official checkpoints (``head.0``, ``body.N.body.{0,2}``,
``body.<last>``, plus the unused ``sub_mean`` / ``add_mean`` colour shifts), so their state
dicts load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

from liif_desktop.model.stop import StopCheck, check


def _conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip; ``res_scale`` scales the residual branch."""

    def __init__(self, n_feats: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv3x3(n_feats, n_feats), nn.ReLU(inplace=True), _conv3x3(n_feats, n_feats)
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        if self.res_scale != 1:
            res = res * self.res_scale
        return res + x


class ColourShift(nn.Conv2d):
    """A fixed 1×1 convolution kept only so official state dicts load strictly.

    The LIIF encoders never apply it (inputs are normalised outside the model).
    """

    def __init__(self) -> None:
        super().__init__(3, 3, 1)
        self.requires_grad_(False)


class EDSREncoder(nn.Module):
    """EDSR feature extractor: head conv, residual blocks, tail conv, global skip.

    Parameters
    ----------
    n_resblocks, n_feats, res_scale
        Depth, width and residual scaling. EDSR-baseline is (16, 64, 1.0); full EDSR is
        (32, 256, 0.1).
    n_colors
        Input channels.
    """

    def __init__(
        self, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, n_colors: int = 3
    ) -> None:
        super().__init__()
        self.sub_mean = ColourShift()
        self.add_mean = ColourShift()
        self.head = nn.Sequential(_conv3x3(n_colors, n_feats))
        blocks: list[nn.Module] = [ResidualBlock(n_feats, res_scale) for _ in range(n_resblocks)]
        blocks.append(_conv3x3(n_feats, n_feats))
        self.body = nn.Sequential(*blocks)
        self.out_dim = n_feats
        # Each 3×3 conv reaches one pixel further: head + 2 per block + tail.
        self.receptive_radius = 2 + 2 * n_resblocks

    def forward(self, x: torch.Tensor, should_stop: StopCheck = None) -> torch.Tensor:
        """Latent codes of ``x``; ``should_stop`` is polled between residual blocks."""
        x = self.head(x)
        res = x
        for block in self.body:
            check(should_stop)
            res = block(res)
        return res + x

"""Residual Dense Network encoder without its upsampler, as used by LIIF.

Parameter names follow the official checkpoints (``SFENet1``, ``SFENet2``,
``RDBs.i.convs.c.conv.0``, ``RDBs.i.LFF``, ``GFF.{0,1}``).
"""

from __future__ import annotations

import torch
from torch import nn

from liif_desktop.model.stop import StopCheck, check

#: (blocks D, convs per block C, growth rate G) of the paper's two configurations.
RDN_CONFIGS: dict[str, tuple[int, int, int]] = {"A": (20, 6, 32), "B": (16, 8, 64)}


class DenseConv(nn.Module):
    """Conv + ReLU whose output is concatenated onto its input (dense connection)."""

    def __init__(self, c_in: int, growth: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, growth, kernel_size, padding=(kernel_size - 1) // 2),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv(x)), 1)


class ResidualDenseBlock(nn.Module):
    """``n_convs`` densely connected convs, 1×1 local feature fusion, identity skip."""

    def __init__(self, width: int, growth: int, n_convs: int, kernel_size: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            *[DenseConv(width + c * growth, growth, kernel_size) for c in range(n_convs)]
        )
        self.LFF = nn.Conv2d(width + n_convs * growth, width, 1)

    def forward(self, x: torch.Tensor, should_stop: StopCheck = None) -> torch.Tensor:
        """The block's output; ``should_stop`` is polled before each dense conv."""
        dense = x
        for conv in self.convs:
            check(should_stop)
            dense = conv(dense)
        return self.LFF(dense) + x


class RDNEncoder(nn.Module):
    """RDN feature extractor (Zhang et al. 2018) with no upsampling tail.

    Parameters
    ----------
    G0
        Feature width (64 in both paper configurations). The name is the checkpoint's.
    RDNkSize
        Kernel size of the 3×3 convolutions (checkpoint name kept).
    RDNconfig
        ``'A'`` (D=20, C=6, G=32) or ``'B'`` (D=16, C=8, G=64, the LIIF default).
    n_colors
        Input channels.
    """

    def __init__(
        self, G0: int = 64, RDNkSize: int = 3, RDNconfig: str = "B", n_colors: int = 3
    ) -> None:
        super().__init__()
        if RDNconfig not in RDN_CONFIGS:
            raise ValueError(f"unknown RDN config {RDNconfig!r}; expected one of 'A', 'B'")
        n_blocks, n_convs, growth = RDN_CONFIGS[RDNconfig]
        pad = (RDNkSize - 1) // 2
        self.SFENet1 = nn.Conv2d(n_colors, G0, RDNkSize, padding=pad)
        self.SFENet2 = nn.Conv2d(G0, G0, RDNkSize, padding=pad)
        self.RDBs = nn.ModuleList(
            [ResidualDenseBlock(G0, growth, n_convs, RDNkSize) for _ in range(n_blocks)]
        )
        self.GFF = nn.Sequential(
            nn.Conv2d(n_blocks * G0, G0, 1), nn.Conv2d(G0, G0, RDNkSize, padding=pad)
        )
        self.out_dim = G0
        self.receptive_radius = pad * (3 + n_blocks * n_convs)

    def forward(self, x: torch.Tensor, should_stop: StopCheck = None) -> torch.Tensor:
        """Latent codes of ``x``; ``should_stop`` is polled before each dense conv (an RDB of
        config B is ~2.7 MFLOP per pixel, too coarse a step for a prompt cancel on a CPU)."""
        shallow = self.SFENet1(x)
        x = self.SFENet2(shallow)
        block_outputs = []
        for block in self.RDBs:
            x = block(x, should_stop)
            block_outputs.append(x)
        return self.GFF(torch.cat(block_outputs, 1)) + shallow

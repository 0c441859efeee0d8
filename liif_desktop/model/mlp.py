"""The implicit decoder's MLP (``imnet``): Linear/ReLU stack named ``layers.N``."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected network with ReLU between layers and a linear output.

    Parameters
    ----------
    in_dim, out_dim
        Input and output widths.
    hidden_list
        Widths of the hidden layers, e.g. ``[256, 256, 256, 256]``.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_list: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(last, hidden), nn.ReLU(inplace=True)]
            last = hidden
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def linear_layers(self) -> list[nn.Linear]:
        """The ``nn.Linear`` modules in order."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]

"""Coordinates of the LIIF convention.

An image of ``n`` pixels along an axis spans [-1, 1]; pixel ``i`` has its centre at
``-1 + (2i + 1) / n``. Points are stored as (y, x). The *cell* of a query is the size of its
output pixel in the same units: ``(2 / H_out, 2 / W_out)``.
"""

from __future__ import annotations

import torch


def pixel_centres(n: int, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Centres of pixels ``start..stop-1`` of an ``n``-pixel axis, in [-1, 1] (float32).

    The arithmetic mirrors the reference implementation so results agree bit for bit.
    """
    stop = n if stop is None else stop
    radius = 1.0 / n
    return -1.0 + radius + (2 * radius) * torch.arange(start, stop).float()


def grid_coords(height: int, width: int) -> torch.Tensor:
    """All pixel centres of a ``height × width`` grid as an (H*W, 2) tensor of (y, x)."""
    ys = pixel_centres(height)
    xs = pixel_centres(width)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).view(-1, 2)


def nearest_index(coord: torch.Tensor, n: int) -> torch.Tensor:
    """Index of the pixel of an ``n``-pixel axis nearest to ``coord`` (values in (-1, 1)).

    Same arithmetic and rounding (half to even) as ``grid_sample(mode='nearest',
    align_corners=False)``, clamped to the valid range.
    """
    pos = ((coord + 1) * n - 1) / 2
    return torch.round(pos).clamp_(0, n - 1).long()

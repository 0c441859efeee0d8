"""Encoding a window of an image from that window plus a halo of context.

A latent code depends on the input pixels within the encoder's receptive radius. Encoding a
crop with zero padding at its cut edges changes the codes near those edges; a halo of input
pixels around the window keeps the change inside the discarded border. The halo each
encoder needs for tiled output to match whole-image output within 1e-3 is measured by
``benchmarks/halo.py`` and recorded in :data:`DEFAULT_HALO`.
"""

from __future__ import annotations

import torch

from liif_desktop.model.liif import LIIF
from liif_desktop.model.stop import StopCheck

#: Input pixels of context per side, per encoder family (see benchmarks/halo.py).
DEFAULT_HALO = {"edsr": 18, "rdn": 24}


def default_halo(model: LIIF) -> int:
    """The measured halo for this model's encoder family, capped at its receptive radius."""
    family = "rdn" if type(model.encoder).__name__.startswith("RDN") else "edsr"
    return min(DEFAULT_HALO[family], model.receptive_radius)


def unit_float(pixels: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Samples in [0, 1]: floats unchanged; uint8 / uint16 divided by their top in float32,
    then cast to ``dtype`` (as a float32 image cast to ``dtype`` would be)."""
    if pixels.is_floating_point():
        return pixels
    top = 65535.0 if pixels.dtype == torch.uint16 else 255.0
    return pixels.float().div_(top).to(dtype)


def encode_window(
    model: LIIF,
    image: torch.Tensor,
    rows: tuple[int, int],
    cols: tuple[int, int],
    halo: int,
    should_stop: StopCheck = None,
) -> torch.Tensor:
    """Latent codes of ``image[:, rows, cols]`` computed from the window plus a halo.

    Parameters
    ----------
    model
        The LIIF model.
    image
        (3, H, W) in [0, 1], on the model's device; or uint8 / uint16 samples, converted
        window by window (:func:`unit_float`), so a huge image need not be held as floats.
    rows, cols
        Half-open window in image pixels (= latent pixels).
    halo
        Extra input pixels per side (clipped at the image borders, where the encoder's own
        zero padding is what the whole-image encoding sees too).
    should_stop
        Polled between encoder blocks (raises ``Cancelled``).

    Returns
    -------
    torch.Tensor
        (C, rows, cols) latent codes.
    """
    _, height, width = image.shape
    top, bottom = max(0, rows[0] - halo), min(height, rows[1] + halo)
    left, right = max(0, cols[0] - halo), min(width, cols[1] + halo)
    dtype = next(model.parameters()).dtype
    crop = unit_float(image[:, top:bottom, left:right], dtype).unsqueeze(0)
    feat = model.encode(crop, should_stop)[0]
    return feat[:, rows[0] - top : rows[1] - top, cols[0] - left : cols[1] - left]

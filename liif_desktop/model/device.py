"""Choosing a torch device without hard-coding one."""

from __future__ import annotations

import torch


def select_device(preference: str = "auto") -> torch.device:
    """Return the device to run on.

    Parameters
    ----------
    preference
        ``'auto'`` (CUDA, then Apple MPS, then CPU), or an explicit ``'cpu'``, ``'cuda'``,
        ``'cuda:N'`` or ``'mps'``.

    Raises
    ------
    ValueError
        If an explicit device is requested but not available here.
    """
    pref = preference.strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available")
    if pref == "mps" and not torch.backends.mps.is_available():
        raise ValueError("Apple MPS was requested but is not available on this machine")
    try:
        return torch.device(pref)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {preference!r}") from exc


def describe_device(device: torch.device) -> str:
    """A short human label such as ``'CPU (2 threads)'`` or the GPU's name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"

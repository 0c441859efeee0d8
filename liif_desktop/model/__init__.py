"""LIIF models: encoders, the implicit decoder, checkpoints. Imports torch and numpy only."""

from liif_desktop.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from liif_desktop.model.device import select_device
from liif_desktop.model.liif import LIIF, build_liif

__all__ = [
    "LIIF",
    "CheckpointError",
    "build_liif",
    "load_checkpoint",
    "save_checkpoint",
    "select_device",
]

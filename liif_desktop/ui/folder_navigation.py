"""Next / previous image in the folder of the open file (as image viewers do)."""

from __future__ import annotations

import re
from pathlib import Path

from liif_desktop import appinfo


def _natural_key(path: Path) -> list[object]:
    """``img2`` before ``img10``, case-insensitive."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def folder_images(folder: Path) -> list[Path]:
    """The images the app opens in ``folder``, in natural name order (hidden files left out)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    images = [
        p
        for p in entries
        if p.suffix.lower() in appinfo.IMAGE_TYPES and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(images, key=_natural_key)


def sibling_image(path: Path, step: int) -> Path | None:
    """The image ``step`` places after (negative: before) ``path`` in its folder, wrapping
    around; None when the folder holds no other image."""
    images = folder_images(path.parent)
    if not images or (len(images) == 1 and images[0] == path):
        return None
    if path in images:
        index = images.index(path)
    else:  # the open file was deleted or renamed: go from where it would sort
        keys = [_natural_key(p) for p in images]
        index = sum(1 for k in keys if k < _natural_key(path)) - (1 if step > 0 else 0)
    return images[(index + step) % len(images)]

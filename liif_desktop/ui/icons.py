"""qtawesome icons tinted with the current palette, so they follow light and dark themes."""

from __future__ import annotations

import qtawesome
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication


def themed_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The Material Design icon ``name`` (``'magnify-plus-outline'``) in the text colour."""
    pal = palette if palette is not None else QApplication.palette()
    return qtawesome.icon(
        f"mdi6.{name}",
        color=pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText),
        color_disabled=pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText),
    )

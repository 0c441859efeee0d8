"""Bundled resources for the Qt side (paths come from :mod:`liif_desktop.appinfo`, which
resolves them in a checkout and in a frozen PyInstaller bundle alike)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

from liif_desktop import appinfo


def sample_image_path() -> Path | None:
    """The bundled sample page, or None when it is not there."""
    path = appinfo.resource_path(appinfo.SAMPLE_PAGE)
    return path if path.is_file() else None


def app_icon() -> QIcon:
    """The application icon at every bundled size (empty if the icons are missing)."""
    icon = QIcon()
    for path in appinfo.icon_paths():
        if path.is_file():
            icon.addFile(str(path))
    return icon


def image_file_filter() -> str:
    """Name filter for the open dialog: the image types the app is associated with, PDF."""
    patterns = " ".join(f"*{ext}" for ext in appinfo.IMAGE_TYPES)
    return f"Images and PDFs ({patterns} *.pdf);;PDF documents (*.pdf);;All files (*)"

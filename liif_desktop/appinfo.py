"""App metadata in one place: names, version, identifiers, file types, bundled resources.

No Qt here: the packaging scripts, the CLI and the tests read it too. The installers
(``packaging/``) repeat some of these values in formats that cannot import Python (the
``.desktop`` file, the Inno Setup script); ``tests/test_packaging.py`` checks they agree.
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from pathlib import Path, PurePosixPath

from liif_desktop import __version__

APP_NAME = "LIIF Desktop"
"""Display name (window titles, menus, installers)."""

VERSION = __version__

ORGANIZATION_NAME = "LIIF Desktop developers"
ORGANIZATION_DOMAIN = "liif-desktop.github.io"
MAINTAINER = "LIIF Desktop developers <liif-desktop@users.noreply.github.com>"
"""Maintainer of the installers (Debian ``Maintainer`` field, AppStream developer)."""

BUNDLE_ID = "io.github.liif_desktop.LIIFDesktop"
"""Reverse-DNS identifier: macOS ``CFBundleIdentifier`` and the AppStream component id."""

WINDOWS_APP_USER_MODEL_ID = "LIIFDesktop.LIIFDesktop"
"""Windows AppUserModelID (taskbar grouping, file-association ProgIDs' prefix)."""

INSTALLER_GUID = str(uuid.uuid5(uuid.NAMESPACE_DNS, BUNDLE_ID)).upper()
"""Inno Setup ``AppId``: fixed for the life of the app so upgrades replace older versions."""

GUI_EXECUTABLE = "liif-desktop"
CLI_EXECUTABLE = "liif-upscale"
PACKAGE_NAME = "liif-desktop"
"""Name of the Debian package, the install folder (``/opt/liif-desktop``) and the icon."""

SUMMARY = "Continuous-scale super-resolution image viewer"
DESCRIPTION = (
    "LIIF Desktop enlarges photos and scanned documents to any scale with a Local Implicit "
    "Image Function (LIIF) network. Zoom in and the visible part of the image is "
    "super-resolved on the fly; export whole images or batches at any size. Runs on the CPU; "
    "the model weights are bundled."
)
LICENSE = "BSD-3-Clause"

IMAGE_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
"""File extensions the app opens (and installers associate with it), and their MIME types."""

MIME_TYPES: tuple[str, ...] = tuple(dict.fromkeys(IMAGE_TYPES.values()))
"""The distinct MIME types of ``IMAGE_TYPES``, in order."""

SAMPLE_PAGE = "sample_page.png"
"""The bundled low-resolution scanned page the app opens when given no file."""

ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256, 512, 1024)
"""Sizes of ``icons/liif-desktop-<size>.png`` in the resources folder."""


def bundled_dir(name: str, env_var: str) -> Path:
    """A folder shipped with the app: ``$env_var`` if set, else ``name`` inside a frozen
    (PyInstaller) bundle (``sys._MEIPASS``), else ``name`` at the repository root."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / name
    return Path(__file__).resolve().parent.parent / name


def resources_dir() -> Path:
    """Folder of the bundled resources (sample page, icons).

    ``LIIF_DESKTOP_RESOURCES`` overrides it; a frozen (PyInstaller) app uses ``resources/``
    inside its bundle (``sys._MEIPASS``); a checkout uses ``resources/`` at the repository root.
    """
    return bundled_dir("resources", "LIIF_DESKTOP_RESOURCES")


def resource_path(name: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path('sample_page.png')``.

    Parameters
    ----------
    name
        Path relative to the resources folder, with ``/`` separators.

    Returns
    -------
    Path
        Where the file is; it is not checked for existence.

    Raises
    ------
    ValueError
        ``name`` is absolute or climbs out of the resources folder.
    """
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or "\\" in name:
        raise ValueError(f"not a resource name: {name!r}")
    return resources_dir().joinpath(*relative.parts)


def icon_paths() -> list[Path]:
    """The app icon's PNG files, smallest first (for a multi-size window icon)."""
    return [resource_path(f"icons/{PACKAGE_NAME}-{size}.png") for size in ICON_SIZES]


def shell_assignments() -> str:
    """The metadata as POSIX shell assignments (``APP_NAME='LIIF Desktop'`` ...).

    ``eval "$(python -m liif_desktop.appinfo)"`` gives the packaging scripts the same values
    as the app, from this one place.
    """
    values = {
        "APP_NAME": APP_NAME,
        "APP_VERSION": VERSION,
        "APP_SUMMARY": SUMMARY,
        "APP_DESCRIPTION": DESCRIPTION,
        "APP_LICENSE": LICENSE,
        "APP_MAINTAINER": MAINTAINER,
        "APP_BUNDLE_ID": BUNDLE_ID,
        "APP_INSTALLER_GUID": INSTALLER_GUID,
        "APP_PACKAGE": PACKAGE_NAME,
        "APP_GUI_EXE": GUI_EXECUTABLE,
        "APP_CLI_EXE": CLI_EXECUTABLE,
        "APP_MIME_TYPES": ";".join(MIME_TYPES),
        "APP_EXTENSIONS": " ".join(ext.lstrip(".") for ext in IMAGE_TYPES),
        "APP_ICON_SIZES": " ".join(str(size) for size in ICON_SIZES),
    }
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


if __name__ == "__main__":
    sys.stdout.write(shell_assignments())

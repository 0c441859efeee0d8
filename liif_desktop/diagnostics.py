"""What a user sends with a bug report: system info and a rotating log file (no Qt).

``system_info()`` is what Help ▸ Copy system info puts on the clipboard; ``start_logging()``
keeps ``liif-desktop.log`` (1 MB, 3 old copies) in the platform's log folder.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from liif_desktop import __version__
from liif_desktop.cpuinfo import SPEED_FLAGS, cpu_flags, cpu_model

LOG_NAME = "liif-desktop.log"
LOG_BYTES = 1 << 20
LOG_BACKUPS = 3
PACKAGES = ("torch", "numpy", "pillow", "PySide6-Essentials", "PySide6", "qtawesome")
log = logging.getLogger("liif_desktop")


def log_dir() -> Path:
    """The platform's folder for this app's logs (``LIIF_DESKTOP_LOG_DIR`` overrides).

    Linux ``$XDG_STATE_HOME/liif-desktop`` (default ``~/.local/state/liif-desktop``), macOS
    ``~/Library/Logs/LIIF Desktop``, Windows ``%LOCALAPPDATA%\\LIIF Desktop\\Logs``.
    """
    env = os.environ.get("LIIF_DESKTOP_LOG_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "LIIF Desktop" / "Logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "LIIF Desktop"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "liif-desktop"


def start_logging(folder: Path | None = None) -> Path | None:
    """Log the app's INFO and above to a rotating file; returns its path (None if the folder
    cannot be written: the app runs on without a log)."""
    path = (folder or log_dir()) / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in [h for h in log.handlers if getattr(h, "liif_log", False)]:
        log.removeHandler(old)
        old.close()
    handler.liif_log = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info("LIIF Desktop %s started (Python %s, %s)", __version__, sys.version.split()[0],
             platform.platform())  # fmt: skip
    return path


def current_log_file() -> Path | None:
    for handler in log.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def system_info(details: dict[str, str] | None = None) -> str:
    """Plain text for a bug report: app, Python, OS, packages, CPU and its flags, plus
    ``details`` (device, precision, models ... from the caller)."""
    lines = [
        f"LIIF Desktop {__version__}",
        f"Python {platform.python_version()} ({sys.executable})",
        f"OS {platform.platform()}",
    ]
    seen: set[str] = set()
    for package in PACKAGES:
        version = _version(package)
        key = package.split("-")[0].lower()
        if version and key not in seen:
            seen.add(key)
            lines.append(f"{package} {version}")
    flags = [name for name, present in cpu_flags().items() if present]
    lines.append(f"CPU {cpu_model()}, {os.cpu_count()} logical cores")
    lines.append(
        "CPU flags " + (" ".join(flags) if flags else "(none of " + ", ".join(SPEED_FLAGS) + ")")
    )
    for key, value in (details or {}).items():
        lines.append(f"{key}: {value}")
    log_file = current_log_file()
    lines.append(f"Log file: {log_file if log_file else '(none)'}")
    return "\n".join(lines)

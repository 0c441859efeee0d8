"""Keep a restored window on the screen it opens on."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


def clamp_rect(rect: QRect, available: QRect) -> QRect:
    """``rect`` shrunk to fit ``available`` and moved inside it (its size kept when it fits)."""
    width = min(rect.width(), available.width())
    height = min(rect.height(), available.height())
    x = min(max(rect.x(), available.left()), available.left() + available.width() - width)
    y = min(max(rect.y(), available.top()), available.top() + available.height() - height)
    return QRect(x, y, width, height)


def keep_on_screen(window: QWidget) -> None:
    """Shrink and move ``window`` so that it, frame included, lies on its screen.

    Settings saved on a larger monitor (or at another scale) can restore a window bigger than
    the screen, with its status bar out of reach.
    """
    screen = QGuiApplication.screenAt(window.geometry().center()) or window.screen()
    if screen is None:
        screen = QGuiApplication.primaryScreen()
    if screen is None:
        return
    frame = window.frameGeometry()
    inner = window.geometry()
    # Frame sizes are known only once the window manager has decorated the window.
    extra_w = max(0, frame.width() - inner.width())
    extra_h = max(0, frame.height() - inner.height())
    target = clamp_rect(frame, screen.availableGeometry())
    if target == frame:
        return
    window.resize(target.width() - extra_w, target.height() - extra_h)
    window.move(target.topLeft())

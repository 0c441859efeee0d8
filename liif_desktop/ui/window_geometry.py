"""Keep a restored window on the screen it opens on."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

UNKNOWN_FRAME = (8, 40)
"""(side/bottom, top) frame allowance in pixels for a window not yet decorated."""


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
    if frame == inner and not window.isVisible():
        # The window manager adds its frame only once the window is shown: leave room for a
        # typical one, so that the title bar and the status bar both stay on screen.
        side, top = UNKNOWN_FRAME
        frame = inner.adjusted(-side, -top, side, side)
    extra_w = max(0, frame.width() - inner.width())
    extra_h = max(0, frame.height() - inner.height())
    target = clamp_rect(frame, screen.availableGeometry())
    if target == frame:
        return
    window.resize(target.width() - extra_w, target.height() - extra_h)
    window.move(target.topLeft())

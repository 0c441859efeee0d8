"""The first start: show what LIIF does, not a tooltip about it.

On the very first start the bundled sample page opens in split view at 400 % on its rows of
small digits: bicubic left of the divider, LIIF right. Help ▸ Show the difference brings the
same view back later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer

if TYPE_CHECKING:
    from liif_desktop.ui.main_window import MainWindow

FIRST_START_KEY = "app/first_start_shown"
SAMPLE_FOCUS = (205.0, 655.0)
"""Image point of the sample page to centre on: its four rows of small digits."""
SAMPLE_ZOOM = 4.0
MESSAGE = "Left bicubic, right LIIF: drag the divider (S: split off, F1: how it works)"


def is_first_start(store: QSettings) -> bool:
    value = store.value(FIRST_START_KEY, False)
    return not (value is True or str(value).lower() == "true")


def show_the_difference(window: MainWindow) -> None:
    """Split view at 400 % on the part of the open image that shows the difference best
    (the sample page's digits; the image centre otherwise)."""
    canvas = window.canvas
    image = window.image
    if image is None:
        return
    h, w = image.rgb.shape[:2]
    is_sample = image.name.startswith("sample_page")
    x, y = SAMPLE_FOCUS if is_sample and w >= SAMPLE_FOCUS[0] else (w / 2, h / 2)
    window.act_split.setChecked(True)
    canvas.set_zoom(SAMPLE_ZOOM)
    canvas.center_on(x, y)
    canvas.set_split_position(0.5)
    window.statusBar().showMessage(MESSAGE, 30_000)


def maybe_show_first_screen(window: MainWindow) -> bool:
    """On the first start only: :func:`show_the_difference` once the window has its size."""
    store = window.settings.store
    if not is_first_start(store):
        return False
    store.setValue(FIRST_START_KEY, True)
    QTimer.singleShot(0, lambda: show_the_difference(window))
    return True

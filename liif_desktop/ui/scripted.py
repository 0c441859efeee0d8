"""Scripted runs: set a view, wait until its tiles are refined, save a grab, quit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from liif_desktop.ui.main_window import MainWindow

POLL_MS = 50


class ScreenshotJob(QObject):
    """Drives a shown :class:`MainWindow` to a view and saves a grab of it.

    When the view is refined the window is grabbed to ``out`` and the application exits
    with 0; on a timeout or a failed save it prints why and exits with 3.
    """

    def __init__(
        self,
        window: MainWindow,
        out: Path,
        *,
        zoom: float | None,
        center: tuple[float, float] | None,
        timeout_s: float,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.out = out
        self.zoom = zoom
        self.center = center
        self.timeout_s = timeout_s
        self._deadline = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._on_timer_tick)

    def start(self) -> None:
        QTimer.singleShot(0, self._set_view)

    def _set_view(self) -> None:
        canvas = self.window.canvas
        if self.zoom is not None:
            canvas.set_zoom(self.zoom)
        if self.center is not None:
            canvas.center_on(*self.center)
        self._deadline = time.monotonic() + self.timeout_s
        self._timer.start()

    def _on_timer_tick(self) -> None:
        canvas = self.window.canvas
        if canvas.is_refined():
            self._timer.stop()
            self.out.parent.mkdir(parents=True, exist_ok=True)
            if self.window.grab().save(str(self.out)):
                QApplication.exit(0)
            else:
                print(f"liif-desktop: could not write {self.out}", file=sys.stderr)
                QApplication.exit(3)
        elif time.monotonic() > self._deadline:
            self._timer.stop()
            done, total = canvas.progress()
            print(
                f"liif-desktop: timed out after {self.timeout_s:g} s with {done}/{total} tiles "
                "refined; no screenshot written",
                file=sys.stderr,
            )
            QApplication.exit(3)

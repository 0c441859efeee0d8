"""An editable zoom box: pick a preset or type any value (``370``, ``370 %``, ``3.7x``)."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

PRESETS = (25, 50, 100, 200, 300, 400, 800, 1600)
FIT_WINDOW = "Fit window"
FIT_WIDTH = "Fit width"
_NUMBER = r"(\d+(?:[.,]\d*)?|[.,]\d+)"


def parse_zoom(text: str) -> float | None:
    """A zoom factor from user text: ``'370'``/``'370 %'`` → 3.7, ``'3.7x'``/``'×3.7'`` → 3.7.

    Returns None when the text is not a positive number.
    """
    t = text.strip().lower().replace(" ", "")
    factor = re.fullmatch(rf"[x×]{_NUMBER}|{_NUMBER}[x×]", t)
    if factor:
        value = float((factor.group(1) or factor.group(2)).replace(",", "."))
    else:
        percent = re.fullmatch(rf"{_NUMBER}%?", t)
        if not percent:
            return None
        value = float(percent.group(1).replace(",", ".")) / 100.0
    return value if value > 0 else None


def format_zoom(zoom: float) -> str:
    """``3.7`` → ``'370 %'`` (one decimal below 10 %)."""
    percent = zoom * 100
    return f"{percent:.1f} %" if percent < 10 else f"{percent:.0f} %"


class ZoomBox(QComboBox):
    """Emits ``zoomRequested(factor)``, ``fitWindowRequested()`` or ``fitWidthRequested()``,
    then ``entered()`` (the window hands the focus back to the image, so the next shortcut
    letter is not typed into the box)."""

    zoomRequested = Signal(float)
    fitWindowRequested = Signal()
    fitWidthRequested = Signal()
    invalidEntered = Signal(str)
    entered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItems([FIT_WINDOW, FIT_WIDTH] + [f"{p} %" for p in PRESETS])
        self.setMinimumContentsLength(8)
        self.setToolTip("Zoom: pick a level or type any value, e.g. 370 %")
        self._zoom = 1.0
        self.activated.connect(self._on_item_activated)
        line = self.lineEdit()
        assert line is not None
        line.returnPressed.connect(self._on_text_entered)

    def show_zoom(self, zoom: float) -> None:
        """Display the current zoom without emitting anything."""
        self._zoom = zoom
        self.setEditText(format_zoom(zoom))

    def _on_item_activated(self, index: int) -> None:
        text = self.itemText(index)
        if text == FIT_WINDOW:
            self.fitWindowRequested.emit()
        elif text == FIT_WIDTH:
            self.fitWidthRequested.emit()
        else:
            self._request(text)
            return
        self.entered.emit()

    def _on_text_entered(self) -> None:
        self._request(self.currentText())

    def _request(self, text: str) -> None:
        zoom = parse_zoom(text)
        if zoom is None:
            self.invalidEntered.emit(text)
            self.show_zoom(self._zoom)
            return
        self.zoomRequested.emit(zoom)
        self.entered.emit()

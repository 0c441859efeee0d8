"""Help ▸ Keyboard shortcuts: every action's keys, from the actions themselves."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from liif_desktop.ui.shortcuts import shortcut_table

MOUSE_ROWS = (
    ("Zoom about the cursor", "Wheel (Ctrl+wheel when the wheel scrolls), pinch"),
    ("Pan", "Drag, scroll bars, arrow keys"),
    ("Select a region", "Shift+drag"),
    ("Move the split divider", "Drag it"),
)


class ShortcutListDialog(QDialog):
    """A table of action → keys (built when opened, so it never goes stale)."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_table(actions) + list(MOUSE_ROWS)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (action, keys) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(action))
            self.table.setItem(i, 1, QTableWidgetItem(keys))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 620)

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(i, 0).text(), self.table.item(i, 1).text())  # type: ignore[union-attr]
            for i in range(self.table.rowCount())
        ]

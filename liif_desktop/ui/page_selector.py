"""The export dialog's "Pages" row: this page, all pages or a range; files or one document."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QWidget

from liif_desktop.export.pages import parse_page_range

THIS, ALL, RANGE = "this", "all", "range"


class PageSelector(QWidget):
    """Which pages of a PDF or multi-page TIFF to export, and how.

    Parameters
    ----------
    page, page_count
        The page shown (1-based) and the file's page count.

    Signals
    -------
    changed
        The choice changed.
    """

    changed = Signal()

    def __init__(self, page: int, page_count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page, self.page_count = page, page_count
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItem(f"This page ({page})", THIS)
        self.mode_combo.addItem(f"All {page_count} pages", ALL)
        self.mode_combo.addItem("Pages:", RANGE)
        self.range_edit = QLineEdit(self)
        self.range_edit.setPlaceholderText(f"e.g. 2-4,7 (1–{page_count})")
        self.range_edit.setToolTip("Pages and ranges separated by commas; '5-' runs to the end")
        self.combine_check = QCheckBox("as one PDF / TIFF", self)
        self.combine_check.setToolTip(
            "Write the pages into one multi-page file (PDF when the name ends in .pdf, else "
            "TIFF); unchecked: one image file per page, named …_pN"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.mode_combo, self.range_edit, self.combine_check):
            row.addWidget(w)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.range_edit.textChanged.connect(lambda _t: self.changed.emit())
        self.combine_check.toggled.connect(lambda _on: self.changed.emit())
        self._on_mode_changed()

    def pages(self) -> list[int]:
        """The chosen pages, in order (raises ValueError for a bad or empty range)."""
        mode = self.mode_combo.currentData()
        if mode == THIS:
            return [self.page]
        if mode == ALL:
            return list(range(1, self.page_count + 1))
        pages = parse_page_range(self.range_edit.text(), self.page_count)
        if not pages:
            raise ValueError(f"no pages in 1–{self.page_count} are selected")
        return pages

    @property
    def several(self) -> bool:
        """True unless only the page shown is chosen."""
        try:
            return self.pages() != [self.page]
        except ValueError:
            return True

    @property
    def combine(self) -> bool:
        return self.combine_check.isChecked() and self.several

    def _on_mode_changed(self, *_: object) -> None:
        self.range_edit.setEnabled(self.mode_combo.currentData() == RANGE)
        self.combine_check.setEnabled(self.mode_combo.currentData() != THIS)
        self.changed.emit()


__all__ = ["PageSelector"]

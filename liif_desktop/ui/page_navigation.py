"""Page navigation for PDFs and multi-page TIFFs: PgUp/PgDn, a page box, per-page views."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSpinBox, QToolBar, QWidget

from liif_desktop.ui.canvas import FitMode, ImageCanvas
from liif_desktop.ui.image_loading import ViewerImage


@dataclass(frozen=True)
class PageView:
    """Where the user left a page: zoom and the source point at the view's centre.

    ``fitted`` pages are fitted to the window again instead (the window may have changed).
    """

    zoom: float
    center: tuple[float, float]
    fitted: bool


def page_label(page: int | None, count: int) -> str:
    """``'page 3 / 12'`` for the status bar; empty for single images."""
    return f"page {page} / {count}" if page is not None and count > 1 else ""


class PageNavigator(QObject):
    """Pages of the shown file: actions, a page box, a status label and each page's view.

    The window opens the requested page (``pageRequested``) and calls :meth:`image_shown`
    with every image it shows; the navigator records the view being left and restores the
    view of a page seen before. Views are kept per (file, page) for the session.

    Signals
    -------
    pageRequested(int)
        The user asked for this page (1-based) of the current file.
    """

    pageRequested = Signal(int)

    def __init__(self, parent: QWidget, canvas: ImageCanvas) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self._key: tuple[str, int] | None = None
        self.page: int | None = None
        self.count = 1
        self._views: dict[tuple[str, int], PageView] = {}

        self.act_previous = QAction("Pre&vious page", parent)
        self.act_previous.setShortcut(QKeySequence(Qt.Key.Key_PageUp))
        self.act_previous.setToolTip("Previous page (PgUp)")
        self.act_previous.triggered.connect(lambda: self.go_to((self.page or 1) - 1))
        self.act_next = QAction("&Next page", parent)
        self.act_next.setShortcut(QKeySequence(Qt.Key.Key_PageDown))
        self.act_next.setToolTip("Next page (PgDn)")
        self.act_next.triggered.connect(lambda: self.go_to((self.page or 1) + 1))

        self.page_box = QSpinBox()
        self.page_box.setPrefix("Page ")
        self.page_box.setKeyboardTracking(False)  # go on Enter, not on every digit typed
        self.page_box.setToolTip("Page of the document (type a number and press Enter)")
        self.page_box.valueChanged.connect(self._on_page_box_value_changed)
        self.toolbar = QToolBar("Pages", parent)
        self.toolbar.setObjectName("pagesToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addAction(self.act_previous)
        self.toolbar.addWidget(self.page_box)
        self.toolbar.addAction(self.act_next)
        self.status_label = QLabel("")
        self._sync()

    # -- the window calls these ---------------------------------------------------------
    def image_shown(self, image: ViewerImage) -> None:
        """Record the view being left and restore ``image``'s, if it was seen before.

        Call it after the canvas has the new image.
        """
        self._key = (str(image.path), image.page or 1) if image.path is not None else None
        self.page, self.count = image.page, image.page_count
        self._sync()
        view = self._views.get(self._key) if self._key is not None else None
        if view is not None and not view.fitted:
            self.canvas.set_zoom(view.zoom)
            self.canvas.center_on(*view.center)

    def leaving(self) -> None:
        """Remember the current page's view (call before the canvas gets another image)."""
        view = self.canvas.view
        if self._key is None or view is None:
            return
        vw, vh = view.viewport
        center = view.screen_to_image(vw / 2, vh / 2)
        fitted = self.canvas.fit_mode == FitMode.WINDOW
        self._views[self._key] = PageView(self.canvas.zoom, center, fitted)

    def go_to(self, page: int) -> bool:
        """Ask for ``page`` of the current file; False when there is no such page."""
        if self.page is None or not 1 <= page <= self.count or page == self.page:
            return False
        self.pageRequested.emit(page)
        return True

    def view_of(self, path: Path, page: int) -> PageView | None:
        """The view remembered for ``page`` of ``path``, if any."""
        return self._views.get((str(path), page))

    # -- internals ------------------------------------------------------------------------
    def _sync(self) -> None:
        paged = self.page is not None and self.count > 1
        self.toolbar.setVisible(paged)
        self.act_previous.setEnabled(paged and (self.page or 1) > 1)
        self.act_next.setEnabled(paged and (self.page or 1) < self.count)
        self.page_box.blockSignals(True)
        self.page_box.setRange(1, max(1, self.count))
        self.page_box.setSuffix(f" / {self.count}")
        self.page_box.setValue(self.page or 1)
        self.page_box.blockSignals(False)
        self.status_label.setText(page_label(self.page, self.count))
        self.status_label.setVisible(paged)

    def _on_page_box_value_changed(self, value: int) -> None:
        if not self.go_to(value):
            self._sync()


__all__ = ["PageNavigator", "PageView", "page_label"]

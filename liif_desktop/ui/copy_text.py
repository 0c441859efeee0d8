"""Selection ▸ Copy text: tesseract on the super-resolved selection, text to the clipboard."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QWidget

from liif_desktop.export.region_text import (
    MAX_OCR_SCALE,
    MIN_OCR_SCALE,
    OcrError,
    OcrRequest,
    find_tesseract,
    read_region,
)
from liif_desktop.model.liif import LIIF

MISSING_TIP = (
    "Reading text needs the tesseract OCR program, which was not found on the PATH "
    "(install it, e.g. `apt install tesseract-ocr` or `brew install tesseract`, and restart)"
)

#: Builds the request on the GUI thread: (request without generation, model) or None.
RequestMaker = Callable[[], tuple[OcrRequest, LIIF | None] | None]


class CopyText(QObject):
    """The "Copy text" action and its background job.

    Where tesseract is missing, ``act_copy_text`` is hidden and ``act_missing`` (disabled,
    with the reason as its tooltip) shows in its place.

    Signals
    -------
    finished(str)
        The text copied (empty when none was found), after it is on the clipboard.
    failed(str)
        Why no text could be read.
    """

    finished = Signal(str)
    failed = Signal(str)
    _done = Signal(int, str, str)

    def __init__(
        self,
        parent: QWidget,
        make_request: RequestMaker,
        show_status: Callable[[str], None],
        find: Callable[[], str | None] = find_tesseract,
    ) -> None:
        super().__init__(parent)
        self.tesseract = find()
        self._make_request = make_request
        self._status = show_status
        self._generation = 0
        self.busy = False
        self.act_copy_text = QAction("Copy &text", parent)
        self.act_copy_text.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.act_copy_text.setToolTip(
            f"Read the selection's text with tesseract (on the LIIF output at "
            f"×{MIN_OCR_SCALE:g}–×{MAX_OCR_SCALE:g}) and put it on the clipboard"
        )
        self.act_copy_text.triggered.connect(self.start)
        self.act_missing = QAction("Copy text (tesseract not found)", parent)
        self.act_missing.setEnabled(False)
        self.act_missing.setToolTip(MISSING_TIP)
        self.act_missing.setStatusTip(MISSING_TIP)
        available = self.tesseract is not None
        self.act_copy_text.setVisible(available)
        self.act_missing.setVisible(not available)
        self._done.connect(self._on_worker_done, Qt.ConnectionType.QueuedConnection)

    def set_selection_present(self, present: bool) -> None:
        self.act_copy_text.setEnabled(present and self.tesseract is not None)

    def start(self) -> bool:
        """Read the current selection in the background; False when there is nothing to do."""
        if self.tesseract is None:
            return False
        made = self._make_request()
        if made is None:
            self._status("Select a region first (Shift+drag or R), then Copy text")
            return False
        request, model = made
        self._generation += 1
        generation = self._generation
        tesseract = self.tesseract
        self.busy = True
        self._status(f"Reading the text of the selection (×{request.scale:g})…")

        def work() -> None:
            try:
                text, error = read_region(request, model, tesseract), ""
            except OcrError as exc:
                text, error = "", str(exc)
            except Exception as exc:  # report, never crash the worker silently
                text, error = "", f"{exc.__class__.__name__}: {exc}"
            self._done.emit(generation, text, error)

        threading.Thread(target=work, name="copy-text", daemon=True).start()
        return True

    def _on_worker_done(self, generation: int, text: str, error: str) -> None:
        if generation != self._generation:
            return  # a newer request is running
        self.busy = False
        if error:
            self._status(f"Copy text failed: {error}")
            self.failed.emit(error)
            return
        if text:
            QGuiApplication.clipboard().setText(text)
            words = len(text.split())  # status-bar room is short beside the permanent labels
            self._status(f"Copied {words} word{'s' if words != 1 else ''}")
        else:
            self._status("No text found")
        self.finished.emit(text)


__all__ = ["MISSING_TIP", "CopyText"]

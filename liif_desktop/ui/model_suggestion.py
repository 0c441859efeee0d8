"""The model suggestion as an info bar a user cannot miss: "This looks like a scanned page …".

When an opened image looks like a page and a photo model is in use (or the other way round),
a bar above the image says so, with the reason, and offers **[Use it]** and **[Keep the photo
model]**. The answer is remembered in the settings:

- *Use it* → from then on the suggested model is switched to automatically (a status message
  says so), in both directions: the Document model for pages, the photo model for photos.
- *Keep …* → the bar is not shown again; Model ▸ Use the suggested model (Ctrl+D) stays.
- Closing the bar (×) answers nothing: it comes back for the next document, not for the
  other pages of this one.

Pages do not switch automatically before the user has said yes once: the page heuristic can
misfire (a photo of a whiteboard, a screenshot of text), the Document model loses 0.24 dB on
photos (Set5 ×4), and a silent switch would change the look and speed of the view without the
user knowing why. One click makes it automatic.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from liif_desktop.weights import ModelInfo

ASK, ALWAYS, NEVER = "ask", "always", "never"
ANSWER_KEY = "model/suggestion_answer"


def stored_answer(store: QSettings) -> str:
    """The remembered answer: ``'ask'`` (default), ``'always'`` or ``'never'``."""
    value = str(store.value(ANSWER_KEY, ASK))
    return value if value in (ASK, ALWAYS, NEVER) else ASK


class SuggestionBar(QFrame):
    """An info bar: a message, [Use it], [Keep …] and a close button.

    Signals
    -------
    useClicked, keepClicked, closeClicked
        The user's answer.
    """

    useClicked = Signal()
    keepClicked = Signal()
    closeClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("suggestionBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#suggestionBar { background: palette(tool-tip-base); border: 1px solid palette(mid); }"
        )
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.use_button = QPushButton("Use it", self)
        self.keep_button = QPushButton("Keep the photo model", self)
        self.close_button = QToolButton(self)
        self.close_button.setText("×")
        self.close_button.setToolTip("Dismiss (ask again for the next document)")
        self.close_button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.message, 1)
        for w in (self.use_button, self.keep_button, self.close_button):
            layout.addWidget(w)
        self.use_button.clicked.connect(self.useClicked)
        self.keep_button.clicked.connect(self.keepClicked)
        self.close_button.clicked.connect(self.closeClicked)
        self.hide()

    def offer(self, message: str, keep_label: str) -> None:
        """Show ``message`` with [Use it] and [``keep_label``]."""
        self.message.setText(message)
        self.keep_button.setText(keep_label)
        self.show()


class ModelSuggestions(QObject):
    """Decides what a suggestion does: show the bar, switch at once, or only note it.

    Parameters
    ----------
    bar
        The bar to show.
    store
        Where the answer is remembered.
    use_suggested
        Switches to the suggested model (the window's ``use_suggested_model``).
    show_status
        Shows a status-bar message.
    return_focus_to
        Gets the keyboard focus when the bar is answered (the canvas, so PgDn goes on).
    """

    def __init__(
        self,
        bar: SuggestionBar,
        store: QSettings,
        use_suggested: Callable[[], bool],
        show_status: Callable[[str], None],
        return_focus_to: QWidget | None = None,
    ) -> None:
        super().__init__(bar)
        self.bar = bar
        self._focus = return_focus_to
        self._suggested_kind = ""
        self.store = store
        self._use = use_suggested
        self._status = show_status
        self._document: str | None = None
        self._dismissed: set[str] = set()
        bar.useClicked.connect(self._on_bar_use_clicked)
        bar.keepClicked.connect(self._on_bar_keep_clicked)
        bar.closeClicked.connect(self._on_bar_close_clicked)

    def offer(
        self,
        is_page: bool,
        reason: str,
        suggested: ModelInfo | None,
        current: ModelInfo | None,
        document: str | None,
    ) -> None:
        """A newly shown image and the model suggested for it (None: nothing to suggest).

        ``document`` names the file (all pages of a PDF share it) so that a dismissed bar
        stays away for the rest of that document.
        """
        self._document = document
        self._suggested_kind = "Document" if is_page else "photo"
        if suggested is None or current is None:
            self.bar.hide()
            return
        answer = stored_answer(self.store)
        kind = "a scanned page" if is_page else "a photo"
        if answer == ALWAYS:
            self.bar.hide()
            if self._use():  # status-bar space is short: keep this line short
                self._status(f"{self._suggested_kind.capitalize()} model on (your choice)")
            return
        if answer == NEVER or (document is not None and document in self._dismissed):
            self.bar.hide()
            return
        if is_page:
            benefit = "the Document model renders small text more faithfully"
        else:
            benefit = f"{suggested.name} renders photos more faithfully"
        keep = "Keep the photo model" if is_page else f"Keep {current.name}"
        self.bar.offer(f"This looks like {kind} ({reason}) — {benefit}.", keep)

    def _hide_bar(self) -> None:
        self.bar.hide()
        if self._focus is not None:
            self._focus.setFocus()

    def _on_bar_use_clicked(self) -> None:
        self.store.setValue(ANSWER_KEY, ALWAYS)
        self._hide_bar()
        if self._use():
            self._status(f"Now using the {self._suggested_kind} model (automatic from now on)")

    def _on_bar_keep_clicked(self) -> None:
        self.store.setValue(ANSWER_KEY, NEVER)
        self._hide_bar()
        self._status("Kept the current model (Ctrl+D switches)")

    def _on_bar_close_clicked(self) -> None:
        if self._document is not None:
            self._dismissed.add(self._document)
        self._hide_bar()


__all__ = ["ALWAYS", "ANSWER_KEY", "ASK", "NEVER", "ModelSuggestions", "SuggestionBar"]

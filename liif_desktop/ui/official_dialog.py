"""Model ▸ Get the official LIIF-RDN…: from the authors' download to a listed model.

The dialog says what the file is and where the authors publish it, takes the downloaded file by
drag-and-drop or a file chooser, and runs :func:`liif_desktop.official.install_download` in a
worker thread (verify, strip the optimizer state, write atomically) with progress and Cancel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from liif_desktop import official
from liif_desktop.official import InstallOutcome, InstallStep, install_download
from liif_desktop.render.cancel import CancelToken
from liif_desktop.ui.export_dialog import JobRunner
from liif_desktop.weights import read_manifest

#: The bundled model the text compares against (its measured figure comes from the manifest).
_REFERENCE_ID = "edsr-baseline-liif"


def _intro_html(spec: official.OfficialFile) -> str:
    q = spec.quality
    reference = next((m for m in read_manifest() if m.id == _REFERENCE_ID), None)
    measured = reference.psnr() if reference is not None else None
    compare = f"; the bundled EDSR-baseline measures Set5 {measured:.2f} dB" if measured else ""
    set5, set14, b100 = (q[name]["x4"] for name in ("Set5", "Set14", "B100"))
    return (
        f"<p><b>{spec.name}</b> is the model the LIIF paper reports its best results with. "
        f"The authors publish its checkpoint, <b>{spec.file_name}</b>, on a file host linked "
        f"from their repository's README: "
        f"<a href='{spec.page}'>{spec.page.removeprefix('https://')}</a>. "
        "It cannot be bundled or fetched for you; download it there (a minute), then drop it "
        "here or choose it.</p>"
        f"<p><b>The file:</b> {spec.size / 1e6:.1f} MB ({spec.size:,} bytes), a training "
        "save of which about two thirds is optimizer state. LIIF Desktop checks its size and "
        "sha256, reads it safely (weights only: no code in it can run), and keeps only the "
        "model part in your model folder, in the authors' layout.</p>"
        f"<p><b>Quality</b> (the paper's figures, ×4 PSNR): Set5 {set5:.2f} dB, Set14 "
        f"{set14:.2f} dB, B100 {b100:.2f} dB{compare}. <b>Speed:</b> about "
        f"{q['relative_time']:.0f}× the time per view of EDSR-baseline on a CPU, so "
        "EDSR-baseline still opens first; once installed, "
        f"{spec.name} is selected, and your choice in the Model menu is remembered.</p>"
    )


class DropArea(QLabel):
    """A framed target that takes one dropped local file.

    Signals
    -------
    fileDropped(str)
        The path of the dropped file.
    """

    fileDropped = Signal(str)

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Sunken)
        self.setMinimumHeight(72)
        self.setWordWrap(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.fileDropped.emit(files[0])


class OfficialModelDialog(QDialog):
    """Get the official LIIF-RDN: explains, verifies and installs the authors' download.

    Signals
    -------
    modelAdded(object, bool)
        The :class:`~liif_desktop.weights.ModelInfo` installed, and whether it is the official
        model (False: the file was added as a user model).
    """

    modelAdded = Signal(object, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        spec = self._spec = official.OFFICIAL_RDN
        self.setWindowTitle(f"Get the official {spec.name.split(' (')[0]}")
        self.outcome: InstallOutcome | None = None
        self.runner = JobRunner(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.runner.progressed.connect(self._on_runner_progressed, queued)
        self.runner.failed.connect(self._on_runner_failed, queued)
        self.runner.cancelled.connect(self._on_runner_cancelled, queued)
        self.runner.finished.connect(self._on_runner_finished, queued)

        intro = QLabel(_intro_html(spec), self)
        intro.setWordWrap(True)
        intro.setOpenExternalLinks(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        sha = QLabel(f"sha256 {spec.sha256}", self)
        sha.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = sha.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        sha.setFont(font)
        self.drop_area = DropArea(f"Drop the downloaded {spec.file_name} here", self)
        self.drop_area.fileDropped.connect(self.install)
        self.choose_button = QPushButton("Choose file…", self)
        self.choose_button.clicked.connect(self._on_choose_clicked)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label = QLabel(self._installed_text(), self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)

        choose_row = QHBoxLayout()
        choose_row.addStretch(1)
        choose_row.addWidget(self.choose_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(sha)
        layout.addWidget(self.drop_area)
        layout.addLayout(choose_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.setMinimumWidth(560)
        self.resize(640, self.sizeHint().height())

    def _installed_text(self) -> str:
        info = official.installed_model(self._spec)
        if info is None:
            return "Not installed yet."
        return f"Installed: {info.path}"

    def _on_choose_clicked(self) -> None:
        start = Path.home() / "Downloads"
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"The downloaded {self._spec.file_name}",
            str(start if start.is_dir() else Path.home()),
            "Checkpoints (*.pth *.pt);;All files (*)",
        )
        if path:
            self.install(path)

    def install(self, path: str | Path) -> None:
        """Verify and install ``path`` in the background (ignored while a job runs)."""
        if self.runner.is_running():
            return
        source, spec = Path(path), self._spec  # captured on the GUI thread

        def job(token: CancelToken) -> Iterator[InstallStep]:
            return install_download(source, token, spec)

        self.outcome = None
        self._set_running(True)
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Checking {source.name}…")
        self.runner.start(job)

    def cancel(self) -> None:
        """Stop a running install; nothing is left behind."""
        if self.runner.is_running():
            self.status_label.setText("Cancelling…")
            self.runner.cancel()

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.choose_button.setEnabled(not running)
        self.drop_area.setEnabled(not running)

    def _on_runner_progressed(self, item: Any) -> None:
        if not isinstance(item, InstallStep):
            return
        self.progress_bar.setValue(round(item.fraction * 1000))
        if item.outcome is None:
            self.status_label.setText(item.text)
            return
        self.outcome = item.outcome
        self.status_label.setText(item.outcome.message)
        self.modelAdded.emit(item.outcome.model, item.outcome.official)

    def _on_runner_failed(self, message: str) -> None:
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Not installed: {message}")

    def _on_runner_cancelled(self) -> None:
        self.progress_bar.setValue(0)
        self.status_label.setText("Cancelled; nothing was copied.")

    def _on_runner_finished(self) -> None:
        self._set_running(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait(30)
        super().closeEvent(event)

    def reject(self) -> None:  # Esc: cancel a running install first, close otherwise
        if self.runner.is_running():
            self.cancel()
            return
        super().reject()


__all__ = ["DropArea", "OfficialModelDialog"]

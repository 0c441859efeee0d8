"""Batch export dialog: many files and folders upscaled in the background, one row each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from liif_desktop.export.batch import (
    BatchEvent,
    BatchItem,
    BatchSettings,
    BatchSummary,
    collect_inputs,
    run_batch,
)
from liif_desktop.export.job import ExportSettings
from liif_desktop.export.naming import DEFAULT_PATTERN, PATTERN_FIELDS, validate_pattern
from liif_desktop.export.page_items import expand_pages
from liif_desktop.export.pages import INPUT_SUFFIXES
from liif_desktop.export.safety import OverwritePolicy
from liif_desktop.model.decoder import Cancelled
from liif_desktop.render.cancel import CancelToken
from liif_desktop.ui.export_dialog import (
    APPLICATION,
    ORGANISATION,
    POLICY_LABELS,
    FormatChooser,
    JobButtons,
    JobRunner,
    ModelLoader,
    SizeChooser,
    as_bool,
    default_model_loader,
    format_duration,
)
from liif_desktop.weights import all_models

COL_FILE, COL_STATUS, COL_DETAIL = range(3)


class BatchExportDialog(QDialog):
    """Upscale many images: rows with status, progress with ETA, cancel, a summary.

    Parameters
    ----------
    parent
        Owner window (non-modal: ``show()`` keeps the window usable while a batch runs).
    model_id
        Model to preselect (catalogue id or checkpoint path); None: the remembered or first
        available one.
    model_loader, settings
        Overrides for tests / embedding: how to load a model id, where settings live.

    Signals
    -------
    batch_finished(object)
        The :class:`~liif_desktop.export.batch.BatchSummary` (also after cancel or failure).
    """

    batch_finished = Signal(object)

    def __init__(
        self,
        parent: QWidget | None,
        model_id: str | None,
        *,
        model_loader: ModelLoader | None = None,
        settings: QSettings | None = None,
        precision: str = "auto",
    ) -> None:
        super().__init__(parent)
        self.precision = precision
        self.setWindowTitle("Batch export")
        self.setModal(False)
        self.setAcceptDrops(True)
        self._load_model = model_loader or default_model_loader
        self.store = settings if settings is not None else QSettings(ORGANISATION, APPLICATION)
        self.items: list[BatchItem] = []
        self.summary: BatchSummary | None = None
        self._row_of: dict[Path, int] = {}
        self.runner = JobRunner(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.runner.progressed.connect(self._on_runner_progressed, queued)
        self.runner.failed.connect(self._on_runner_failed, queued)
        self.runner.cancelled.connect(self._on_runner_cancelled, queued)
        self.runner.finished.connect(self._on_runner_finished, queued)
        self._build()
        self._restore(model_id)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["File", "Status", "Output / reason"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_FILE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_DETAIL, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(180)
        self.add_files_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear")
        self.recursive_check = QCheckBox("Include sub-folders")
        self.add_files_button.clicked.connect(self._on_add_files_clicked)
        self.add_folder_button.clicked.connect(self._on_add_folder_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.clear_button.clicked.connect(self.clear_inputs)
        input_row = QHBoxLayout()
        for w in (
            self.add_files_button,
            self.add_folder_button,
            self.remove_button,
            self.clear_button,
        ):
            input_row.addWidget(w)
        input_row.addWidget(self.recursive_check)
        input_row.addStretch(1)
        hint = QLabel("Drop image files or folders here.")
        hint.setEnabled(False)

        self.size_chooser = SizeChooser(self, "Fit in")
        self.format_chooser = FormatChooser(self)
        self.output_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        self.pattern_edit = QLineEdit(DEFAULT_PATTERN)
        self.pattern_edit.setToolTip(
            "Fields: " + ", ".join("{" + k + "}: " + v for k, v in PATTERN_FIELDS.items())
        )
        self.pattern_edit.textChanged.connect(self._on_pattern_changed)
        self.policy_combo = QComboBox()
        for policy, label in POLICY_LABELS.items():
            self.policy_combo.addItem(label, policy.value)
        self.model_combo = QComboBox()
        for info in all_models():
            if info.available:
                self.model_combo.addItem(info.name, info.id)
        form = QFormLayout()
        form.addRow("Output size", self.size_chooser)
        form.addRow("Format", self.format_chooser)
        form.addRow("Output folder", out_row)
        form.addRow("Name pattern", self.pattern_edit)
        form.addRow("If a file exists", self.policy_combo)
        form.addRow("Model", self.model_combo)

        self.file_progress = QProgressBar()
        self.file_progress.setRange(0, 1000)
        self.file_progress.setFormat("this file %p%")
        self.overall_progress = QProgressBar()
        self.overall_progress.setRange(0, 1000)
        self.overall_progress.setFormat("all files %p%")
        self.status_label = QLabel("Add images to start.")
        self.status_label.setWordWrap(True)
        buttons = JobButtons("Start", self.start, self.cancel, self.close)
        self.start_button = buttons.start_button
        self.cancel_button = buttons.cancel_button
        self.close_button = buttons.close_button

        layout = QVBoxLayout(self)
        layout.addLayout(input_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.file_progress)
        layout.addWidget(self.overall_progress)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.resize(720, 620)

    def _restore(self, model_id: str | None) -> None:
        s = self.store
        self.size_chooser.restore(s, "batch")
        self.format_chooser.set_format(str(s.value("batch/format", "PNG")))
        self.format_chooser.quality_spin.setValue(int(s.value("batch/quality", 92)))  # type: ignore[call-overload]
        self.output_edit.setText(str(s.value("batch/output_dir", "")))
        self.pattern_edit.setText(str(s.value("batch/pattern", DEFAULT_PATTERN)))
        index = self.policy_combo.findData(str(s.value("batch/policy", "rename")))
        self.policy_combo.setCurrentIndex(max(0, index))
        self.recursive_check.setChecked(as_bool(s.value("batch/recursive", False)))
        chosen = model_id or str(s.value("batch/model", "")) or None
        if chosen:
            index = self.model_combo.findData(chosen)
            if index < 0:  # a checkpoint path, or a model not in the catalogue
                self.model_combo.addItem(Path(chosen).name or chosen, chosen)
                index = self.model_combo.count() - 1
            self.model_combo.setCurrentIndex(index)

    def save_settings(self) -> None:
        """Remember the choices (QSettings, organisation "LIIF Desktop")."""
        s = self.store
        self.size_chooser.save(s, "batch")
        s.setValue("batch/format", self.format_chooser.format())
        s.setValue("batch/quality", self.format_chooser.quality_spin.value())
        s.setValue("batch/output_dir", self.output_edit.text().strip())
        s.setValue("batch/pattern", self.pattern_edit.text())
        s.setValue("batch/policy", str(self.policy_combo.currentData()))
        s.setValue("batch/recursive", self.recursive_check.isChecked())
        if self.model_combo.currentData():
            s.setValue("batch/model", str(self.model_combo.currentData()))
        s.sync()

    # -- inputs ------------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> int:
        """Add files and folders (folders expanded now, recursively if checked)."""
        added = 0
        for item in collect_inputs(list(paths), recursive=self.recursive_check.isChecked()):
            key = item.source.absolute()
            if key in self._row_of:
                continue
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(str(item.subfolder / item.source.name))
            name.setToolTip(str(item.source))
            self.table.setItem(row, COL_FILE, name)
            self.table.setItem(row, COL_STATUS, QTableWidgetItem("waiting"))
            self.table.setItem(row, COL_DETAIL, QTableWidgetItem(""))
            self._row_of[key] = row
            self.items.append(item)
            added += 1
        self.table.resizeColumnToContents(COL_FILE)
        self.status_label.setText(f"{len(self.items)} images to export.")
        return added

    def clear_inputs(self) -> None:
        if self.runner.is_running():
            return
        self.items.clear()
        self._row_of.clear()
        self.table.setRowCount(0)

    def _on_remove_clicked(self) -> None:
        if self.runner.is_running():
            return
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
            del self.items[row]
        self._row_of = {item.source.absolute(): i for i, item in enumerate(self.items)}

    def _on_add_files_clicked(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(INPUT_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add images", "", f"Images ({patterns});;All files (*)"
        )
        self.add_paths(files)

    def _on_add_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of images")
        if folder:
            self.add_paths([folder])

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and not self.runner.is_running():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    def _on_pattern_changed(self, text: str) -> None:
        try:
            validate_pattern(text)
        except ValueError as exc:
            self.pattern_edit.setStyleSheet("color: #c62828")
            self.pattern_edit.setToolTip(str(exc))
            self.start_button.setEnabled(False)
            return
        self.pattern_edit.setStyleSheet("")
        self.start_button.setEnabled(not self.runner.is_running())

    # -- running -----------------------------------------------------------------------
    def batch_settings(self, allow_huge: bool = False) -> BatchSettings:
        """The settings the form describes (raises ValueError if incomplete)."""
        folder = self.output_edit.text().strip()
        if not folder:
            raise ValueError("choose an output folder")
        export = ExportSettings(
            size=self.size_chooser.output_size(),
            format=self.format_chooser.format(),
            quality=self.format_chooser.quality_spin.value(),
            policy=OverwritePolicy(str(self.policy_combo.currentData())),
            precision=self.precision,  # type: ignore[arg-type]
        )
        return BatchSettings(
            export, Path(folder).expanduser(), self.pattern_edit.text(), allow_huge
        )

    def start(self) -> None:
        """Start exporting every row in the background."""
        self.start_items(self.items)

    def start_items(self, items: list[BatchItem], allow_huge: bool = False) -> None:
        """Start exporting ``items`` in the background."""
        if self.runner.is_running():
            return
        todo = list(items)
        if not todo:
            self.status_label.setText("Add images first (buttons above, or drop them here).")
            return
        try:
            settings = self.batch_settings(allow_huge)
        except ValueError as exc:
            self.status_label.setText(f"Cannot start: {exc}.")
            return
        model_id = str(self.model_combo.currentData() or "")
        if not model_id:
            self.status_label.setText("Cannot start: no model is available.")
            return
        self.save_settings()
        for item in todo:
            self._set_row(item.source, "waiting", "")
        self.summary = None
        self._set_running(True)
        self.status_label.setText("Loading the model…")
        self.runner.start(self._make_job(todo, settings, model_id))

    def _make_job(
        self, items: list[BatchItem], settings: BatchSettings, model_id: str
    ) -> Callable[[CancelToken], Iterator[object]]:
        loader = self._load_model

        def job(token: CancelToken) -> Iterator[object]:
            model = loader(model_id)
            if token():
                raise Cancelled
            # PDFs and multi-page TIFFs: every page is a unit of work (counted here, off the
            # GUI thread; a file that cannot be counted is reported by the batch).
            yield from run_batch(expand_pages(items), model, settings, token)

        return job

    def cancel(self) -> None:
        """Stop after cleaning up the current file (finished files stay)."""
        if self.runner.is_running():
            self.status_label.setText("Cancelling…")
            self.runner.cancel()

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.start_button.setEnabled(not running)
        for w in (
            self.add_files_button,
            self.add_folder_button,
            self.remove_button,
            self.clear_button,
            self.size_chooser,
            self.format_chooser,
            self.output_edit,
            self.pattern_edit,
            self.policy_combo,
            self.model_combo,
        ):
            w.setEnabled(not running)

    def _set_row(self, source: Path | None, status: str, detail: str) -> None:
        if source is None:
            return
        row = self._row_of.get(source.absolute())
        if row is None:
            return
        status_item = self.table.item(row, COL_STATUS)
        detail_item = self.table.item(row, COL_DETAIL)
        if status_item is not None:
            status_item.setText(status)
        if detail_item is not None:
            detail_item.setText(detail)
            detail_item.setToolTip(detail)

    def row_status(self, source: Path) -> tuple[str, str]:
        """(status, detail) shown for ``source``."""
        row = self._row_of[source.absolute()]
        status, detail = self.table.item(row, COL_STATUS), self.table.item(row, COL_DETAIL)
        return (status.text() if status else "", detail.text() if detail else "")

    def _on_runner_progressed(self, ev: Any) -> None:
        if not isinstance(ev, BatchEvent):
            return
        self.overall_progress.setValue(round(ev.overall_fraction * 1000))
        if ev.kind == "file_started":
            self.file_progress.setValue(0)
            self._set_row(ev.source, "working", "")
        elif ev.kind == "progress":
            self.file_progress.setValue(round(ev.file_fraction * 1000))
            self._set_row(ev.source, f"{ev.file_fraction * 100:.0f}%", "")
            name = ev.source.name if ev.source else ""
            self.status_label.setText(
                f"File {ev.index + 1} of {ev.total}: {name} — about "
                f"{format_duration(ev.file_eta)} left for this file, "
                f"{format_duration(ev.eta)} for all"
            )
        elif ev.kind == "file_done":
            self.file_progress.setValue(1000)
            detail = str(ev.output) + (f" (note: {ev.message})" if ev.message else "")
            self._set_row(ev.source, "done", detail)
        elif ev.kind == "file_skipped":
            self._set_row(ev.source, "skipped", f"{ev.output} exists")
        elif ev.kind == "file_failed":
            self._set_row(ev.source, "failed", ev.message)
        elif ev.kind == "finished" and ev.summary is not None:
            self.summary = ev.summary

    def _on_runner_failed(self, message: str) -> None:
        self.status_label.setText(f"The batch could not run: {message}")

    def _on_runner_cancelled(self) -> None:
        self.summary = BatchSummary(cancelled=True)

    def _on_runner_finished(self) -> None:
        self._set_running(False)
        summary = self.summary
        if summary is None:  # the job failed before the batch began (e.g. the model)
            summary = BatchSummary()
            self.batch_finished.emit(summary)
            return
        text = f"Finished: {summary.describe()}."
        if summary.failed:
            text += " Failed files are listed with their reason."
        self.status_label.setText(text)
        self.overall_progress.setValue(1000)
        self.batch_finished.emit(summary)
        if summary.too_large and not summary.cancelled:
            self._offer_huge(summary.too_large)

    def _offer_huge(self, paths: list[Path]) -> None:
        answer = QMessageBox.question(
            self,
            "Very large images",
            f"{len(paths)} image(s) exceed the safety limit for image files (a guard against "
            "decompression bombs). Export them anyway?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            wanted = {p.absolute() for p in paths}
            todo = [i for i in self.items if i.source.absolute() in wanted]
            self.start_items(todo, allow_huge=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait(30)
        self.save_settings()
        super().closeEvent(event)

    def reject(self) -> None:  # Esc: cancel a running batch first, close otherwise
        if self.runner.is_running():
            self.cancel()
            return
        super().reject()


__all__ = ["BatchExportDialog"]

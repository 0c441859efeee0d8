"""Export dialog: the current image (or a region of it) upscaled to a file, in the background.

Also holds :class:`JobRunner`, which the batch dialog shares: it runs an export generator in a
worker thread and hands its progress items to the GUI thread through queued signals. The
worker never touches widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from liif_desktop.export.imageio import ImageLoadError, LoadedImage
from liif_desktop.export.imagewrite import FORMAT_SUFFIXES, format_for_suffix
from liif_desktop.export.invention_map import export_with_map
from liif_desktop.export.job import ExportProgress, ExportSettings, OutputSize, export_image
from liif_desktop.export.multipage import multipage_format
from liif_desktop.export.naming import format_duration, format_scale
from liif_desktop.export.page_exports import export_page_selection
from liif_desktop.export.pages import load_page
from liif_desktop.export.safety import ExportError, OverwritePolicy
from liif_desktop.model.checkpoint import CheckpointError
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cancel import CancelToken
from liif_desktop.ui.desktop_open import open_folder
from liif_desktop.ui.page_selector import PageSelector
from liif_desktop.weights import WeightsError, default_model, find_model, load_model

ORGANISATION = "LIIF Desktop"
APPLICATION = "LIIF Desktop"
FORMAT_LABELS = {"PNG": "PNG", "JPEG": "JPEG", "TIFF": "TIFF", "WEBP": "WebP"}
POLICY_LABELS = {
    OverwritePolicy.RENAME: "Keep both (rename the new file)",
    OverwritePolicy.SKIP: "Skip",
    OverwritePolicy.OVERWRITE: "Overwrite",
}
ModelLoader = Callable[[str], LIIF]
SCALE_PRESETS = (2, 4)


def model_display_name(model_id: str) -> str:
    """The catalogue name of ``model_id`` (a checkpoint path: its file name)."""
    if not model_id:
        return "(best available)"
    try:
        return find_model(model_id).name
    except WeightsError:
        return model_id


def default_model_loader(model_id: str) -> LIIF:
    """Load a catalogue model or checkpoint path on the CPU ('' : the best available)."""
    if not model_id:
        info = default_model()
        if info is None:
            raise WeightsError("no model is available; fetch one or add a checkpoint")
        return load_model(info)
    return load_model(model_id)


class JobRunner(QObject):
    """Runs a job generator in a Python thread; items arrive as queued signals.

    Signals
    -------
    progressed(object)
        Each item the generator yields.
    failed(str)
        The job raised; the message says why.
    cancelled()
        The job stopped because :meth:`cancel` was called.
    finished()
        Always last, whatever happened; emitted on the GUI thread once the worker thread has
        ended, so a handler may :meth:`start` the next job at once.

    The GUI thread owns the job's lifecycle: a job counts as running from :meth:`start` until
    the worker's end has been handled there (not merely until its thread exits), so there is
    no moment at which ``finished`` has been seen but a new job is refused, or the other way
    round.
    """

    progressed = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()
    _worker_ended = Signal(object)  # the thread that ended; internal, queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._token = CancelToken()
        self._worker_ended.connect(self._on_worker_ended, Qt.ConnectionType.QueuedConnection)

    def is_running(self) -> bool:
        """True from :meth:`start` until ``finished`` is emitted."""
        return self._thread is not None

    def start(self, job: Callable[[CancelToken], Iterator[object]]) -> None:
        """Run ``job(cancel_token)`` in the background and relay what it yields."""
        if self.is_running():
            raise RuntimeError("a job is already running")
        self._token = CancelToken()
        token = self._token
        self._thread = threading.Thread(target=self._run, args=(job, token), daemon=True)
        self._thread.start()

    def _run(self, job: Callable[[CancelToken], Iterator[object]], token: CancelToken) -> None:
        try:
            for item in job(token):
                if not self._emit(self.progressed, item):
                    token.cancel()  # nobody is listening any more
        except Cancelled:
            self._emit(self.cancelled)
        except (ImageLoadError, ExportError, WeightsError, CheckpointError, OSError) as exc:
            self._emit(self.failed, str(exc))
        except Exception as exc:  # shown to the user rather than lost in a thread
            self._emit(self.failed, f"{exc.__class__.__name__}: {exc}")
        finally:
            self._emit(self._worker_ended, threading.current_thread())

    def _on_worker_ended(self, thread: threading.Thread) -> None:
        # Queued after everything the worker emitted; the thread has only its return left.
        thread.join()
        if thread is self._thread:
            self._thread = None
            self.finished.emit()

    @staticmethod
    def _emit(signal: Any, *args: object) -> bool:
        # The dialog may have been deleted while the worker finished: drop the message.
        try:
            signal.emit(*args)
        except RuntimeError:
            return False
        return True

    def cancel(self) -> None:
        self._token.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker thread; True if it has ended (``finished`` follows from the loop)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()


class JobButtons(QHBoxLayout):
    """Start / Cancel / Close, right-aligned: the button row of the export and batch dialogs."""

    def __init__(
        self,
        start_text: str,
        on_start: Callable[[], object],
        on_cancel: Callable[[], object],
        on_close: Callable[[], object],
    ) -> None:
        super().__init__()
        self.start_button = QPushButton(start_text)
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(on_start)
        self.cancel_button.clicked.connect(on_cancel)
        self.close_button.clicked.connect(on_close)
        self.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.close_button):
            self.addWidget(button)


class SizeChooser(QWidget):
    """Scale factor, or a target width/height (with or without keeping the aspect ratio)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, fit_label: str = "Size") -> None:
        super().__init__(parent)
        self.scale_radio = QRadioButton("Scale ×")
        self.size_radio = QRadioButton(fit_label)
        group = QButtonGroup(self)
        group.addButton(self.scale_radio)
        group.addButton(self.size_radio)
        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(0.1, 64.0)
        self.scale_spin.setDecimals(2)
        self.scale_spin.setSingleStep(0.5)
        self.scale_spin.setValue(2.0)
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(1, 100_000)
            spin.setSuffix(" px")
            spin.setValue(1920 if spin is self.width_spin else 1080)
        self.keep_aspect = QCheckBox("Keep aspect ratio")
        self.keep_aspect.setChecked(True)
        self.scale_radio.setChecked(True)
        row1 = QHBoxLayout()
        row1.addWidget(self.scale_radio)
        row1.addWidget(self.scale_spin)
        self.preset_buttons: list[QPushButton] = []
        for factor in SCALE_PRESETS:
            button = QPushButton(f"×{factor}")
            button.setToolTip(f"Scale by {factor}")
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, f=factor: self.set_scale(f))
            self.preset_buttons.append(button)
            row1.addWidget(button)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.size_radio)
        row2.addWidget(self.width_spin)
        row2.addWidget(QLabel("×"))
        row2.addWidget(self.height_spin)
        row2.addWidget(self.keep_aspect)
        row2.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row1)
        layout.addLayout(row2)
        for w in (self.scale_radio, self.size_radio, self.keep_aspect):
            w.toggled.connect(self._on_option_changed)
        self.scale_spin.valueChanged.connect(self._on_option_changed)
        for int_spin in (self.width_spin, self.height_spin):
            int_spin.valueChanged.connect(self._on_option_changed)
        self._on_option_changed()

    def set_scale(self, factor: float) -> None:
        """Choose "Scale ×" with ``factor`` (the ×2 / ×4 buttons)."""
        self.scale_radio.setChecked(True)
        self.scale_spin.setValue(factor)

    def _on_option_changed(self, *_: object) -> None:
        by_scale = self.scale_radio.isChecked()
        self.scale_spin.setEnabled(by_scale)
        for w in (self.width_spin, self.height_spin, self.keep_aspect):
            w.setEnabled(not by_scale)
        self.changed.emit()

    def output_size(self) -> OutputSize:
        if self.scale_radio.isChecked():
            return OutputSize(scale=self.scale_spin.value())
        return OutputSize(
            width=self.width_spin.value(),
            height=self.height_spin.value(),
            keep_aspect=self.keep_aspect.isChecked(),
        )

    def save(self, store: QSettings, prefix: str) -> None:
        store.setValue(f"{prefix}/by_scale", self.scale_radio.isChecked())
        store.setValue(f"{prefix}/scale", self.scale_spin.value())
        store.setValue(f"{prefix}/width", self.width_spin.value())
        store.setValue(f"{prefix}/height", self.height_spin.value())
        store.setValue(f"{prefix}/keep_aspect", self.keep_aspect.isChecked())

    def restore(self, store: QSettings, prefix: str) -> None:
        by_scale = as_bool(store.value(f"{prefix}/by_scale", True))
        (self.scale_radio if by_scale else self.size_radio).setChecked(True)
        self.scale_spin.setValue(float(store.value(f"{prefix}/scale", 2.0)))  # type: ignore[arg-type]
        self.width_spin.setValue(int(store.value(f"{prefix}/width", 1920)))  # type: ignore[call-overload]
        self.height_spin.setValue(int(store.value(f"{prefix}/height", 1080)))  # type: ignore[call-overload]
        self.keep_aspect.setChecked(as_bool(store.value(f"{prefix}/keep_aspect", True)))


def as_bool(value: object) -> bool:
    """QSettings' INI backend returns booleans as strings."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class FormatChooser(QWidget):
    """Output format and quality (quality only where the format is lossy)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.format_combo = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format_combo.addItem(label, key)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(92)
        self.quality_spin.setPrefix("quality ")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.format_combo)
        layout.addWidget(self.quality_spin)
        layout.addStretch(1)
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self._on_format_changed()

    def _on_format_changed(self, *_: object) -> None:
        self.quality_spin.setEnabled(self.format() in ("JPEG", "WEBP"))
        self.changed.emit()

    def format(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, fmt: str) -> None:
        index = self.format_combo.findData(fmt)
        if index >= 0:
            self.format_combo.setCurrentIndex(index)


class ExportDialog(QDialog):
    """Upscale the current image (or a region) to a file, with progress, ETA and cancel.

    Parameters
    ----------
    parent
        Owner window (the dialog is non-modal: ``show()`` keeps the window usable).
    image_path
        The file the image came from (its metadata, alpha and 16-bit samples are used when it
        still matches ``image``), or None.
    image
        (H, W, 3) float32 RGB in [0, 1] as shown.
    model_id
        Catalogue id or checkpoint path of the model to use.
    region
        (x, y, w, h) in source pixels to export only that part, or None.
    model_loader, settings
        How to load a model id (the main window shares the viewer's loaded model), where
        settings live.
    precision
        The viewer's precision (``'auto'``: measured on this machine).

    Signals
    -------
    export_finished(object)
        The written :class:`~pathlib.Path`, or None (cancelled, failed, skipped).
    """

    export_finished = Signal(object)

    def __init__(
        self,
        parent: QWidget | None,
        image_path: Path | None,
        image: np.ndarray,
        model_id: str,
        region: tuple[int, int, int, int] | None = None,
        *,
        model_loader: ModelLoader | None = None,
        settings: QSettings | None = None,
        precision: str = "auto",
        page: int | None = None,
        page_count: int = 1,
    ) -> None:
        super().__init__(parent)
        self.precision = precision
        self.setWindowTitle("Export selection" if region else "Export image")
        self.page = page  # of a PDF or multi-page TIFF (1-based), None for an image
        self.page_count = page_count
        self.setModal(False)
        self.image_path = Path(image_path) if image_path is not None else None
        self.image = image
        self.model_id = model_id
        self.region = region
        self._load_model = model_loader or default_model_loader
        self.store = settings if settings is not None else QSettings(ORGANISATION, APPLICATION)
        self.runner = JobRunner(self)
        self.runner.progressed.connect(
            self._on_runner_progressed, Qt.ConnectionType.QueuedConnection
        )
        self.runner.failed.connect(self._on_runner_failed, Qt.ConnectionType.QueuedConnection)
        self.runner.cancelled.connect(self._on_runner_cancelled, Qt.ConnectionType.QueuedConnection)
        self.runner.finished.connect(self._on_runner_finished, Qt.ConnectionType.QueuedConnection)
        self._written: Path | None = None
        self._build()
        self._restore()
        self._on_settings_changed()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        h, w = self.image.shape[:2]
        what = f"{w}×{h} px"
        if self.region is not None:
            x, y, rw, rh = self.region
            what = f"region {rw}×{rh} at ({x}, {y}) of {w}×{h} px"
        name = self.image_path.name if self.image_path else "image"
        self.source_label = QLabel(f"{name} — {what}")
        self.size_chooser = SizeChooser(self, "Size")
        self.result_label = QLabel()
        self.format_chooser = FormatChooser(self)
        self.output_edit = QLineEdit()
        self._name_chosen = False  # once the user names the file, stop suggesting names
        self.output_edit.textEdited.connect(self._on_output_edited)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        self.policy_combo = QComboBox()
        for policy, label in POLICY_LABELS.items():
            self.policy_combo.addItem(label, policy.value)
        form = QFormLayout()
        form.addRow("Source", self.source_label)
        self.page_selector: PageSelector | None = None
        if self.page is not None and self.page_count > 1 and self.region is None:
            self.page_selector = PageSelector(self.page, self.page_count, self)
            form.addRow("Pages", self.page_selector)
        form.addRow("Output size", self.size_chooser)
        form.addRow("", self.result_label)
        form.addRow("Format", self.format_chooser)
        form.addRow("Save as", out_row)
        form.addRow("If it exists", self.policy_combo)
        model_label = QLabel(model_display_name(self.model_id))
        model_label.setToolTip(self.model_id)
        form.addRow("Model", model_label)
        self.invention_check = QCheckBox("Also save the invented-detail map (NAME.invented.png)")
        self.invention_check.setToolTip(
            "A greyscale picture, the size of the output: white where the enlargement depends "
            "most on what the model invented rather than on the input."
        )
        form.addRow("", self.invention_check)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label = QLabel("Ready")
        self.status_label.setWordWrap(True)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Show the exported file's folder")
        self.open_folder_button.setAutoDefault(False)
        self.open_folder_button.setEnabled(False)
        self.open_folder_button.clicked.connect(self.open_output_folder)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.open_folder_button)
        buttons = JobButtons("Export", self.start, self.cancel, self.close)
        self.start_button = buttons.start_button
        self.cancel_button = buttons.cancel_button
        self.close_button = buttons.close_button
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addLayout(status_row)
        layout.addLayout(buttons)
        self.size_chooser.changed.connect(self._on_settings_changed)
        self.format_chooser.changed.connect(self._on_format_changed)

    def _source_size(self) -> tuple[int, int]:
        if self.region is not None:
            return self.region[3], self.region[2]
        return int(self.image.shape[0]), int(self.image.shape[1])

    def _restore(self) -> None:
        # The folder used last wins; else the image's own folder; else home.
        last = str(self.store.value("export/folder", ""))
        if last and Path(last).is_dir():
            self._default_folder = Path(last)
        elif self.image_path is not None:
            self._default_folder = self.image_path.parent
        else:
            self._default_folder = Path.home()
        self.size_chooser.restore(self.store, "export")
        self.format_chooser.set_format(str(self.store.value("export/format", "PNG")))
        self.format_chooser.quality_spin.setValue(int(self.store.value("export/quality", 92)))  # type: ignore[call-overload]
        self.invention_check.setChecked(as_bool(self.store.value("export/invention_map", False)))
        policy = str(self.store.value("export/policy", OverwritePolicy.RENAME.value))
        index = self.policy_combo.findData(policy)
        self.policy_combo.setCurrentIndex(max(0, index))
        self._suggest_output()

    def save_settings(self) -> None:
        """Remember the choices for next time."""
        self.size_chooser.save(self.store, "export")
        self.store.setValue("export/format", self.format_chooser.format())
        self.store.setValue("export/quality", self.format_chooser.quality_spin.value())
        self.store.setValue("export/policy", str(self.policy_combo.currentData()))
        self.store.setValue("export/invention_map", self.invention_check.isChecked())
        if self.output_edit.text().strip():
            self.store.setValue("export/folder", str(Path(self.output_edit.text()).parent))

    def _suggest_output(self) -> None:
        if self._name_chosen:
            return
        stem = self.image_path.stem if self.image_path else "image"
        if self.page is not None:
            stem += f"_p{self.page}"
        if self.region is not None:
            stem += "_region"
        out = self.size_chooser.output_size().resolve(self._source_size())
        name = f"{stem}_x{format_scale(self._source_size(), out)}"
        suffix = FORMAT_SUFFIXES[self.format_chooser.format()]
        current = self.output_edit.text().strip()
        folder = Path(current).parent if current else self._default_folder
        self.output_edit.setText(str(folder / (name + suffix)))

    # -- slots -------------------------------------------------------------------------
    def _on_settings_changed(self) -> None:
        h, w = self.size_chooser.output_size().resolve(self._source_size())
        self.result_label.setText(f"→ {w}×{h} px ({w * h / 1e6:.1f} MP)")
        if not self.runner.is_running():
            self._suggest_output()

    def _on_format_changed(self) -> None:
        text = self.output_edit.text().strip()
        if text:
            path = Path(text)
            self.output_edit.setText(
                str(path.with_suffix(FORMAT_SUFFIXES[self.format_chooser.format()]))
            )

    def _on_output_edited(self, _text: str) -> None:
        self._name_chosen = True

    def _on_browse_clicked(self) -> None:
        filters = ";;".join(
            f"{label} (*{FORMAT_SUFFIXES[k]})" for k, label in FORMAT_LABELS.items()
        )
        path, _ = QFileDialog.getSaveFileName(self, "Export as", self.output_edit.text(), filters)
        if path:
            self.output_edit.setText(path)
            self._name_chosen = True
            self.policy_combo.setCurrentIndex(self.policy_combo.findData("overwrite"))

    def start(self) -> None:
        """Start the export in the background."""
        if self.runner.is_running():
            return
        text = self.output_edit.text().strip()
        if not text:
            self.status_label.setText("Choose where to save the result.")
            return
        target = Path(text).expanduser()
        suffix = FORMAT_SUFFIXES[self.format_chooser.format()]
        selector, pages = self.page_selector, None
        if selector is not None and selector.several:
            try:
                pages = selector.pages()
            except ValueError as exc:
                self.status_label.setText(f"Cannot export: {exc}.")
                return
        combine = selector is not None and pages is not None and selector.combine
        if combine and multipage_format(target) is None:
            target = target.with_suffix(".tif")
            self.output_edit.setText(str(target))
        elif not combine and format_for_suffix(target.suffix) != self.format_chooser.format():
            target = target.with_name(target.name + suffix)
            self.output_edit.setText(str(target))
        settings = ExportSettings(
            size=self.size_chooser.output_size(),
            format=self.format_chooser.format(),
            quality=self.format_chooser.quality_spin.value(),
            policy=OverwritePolicy(str(self.policy_combo.currentData())),
            precision=self.precision,  # type: ignore[arg-type]
            region=self.region,
        )
        self.save_settings()
        job = self._make_job(target, settings, pages, combine)
        self._written = None
        self.open_folder_button.setEnabled(False)
        self._set_running(True)
        self.status_label.setText("Loading the model…")
        self.runner.start(job)

    def _make_job(
        self,
        target: Path,
        settings: ExportSettings,
        pages: list[int] | None = None,
        combine: bool = False,
    ) -> Callable[[CancelToken], Iterator[object]]:
        # Everything the worker needs is captured here, on the GUI thread.
        image_path, image, model_id = self.image_path, self.image, self.model_id
        loader, page, count = self._load_model, self.page or 1, self.page_count
        export = export_with_map if self.invention_check.isChecked() else export_image

        def job(token: CancelToken) -> Iterator[object]:
            model = loader(model_id)
            if token():
                raise Cancelled
            if pages is not None and image_path is not None:  # several pages
                yield from export_page_selection(
                    image_path, pages, count, model, target, settings, combine, token
                )
                return
            loaded = _matching_file(image_path, image, page)
            yield from export(loaded, model, target, settings, should_stop=token)

        return job

    def cancel(self) -> None:
        """Stop the running export; its temporary file is removed."""
        if self.runner.is_running():
            self.status_label.setText("Cancelling…")
            self.runner.cancel()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (
            self.size_chooser,
            self.format_chooser,
            self.output_edit,
            self.policy_combo,
            self.invention_check,
        ):
            w.setEnabled(not running)

    def _on_runner_progressed(self, item: Any) -> None:
        if not isinstance(item, ExportProgress):
            return
        self.progress_bar.setValue(round(item.fraction * 1000))
        if item.phase == "render":
            self.status_label.setText(
                f"Rendering {item.fraction * 100:.0f}% — elapsed "
                f"{format_duration(item.elapsed)}, about {format_duration(item.eta)} left"
            )
        elif item.phase == "write":
            self.status_label.setText("Writing the file…")
        elif item.phase == "skipped":
            self.status_label.setText(f"Skipped: {item.output} already exists.")
        elif item.phase == "done":
            self._written = item.output
            self.open_folder_button.setEnabled(True)
            text = f"Saved {item.output} in {format_duration(item.elapsed)}."
            if item.warnings:
                text += "\nNote: " + "; ".join(item.warnings)
            self.status_label.setText(text)

    def open_output_folder(self) -> bool:
        """Show the folder of the file just written."""
        return self._written is not None and open_folder(self._written)

    def _on_runner_failed(self, message: str) -> None:
        self.progress_bar.setValue(0)
        self.status_label.setText(f"Export failed: {message}")

    def _on_runner_cancelled(self) -> None:
        self.progress_bar.setValue(0)
        self.status_label.setText("Cancelled; no file was written.")

    def _on_runner_finished(self) -> None:
        self._set_running(False)
        self.export_finished.emit(self._written)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait(30)
        super().closeEvent(event)

    def reject(self) -> None:  # Esc: cancel a running export first, close otherwise
        if self.runner.is_running():
            self.cancel()
            return
        super().reject()


def _matching_file(image_path: Path | None, image: np.ndarray, page: int = 1) -> LoadedImage:
    """The file's full data (metadata, alpha, 16 bits) if it still matches what is shown."""
    if image_path is not None:
        try:
            loaded = load_page(image_path, page, allow_huge=True)
        except ImageLoadError:
            loaded = None
        if loaded is not None and loaded.size == tuple(image.shape[:2]):
            return loaded
    return LoadedImage.from_array(image, image_path)


__all__ = [
    "ExportDialog",
    "FormatChooser",
    "JobRunner",
    "SizeChooser",
    "as_bool",
    "default_model_loader",
    "format_duration",
]

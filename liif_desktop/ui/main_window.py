"""The main window: canvas, menus, toolbar, status bar, model picker, files in and out."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6.QtCore import QEvent, Qt, QTimer, Signal, qVersion
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from liif_desktop import appinfo, diagnostics
from liif_desktop.export.imageio import ImageTooLarge
from liif_desktop.export.region_text import OcrRequest
from liif_desktop.model.device import describe_device, select_device
from liif_desktop.model.liif import LIIF
from liif_desktop.official import superseded_ids
from liif_desktop.page_detect import looks_like_document, lossy_file
from liif_desktop.render.precision import describe_precision
from liif_desktop.ui.about import about_html
from liif_desktop.ui.canvas import CompareMode, ImageCanvas
from liif_desktop.ui.checkpoint_adder import CheckpointAdder
from liif_desktop.ui.copy_text import CopyText
from liif_desktop.ui.first_screen import show_the_difference
from liif_desktop.ui.folder_navigation import sibling_image
from liif_desktop.ui.how_it_works import HowItWorksDock
from liif_desktop.ui.icons import themed_icon
from liif_desktop.ui.image_info import ImageInfoDock, describe_image_file
from liif_desktop.ui.image_loading import ViewerImage, load_image_file, qimage_to_array
from liif_desktop.ui.model_suggestion import ModelSuggestions, SuggestionBar
from liif_desktop.ui.page_navigation import PageNavigator
from liif_desktop.ui.resources import image_file_filter, sample_image_path
from liif_desktop.ui.settings import AppSettings, ViewerSettings
from liif_desktop.ui.settings_dialog import SettingsDialog
from liif_desktop.ui.shortcut_list import ShortcutListDialog
from liif_desktop.ui.shortcuts import unique_sequences
from liif_desktop.ui.window_geometry import keep_on_screen
from liif_desktop.ui.zoom_box import ZoomBox, format_zoom
from liif_desktop.weights import (
    ModelInfo,
    all_models,
    default_model,
    load_model,
    suggest_model,
)

ModelLoader = Callable[[ModelInfo, torch.device], LIIF]
ADD_CHECKPOINT = "Add checkpoint…"
_image_ids = itertools.count(1)
log = logging.getLogger(__name__)
LAST_FOLDER_KEY = "files/last_folder"


def _default_loader(info: ModelInfo, device: torch.device) -> LIIF:
    return load_model(info, device)


def _model_label(info: ModelInfo) -> str:
    if info.suits:
        return f"{info.name} — {info.suits} ({info.quality_label()})"
    return f"{info.name} — {info.quality_label()}"


class MainWindow(QMainWindow):
    """The LIIF Desktop window.

    Parameters
    ----------
    settings
        Where settings live (default: the user's QSettings store).
    models
        The models to offer (default: the available catalogue models and user checkpoints).
    model_loader
        Loads a model onto a device (tests pass tiny random models).
    remember
        False: do not record recent files or window state (scripted runs).

    Signals
    -------
    checkpointAdded(object)
        After :meth:`add_checkpoint` ends: the new :class:`ModelInfo`, or None if refused.
    """

    checkpointAdded = Signal(object)

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        models: list[ModelInfo] | None = None,
        model_loader: ModelLoader | None = None,
        remember: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else AppSettings()
        self.remember = remember
        self._loader = model_loader or _default_loader
        self._catalogue = models if models is not None else [m for m in all_models() if m.available]
        self._loaded: dict[str, LIIF] = {}
        self._model_id: str | None = None
        self._image: ViewerImage | None = None
        self._icon_actions: list[tuple[QAction, str]] = []
        self.last_message_box: QMessageBox | None = None
        self.export_dialog: QWidget | None = None
        self.checkpoint_adder = CheckpointAdder(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.checkpoint_adder.added.connect(self._on_checkpoint_adder_added, queued)
        self.checkpoint_adder.failed.connect(self._on_checkpoint_adder_failed, queued)
        viewer = self.settings.viewer()
        self._device = self._pick_device(viewer.device)

        self.setWindowTitle(appinfo.APP_NAME)
        self.setAcceptDrops(True)
        self.canvas = ImageCanvas(
            self,
            feature_cache_bytes=viewer.feature_cache_mb << 20,
            tile_cache_bytes=viewer.tile_cache_mb << 20,
            precision=viewer.precision,
        )
        self.canvas.wheel_zooms = viewer.wheel_zooms
        self.suggestion_bar = SuggestionBar(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.suggestion_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        status = lambda text: self.statusBar().showMessage(text, 10_000)  # noqa: E731
        self.suggestions = ModelSuggestions(
            self.suggestion_bar, self.settings.store, self.use_suggested_model, status, self.canvas
        )
        self.pages = PageNavigator(self, self.canvas)
        self.pages.pageRequested.connect(self._on_pages_page_requested)
        self.copy_text = CopyText(self, self._ocr_request, status)
        self._icon_actions += [
            (self.pages.act_previous, "page-previous-outline"),
            (self.pages.act_next, "page-next-outline"),
            (self.copy_text.act_copy_text, "text-recognition"),
        ]
        self.how_it_works = HowItWorksDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.how_it_works)
        self.how_it_works.hide()
        self.image_info = ImageInfoDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.image_info)
        self.image_info.hide()

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._make_status_bar()
        self.addToolBarBreak()  # its own row, shown only for documents with pages
        self.addToolBar(self.pages.toolbar)
        self.statusBar().insertPermanentWidget(0, self.pages.status_label)
        self._connect_canvas()
        self._refresh_icons()
        self._update_enabled()
        self.resize(1200, 800)
        if remember:
            geometry, state = self.settings.window_state()
            if geometry is not None:
                self.restoreGeometry(geometry)
            if state is not None:
                self.restoreState(state)
            keep_on_screen(self)
            # Again once shown, when the window manager's frame is known.
            QTimer.singleShot(500, self, lambda: keep_on_screen(self))

        wanted = self.settings.model_id()
        ids = [m.id for m in self._catalogue]
        if wanted not in ids:
            # First run: the best measured photo model; pages get the Document model suggested.
            best = default_model("photo") if models is None else None
            wanted = best.id if best is not None and best.id in ids else (ids[0] if ids else None)
        if wanted is not None:
            self.select_model(wanted)
        else:
            self.model_label.setText("No model (bicubic only)")

    # -- construction ------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot: Callable[..., object],
        shortcuts: list[QKeySequence | str] | None = None,
        icon: str | None = None,
        checkable: bool = False,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts(unique_sequences(shortcuts))
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        if icon:
            self._icon_actions.append((action, icon))
        self.addAction(action)  # shortcuts work with the menu bar hidden too
        return action

    def _make_actions(self) -> None:
        c = self.canvas
        Seq = QKeySequence.StandardKey
        self.act_open = self._action(
            "&Open…", self.open_dialog, [QKeySequence(Seq.Open)], "folder-open-outline"
        )
        self.act_paste = self._action(
            "&Paste image", self.paste, [QKeySequence(Seq.Paste)], "content-paste"
        )
        self.act_sample = self._action("Open &sample page", self.open_sample)
        self.act_export = self._action(
            "&Export…", self.export_image, ["Ctrl+E"], "file-export-outline",
            tip="Upscale the whole image to a file",
        )  # fmt: skip
        self.act_export_selection = self._action(
            "Export se&lection…", self.export_selection, ["Ctrl+Shift+E"], "export",
            tip="Upscale only the selected region to a file",
        )  # fmt: skip
        self.act_batch = self._action(
            "&Batch export…", self.batch_export, ["Ctrl+B"], "image-multiple-outline"
        )
        self.act_settings = self._action(
            "Se&ttings…", self.open_settings, [QKeySequence(Seq.Preferences), "Ctrl+,"],
            "cog-outline",
        )  # fmt: skip
        self.act_quit = self._action("&Quit", self.close, [QKeySequence(Seq.Quit), "Ctrl+Q"])
        self.act_zoom_in = self._action(
            "Zoom &in",
            c.zoom_in,
            [QKeySequence(Seq.ZoomIn), "Ctrl+=", "+", "="],
            "magnify-plus-outline",
        )
        self.act_zoom_out = self._action(
            "Zoom &out", c.zoom_out, [QKeySequence(Seq.ZoomOut), "-"], "magnify-minus-outline"
        )
        self.act_fit = self._action(
            "&Fit window", c.fit_window, ["Ctrl+0", "F"], "fit-to-page-outline"
        )
        self.act_fit_width = self._action(
            "Fit &width", c.fit_width, ["W"], "arrow-expand-horizontal",
            tip="Fill the window width (for documents)",
        )  # fmt: skip
        self.act_actual = self._action(
            "&100 %", c.actual_size, ["Ctrl+1", "1"], "numeric-1-box-outline",
            tip="One image pixel per screen pixel",
        )  # fmt: skip
        self.act_select = self._action(
            "&Select region", c.set_select_tool, ["R"], "selection-drag", checkable=True,
            tip="Drag to select a region (Shift+drag always selects)",
        )  # fmt: skip
        self.act_zoom_selection = self._action(
            "&Zoom to selection", c.zoom_to_selection, ["Z"], "selection-search"
        )
        self.act_clear_selection = self._action(
            "&Clear selection", lambda: c.set_selection(None), ["Esc"]
        )
        self.act_compare = self._action(
            "&Compare (show reference)", self._on_compare_toggled, ["C"], "compare",
            checkable=True, tip="Show bicubic (or the reference model) instead of LIIF",
        )  # fmt: skip
        self.act_split = self._action(
            "S&plit view", self._on_split_toggled, ["S"], "compare-horizontal",
            checkable=True, tip="Reference left of the divider, LIIF right; drag the divider",
        )  # fmt: skip
        self.act_invention = self._action(
            "Show &invented detail", self.canvas.set_invention_overlay, ["U"], "alert-outline",
            checkable=True,
            tip="Mark where the enlargement depends most on what the model invented rather "
            "than on the input (distrust sharp detail there)",
        )  # fmt: skip
        self.act_how = self.how_it_works.toggleViewAction()
        self.act_how.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self._icon_actions.append((self.act_how, "help-circle-outline"))
        self.act_add_checkpoint = self._action(ADD_CHECKPOINT, self.add_checkpoint_dialog)
        self.act_get_official = self._action(
            "&Get the official LIIF-RDN…", self.get_official_model,
            tip="Install the LIIF authors' rdn-liif.pth after downloading it",
        )  # fmt: skip
        self.act_use_suggested = self._action(
            "Use the suggested &model", self.use_suggested_model, ["Ctrl+D"],
            tip="Switch to the model suggested for this image (e.g. Document for scanned pages)",
        )  # fmt: skip
        self.act_use_suggested.setEnabled(False)
        self.suggested_model_id: str | None = None
        self.act_about = self._action("&About LIIF Desktop", self.about)
        self.addAction(self.act_how)
        self.act_next_image = self._action(
            "&Next image in folder", lambda: self.open_sibling(1), ["Space", "Ctrl+Right"]
        )
        self.act_previous_image = self._action(
            "Pre&vious image in folder", lambda: self.open_sibling(-1), ["Backspace", "Ctrl+Left"]
        )
        self.act_full_screen = self._action(
            "&Full screen", self.set_full_screen, ["F11"], "fullscreen", checkable=True
        )
        self.act_image_info = self.image_info.toggleViewAction()
        self.act_image_info.setShortcut(QKeySequence("Ctrl+I"))
        self.addAction(self.act_image_info)
        self.act_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts, ["Ctrl+/"])
        self.act_show_difference = self._action(
            "&Show the difference (split view at 400 %)", lambda: show_the_difference(self)
        )
        self.act_copy_system_info = self._action("&Copy system info", self.copy_system_info)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        file_menu.addAction(self.act_sample)
        file_menu.addAction(self.act_paste)
        file_menu.addAction(self.act_next_image)
        file_menu.addAction(self.act_previous_image)
        file_menu.addSeparator()
        for a in (self.act_export, self.act_export_selection, self.act_batch):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.act_settings)
        file_menu.addAction(self.act_quit)

        view = bar.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_fit_width):
            view.addAction(a)
        view.addAction(self.act_actual)
        view.addSeparator()
        view.addAction(self.act_compare)
        view.addAction(self.act_split)
        view.addAction(self.act_invention)
        view.addSeparator()
        view.addAction(self.pages.act_previous)
        view.addAction(self.pages.act_next)
        view.addSeparator()
        view.addAction(self.act_full_screen)
        view.addAction(self.act_image_info)
        view.addAction(self.act_how)

        select = bar.addMenu("&Selection")
        for a in (self.act_select, self.act_zoom_selection, self.act_export_selection):
            select.addAction(a)
        select.addAction(self.act_clear_selection)
        select.addSeparator()
        select.addAction(self.copy_text.act_copy_text)
        select.addAction(self.copy_text.act_missing)
        select.setToolTipsVisible(True)

        self.model_menu = bar.addMenu("&Model")
        self.compare_menu = QMenu("Compare &against", self)
        self._rebuild_model_menus()

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_how)
        help_menu.addAction(self.act_show_difference)
        help_menu.addAction(self.act_shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.act_copy_system_info)
        help_menu.addAction(self.act_about)

        self.canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for a in (
            self.act_zoom_selection,
            self.act_export_selection,
            self.act_clear_selection,
            self.act_fit,
            self.act_actual,
        ):
            self.canvas.addAction(a)

    def _make_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        tb.addSeparator()
        tb.addAction(self.act_zoom_out)
        self.zoom_box = ZoomBox(tb)
        tb.addWidget(self.zoom_box)
        tb.addAction(self.act_zoom_in)
        for a in (self.act_fit, self.act_fit_width, self.act_actual):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_select, self.act_compare, self.act_split):
            tb.addAction(a)
        tb.addSeparator()
        tb.addWidget(QLabel(" Model: ", tb))
        self.model_combo = QComboBox(tb)
        # Long model labels would push the combo into the toolbar's overflow at 150 % scale;
        # the popup still shows them in full.
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(22)
        self.model_combo.setToolTip("Model used to refine the view (measured quality shown)")
        tb.addWidget(self.model_combo)
        self._rebuild_model_combo()
        self.model_combo.activated.connect(self._on_model_combo_activated)
        tb.addSeparator()
        tb.addAction(self.act_export)
        self.zoom_box.zoomRequested.connect(lambda z: self.canvas.set_zoom(z))
        self.zoom_box.fitWindowRequested.connect(self.canvas.fit_window)
        self.zoom_box.fitWidthRequested.connect(self.canvas.fit_width)
        self.zoom_box.entered.connect(lambda: self.canvas.setFocus())
        self.zoom_box.invalidEntered.connect(
            lambda t: self.statusBar().showMessage(f"Not a zoom level: {t!r}", 4000)
        )

    def _make_status_bar(self) -> None:
        sb = self.statusBar()
        self.zoom_label = QLabel("", sb)
        self.cursor_label = QLabel("", sb)
        self.size_label = QLabel("", sb)
        self.model_label = QLabel("", sb)
        self.device_label = QLabel("", sb)
        self._show_device()
        self.progress_label = QLabel("", sb)
        self.progress_bar = QProgressBar(sb)
        self.progress_bar.setMaximumWidth(120)
        self.progress_bar.setMaximumHeight(14)
        self.progress_bar.setTextVisible(False)
        self.cursor_label.setMinimumWidth(120)
        for w in (
            self.zoom_label,
            self.cursor_label,
            self.size_label,
            self.model_label,
            self.device_label,
            self.progress_label,
            self.progress_bar,
        ):
            sb.addPermanentWidget(w)

    def _connect_canvas(self) -> None:
        c = self.canvas
        c.zoomChanged.connect(self._on_canvas_zoom)
        c.cursorMoved.connect(self._on_canvas_cursor)
        c.progressChanged.connect(self._on_canvas_progress)
        c.selectionChanged.connect(lambda _sel: self._update_enabled())

    # -- models ------------------------------------------------------------------------
    @property
    def model_id(self) -> str | None:
        return self._model_id

    @property
    def models(self) -> list[ModelInfo]:
        return list(self._catalogue)

    def _info(self, model_id: str) -> ModelInfo:
        return next(m for m in self._catalogue if m.id == model_id)

    def _pick_device(self, preference: str) -> torch.device:
        try:
            return select_device(preference)
        except ValueError:
            return torch.device("cpu")

    def _get_model(self, model_id: str) -> LIIF:
        model = self._loaded.get(model_id)
        if model is None:
            model = self._loader(self._info(model_id), self._device)
            self._loaded[model_id] = model
        return model

    def _model_for_export(self, model_id: str) -> LIIF:
        """The export dialogs' model: the viewer's own when it is loaded (same device, no
        second copy in memory), else loaded as the viewer would (runs on their worker)."""
        model = self._loaded.get(model_id)
        if model is not None:
            return model
        if not model_id:
            from liif_desktop.ui.export_dialog import default_model_loader

            return default_model_loader("")
        return self._loader(self._info(model_id), self._device)

    def _export_precision(self) -> str:
        """The precision the viewer runs at, so an export equals what the viewer shows."""
        return self.canvas.controller.precision or self.settings.viewer().precision

    def select_model(self, model_id: str) -> bool:
        """Refine with the catalogue model ``model_id``; False (with a message) on failure."""
        try:
            model = self._get_model(model_id)
        except Exception as exc:
            self.show_error("Cannot load model", f"{self._info(model_id).name}:\n{exc}")
            self._sync_model_widgets()
            return False
        self._model_id = model_id
        self.canvas.set_model(model_id, model)
        info = self._info(model_id)
        self.model_label.setText(info.name)
        self.model_label.setToolTip(_model_label(info))
        if self.remember:
            self.settings.set_model_id(model_id)
        self._sync_model_widgets()
        return True

    def set_reference_model(self, model_id: str | None) -> bool:
        """Compare against another model (None: bicubic)."""
        if model_id is None:
            self.canvas.set_reference_model(None, None)
        else:
            try:
                model = self._get_model(model_id)
            except Exception as exc:
                self.show_error("Cannot load model", f"{self._info(model_id).name}:\n{exc}")
                return False
            self.canvas.set_reference_model(model_id, model)
        self._sync_model_widgets()
        return True

    def add_checkpoint(self, path: str | Path) -> None:
        """Validate and add a user checkpoint in the background, then use it.

        Errors go to a message box; :attr:`checkpointAdded` tells when it is over.
        """
        self.checkpoint_adder.start(path)

    def _on_checkpoint_adder_failed(self, path: Path, message: str) -> None:
        self.show_error(
            "Cannot add checkpoint", f"{path} is not a usable LIIF checkpoint:\n{message}"
        )
        self._sync_model_widgets()
        self.checkpointAdded.emit(None)

    def _on_checkpoint_adder_added(self, _path: Path, info: ModelInfo) -> None:
        self._catalogue = [m for m in self._catalogue if m.id != info.id] + [info]
        self._loaded.pop(info.id, None)
        self._rebuild_model_menus()
        self._rebuild_model_combo()
        self.select_model(info.id)
        self.checkpointAdded.emit(info)

    def get_official_model(self) -> QDialog:
        """Open the dialog that installs the authors' LIIF-RDN download."""
        from liif_desktop.ui.official_dialog import OfficialModelDialog

        dialog = OfficialModelDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.modelAdded.connect(self._on_official_dialog_model_added)
        dialog.open()
        return dialog

    def _on_official_dialog_model_added(self, info: ModelInfo, is_official: bool) -> None:
        superseded = superseded_ids() if is_official else set()
        self._catalogue = [
            m for m in self._catalogue if m.id != info.id and m.id not in superseded
        ] + [info]
        self._loaded.pop(info.id, None)
        self._rebuild_model_menus()
        self._rebuild_model_combo()
        self.select_model(info.id)

    def add_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Add LIIF checkpoint",
            self.last_folder(),
            "Checkpoints (*.pth *.pt);;All files (*)",
        )
        if path:
            self._remember_folder(path)
            self.add_checkpoint(path)
        else:
            self._sync_model_widgets()

    def _rebuild_model_combo(self) -> None:
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        for info in self._catalogue:
            combo.addItem(_model_label(info), info.id)
        if not self._catalogue:
            combo.addItem("No model (bicubic only)", None)
        combo.insertSeparator(combo.count())
        combo.addItem(ADD_CHECKPOINT, ADD_CHECKPOINT)
        combo.blockSignals(False)
        self._sync_model_widgets()

    def _rebuild_model_menus(self) -> None:
        menu = self.model_menu
        menu.clear()
        self.model_group = QActionGroup(self)
        for info in self._catalogue:
            act = menu.addAction(_model_label(info))
            act.setCheckable(True)
            act.setData(info.id)
            self.model_group.addAction(act)
            act.triggered.connect(lambda _c=False, i=info.id: self.select_model(i))
        menu.addSeparator()
        menu.addAction(self.act_use_suggested)
        menu.addAction(self.act_add_checkpoint)
        menu.addAction(self.act_get_official)
        menu.addSeparator()
        menu.addMenu(self.compare_menu)
        self.compare_menu.clear()
        self.reference_group = QActionGroup(self)
        for model_id, text in [(None, "Bicubic")] + [(m.id, m.name) for m in self._catalogue]:
            act = self.compare_menu.addAction(text)
            act.setCheckable(True)
            act.setData(model_id)
            self.reference_group.addAction(act)
            act.triggered.connect(lambda _c=False, i=model_id: self.set_reference_model(i))
        self._sync_model_widgets()

    def _sync_model_widgets(self) -> None:
        if hasattr(self, "model_combo"):
            index = self.model_combo.findData(self._model_id)
            if index >= 0:
                self.model_combo.setCurrentIndex(index)
        if hasattr(self, "model_group"):
            for act in self.model_group.actions():
                act.setChecked(act.data() == self._model_id)
            for act in self.reference_group.actions():
                act.setChecked(act.data() == self.canvas.reference_model_id)

    def _on_model_combo_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data == ADD_CHECKPOINT:
            self.add_checkpoint_dialog()
        elif data is not None and data != self._model_id:
            self.select_model(str(data))

    # -- images ------------------------------------------------------------------------
    @property
    def image(self) -> ViewerImage | None:
        return self._image

    def open_path(self, path: str | Path, page: int = 1) -> bool:
        """Open an image file (``page`` of a PDF or multi-page TIFF); False (with a message)
        when it cannot be read."""
        try:
            try:
                image = load_image_file(path, page=page)
            except ImageTooLarge as exc:
                answer = QMessageBox.question(
                    self,
                    "Very large image",
                    f"{exc}\n\nOpen it anyway? It may need a lot of memory.",
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return False
                image = load_image_file(path, allow_huge=True, page=page)
        except Exception as exc:
            reason = str(exc)
            # Loaders often name the file already: say it once.
            text = reason if str(path) in reason else f"{path}:\n{reason}"
            self.show_error("Cannot open image", text)
            return False
        self.show_image(image)
        if self.remember and image.path is not None:
            self.settings.add_recent(str(image.path.resolve()))
        return True

    def show_image(self, image: ViewerImage) -> None:
        """Show an image already in memory."""
        self.pages.leaving()
        self._image = image
        self.canvas.set_image(f"{image.name}#{next(_image_ids)}", image.rgb)
        self.pages.image_shown(image)
        h, w = image.rgb.shape[:2]
        self.size_label.setText(f"{w} × {h} px")
        self.size_label.setToolTip(image.source_note)
        self.setWindowTitle(f"{image.name} — {appinfo.APP_NAME}")
        self.image_info.show_rows(describe_image_file(image.path, image.rgb.shape))
        self._update_enabled()
        self._suggest_model(image)

    def _on_pages_page_requested(self, page: int) -> None:
        if self._image is not None and self._image.path is not None:
            self.open_path(self._image.path, page=page)

    def _ocr_request(self) -> tuple[OcrRequest, LIIF | None] | None:
        region = self.canvas.selection_region()
        if self._image is None or region is None:
            return None
        model = self._loaded.get(self._model_id) if self._model_id is not None else None
        return OcrRequest(self._image.rgb, region, self.canvas.zoom), model

    def _suggest_model(self, image: ViewerImage) -> None:
        """Suggest the Document model for pages, a photo model for photos, and the real-inputs
        models for lossy (JPEG/WebP) files (:func:`liif_desktop.weights.suggest_model`).

        The heuristic (:func:`liif_desktop.page_detect.looks_like_document`) looks at colour
        saturation, a bright paper mode in the luminance histogram and thin dark strokes; its
        reason is shown so the user can judge it.
        """
        is_page, reason = looks_like_document(image.rgb)
        lossy = lossy_file(image.path)
        if lossy and image.path is not None:
            reason += f"; a lossy {image.path.suffix.lower()} file"
        current = next((m for m in self._catalogue if m.id == self._model_id), None)
        best = suggest_model(self._catalogue, is_page, lossy)
        if (
            best is None
            or current is None
            or (current.kind, current.inputs) == (best.kind, best.inputs)
        ):
            self.suggested_model_id = None
        else:
            self.suggested_model_id = best.id
        self.act_use_suggested.setEnabled(self.suggested_model_id is not None)
        suggested = best if self.suggested_model_id is not None else None
        document = str(image.path) if image.path is not None else None
        self.suggestions.offer(is_page, reason, suggested, current, document)

    def use_suggested_model(self) -> bool:
        """Switch to the model suggested for the current image, if any."""
        if self.suggested_model_id is None:
            return False
        ok = self.select_model(self.suggested_model_id)
        if ok:
            self.suggested_model_id = None
            self.act_use_suggested.setEnabled(False)
        return ok

    def open_sample(self) -> bool:
        path = sample_image_path()
        if path is None:
            self.statusBar().showMessage("The sample page is not bundled with this build", 5000)
            return False
        return self.open_path(path)

    def last_folder(self) -> str:
        """Where file dialogs start: the folder used last, else the open image's, else home."""
        folder = str(self.settings.store.value(LAST_FOLDER_KEY, ""))
        if folder and Path(folder).is_dir():
            return folder
        if self._image is not None and self._image.path is not None:
            return str(self._image.path.parent)
        return str(Path.home())

    def _remember_folder(self, path: str) -> None:
        self.settings.store.setValue(LAST_FOLDER_KEY, str(Path(path).parent))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", self.last_folder(), image_file_filter()
        )
        if path:
            self._remember_folder(path)
            self.open_path(path)

    def open_sibling(self, step: int) -> bool:
        """Open the next (``step`` 1) or previous (-1) image in the open file's folder."""
        current = self._image.path if self._image is not None else None
        target = sibling_image(current, step) if current is not None else None
        if target is None:
            self.statusBar().showMessage("No other image in this folder", 3000)
            return False
        return self.open_path(target)

    def set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def show_shortcuts(self) -> ShortcutListDialog:
        actions = self.actions() + self.findChildren(QAction)
        dialog = ShortcutListDialog(actions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def system_info(self) -> str:
        """What Help ▸ Copy system info copies: versions, CPU, device, precision, models."""
        models = ", ".join(f"{m.id}{' (in use)' if m.id == self._model_id else ''}"
                           for m in self._catalogue)  # fmt: skip
        return diagnostics.system_info(
            {
                "Qt": qVersion(),
                "Device": describe_device(self._device),
                "Precision": self._precision_label(),
                "Torch threads": str(torch.get_num_threads()),
                "Models": models or "(none)",
            }
        )

    def _precision_label(self) -> str:
        precision = self.canvas.controller.precision
        if precision:
            return describe_precision(precision, self._device)
        return f"{self.settings.viewer().precision} (not measured yet)"

    def copy_system_info(self) -> str:
        text = self.system_info()
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("System info copied: paste it into your report", 5000)
        return text

    def paste(self) -> bool:
        """Show the clipboard's image (or open the file it names)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            qimage = QImage(mime.imageData())
            if not qimage.isNull():
                self.show_image(ViewerImage(qimage_to_array(qimage), None, "Pasted image"))
                return True
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    return self.open_path(url.toLocalFile())
        self.statusBar().showMessage("The clipboard holds no image", 4000)
        return False

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            act = menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear list", self.settings.clear_recent)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            self.open_path(files[0])
        elif mime.hasImage():
            qimage = QImage(mime.imageData())
            self.show_image(ViewerImage(qimage_to_array(qimage), None, "Dropped image"))
        event.acceptProposedAction()

    # -- export ------------------------------------------------------------------------
    def export_image(self) -> None:
        """Open the export dialog for the whole image."""
        self._open_export(None)

    def export_selection(self) -> None:
        """Open the export dialog for the selected region."""
        region = self.canvas.selection_region()
        if region is None:
            self.statusBar().showMessage("Select a region first (Shift+drag or R)", 4000)
            return
        self._open_export(region)

    def _open_export(self, region: tuple[int, int, int, int] | None) -> None:
        if self._image is None:
            return
        try:
            from liif_desktop.ui.export_dialog import ExportDialog
        except ImportError as exc:
            self.show_error("Export unavailable", f"The export dialog is not available:\n{exc}")
            return
        dialog = ExportDialog(
            self,
            self._image.path,
            self._image.rgb,
            self._model_id or "",
            region=region,
            settings=self.settings.store,
            model_loader=self._model_for_export,
            precision=self._export_precision(),
            page=self._image.page,
            page_count=self._image.page_count,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dialog
        dialog.show()  # non-modal: the window stays usable while it exports

    def batch_export(self) -> None:
        try:
            from liif_desktop.ui.batch_dialog import BatchExportDialog
        except ImportError as exc:
            self.show_error(
                "Batch export unavailable", f"The batch dialog is not available:\n{exc}"
            )
            return
        dialog = BatchExportDialog(
            self,
            self._model_id,
            settings=self.settings.store,
            model_loader=self._model_for_export,
            precision=self._export_precision(),
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dialog
        dialog.show()

    # -- compare -----------------------------------------------------------------------
    def _on_compare_toggled(self, on: bool) -> None:
        if on and self.act_split.isChecked():
            self.act_split.setChecked(False)
        self._apply_compare_mode()

    def _on_split_toggled(self, on: bool) -> None:
        if on and self.act_compare.isChecked():
            self.act_compare.setChecked(False)
        self._apply_compare_mode()

    def _apply_compare_mode(self) -> None:
        if self.act_compare.isChecked():
            mode = CompareMode.SWAP
        elif self.act_split.isChecked():
            mode = CompareMode.SPLIT
        else:
            mode = CompareMode.OFF
        self.canvas.set_compare_mode(mode)
        self._on_canvas_progress(*self.canvas.progress())

    # -- settings ----------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        controller = self.canvas.controller
        devices = ["auto", "cpu"]
        if torch.cuda.is_available():
            devices.append("cuda")
        if torch.backends.mps.is_available():
            devices.append("mps")
        dialog = SettingsDialog(
            self,
            self.settings.viewer(),
            feature_used=controller.feature_cache_used,
            tile_used=controller.tile_cache_used,
            devices=devices,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values()))
        dialog.open()
        return dialog

    def apply_settings(self, values: ViewerSettings) -> None:
        """Use and keep new settings."""
        self.settings.set_viewer(values)
        controller = self.canvas.controller
        controller.feature_cache_budget = values.feature_cache_mb << 20
        controller.tile_cache_budget = values.tile_cache_mb << 20
        self.canvas.wheel_zooms = values.wheel_zooms
        self.canvas.set_precision(values.precision)
        device = self._pick_device(values.device)
        if device != self._device:
            self._device = device
            self._loaded.clear()
            self._show_device()
            if self._model_id is not None:
                self.select_model(self._model_id)
            ref = self.canvas.reference_model_id
            if ref is not None:
                self.set_reference_model(ref)

    # -- status ------------------------------------------------------------------------
    def _on_canvas_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(format_zoom(zoom))
        self.zoom_box.show_zoom(zoom)

    def _on_canvas_cursor(self, pos: tuple[float, float] | None) -> None:
        self.cursor_label.setText("" if pos is None else f"x {int(pos[0])}, y {int(pos[1])}")

    def _show_device(self) -> None:
        """Device and the precision the model runs at (``auto`` is measured on first use)."""
        precision = self.canvas.controller.precision
        label = describe_precision(precision, self._device) if precision else "measuring…"
        self.device_label.setText(f"{describe_device(self._device)} · {label}")
        self.device_label.setToolTip(
            "Precision: set in Settings (auto = measured once on this machine: bf16 where it "
            "is faster than fp32, else fp32)"
        )

    def _on_canvas_progress(self, done: int, total: int) -> None:
        self._show_device()
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done if total else 1)
        if self._model_id is None:
            text = "bicubic"
        elif self.canvas.is_refined():
            text = "LIIF ✓" if self.canvas.zoom > 1 else "downscaled ✓"
        else:
            text = f"refining {done}/{total}"
        mode = self.canvas.compare_mode
        if mode == CompareMode.SWAP:  # the view shows the reference, not LIIF
            text = f"showing {self.canvas.reference_label()} (C: back to LIIF)"
        elif mode == CompareMode.SPLIT and self._model_id is not None:
            text = f"{self.canvas.reference_label()} | {text}"
        self.progress_label.setText(text)
        error = self.canvas.controller.last_error
        if error is not None:
            self.canvas.controller.last_error = None
            log.warning("rendering a tile failed: %s", error)
            self.statusBar().showMessage(f"Rendering a tile failed: {error}", 10_000)

    def _update_enabled(self) -> None:
        has_image = self._image is not None
        has_selection = self.canvas.selection() is not None
        for a in (
            self.act_export,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit,
            self.act_fit_width,
            self.act_actual,
        ):
            a.setEnabled(has_image)
        self.act_zoom_selection.setEnabled(has_selection)
        self.act_export_selection.setEnabled(has_selection)
        self.act_clear_selection.setEnabled(has_selection)
        self.copy_text.set_selection_present(has_selection)

    def show_error(self, title: str, text: str) -> None:
        """A plain, non-blocking warning box (kept in :attr:`last_message_box`)."""
        log.warning("%s: %s", title, text.replace("\n", " "))
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_message_box = box
        box.open()

    def about(self) -> None:
        QMessageBox.about(
            self, f"About {appinfo.APP_NAME}", about_html(torch.__version__, qVersion())
        )

    # -- theme and lifetime ------------------------------------------------------------
    def _refresh_icons(self) -> None:
        palette = self.palette()
        for action, name in self._icon_actions:
            action.setIcon(themed_icon(name, palette))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ThemeChange):
            self._refresh_icons()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.remember:
            self.settings.set_window_state(self.saveGeometry(), self.saveState())
        self.canvas.shutdown()
        super().closeEvent(event)

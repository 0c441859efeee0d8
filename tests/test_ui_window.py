"""The main window: opening images, models, export dialogs, settings, the scripted screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from liif_desktop.model.checkpoint import save_checkpoint
from liif_desktop.ui.canvas import MAX_ZOOM
from liif_desktop.ui.main_window import ADD_CHECKPOINT, MainWindow
from liif_desktop.ui.settings import ViewerSettings
from liif_desktop.ui.settings_dialog import WHEEL_SCROLLS, SettingsDialog
from tests.conftest import EDSR_WEIGHTS, REPO, make_tiny_model, tiny_spec
from tests.conftest_qt import app_settings, grab_canvas, image_file, window

__all__ = ["app_settings", "image_file", "window"]  # fixtures used by these tests
pytestmark = pytest.mark.gui


def test_open_shows_image_and_records_it(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    assert window.image is not None and window.image.rgb.shape == (32, 40, 3)
    assert window.size_label.text() == "40 × 32 px"
    assert "page.png" in window.windowTitle()
    assert window.settings.recent_files() == [str(image_file.resolve())]
    assert window.act_export.isEnabled()
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        window.canvas.set_zoom(3.0)
    assert window.progress_label.text() == "LIIF ✓"
    assert window.model_label.text() == "Tiny A"


def test_open_unreadable_file_says_why(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert not window.open_path(bad)
    box = window.last_message_box
    assert box is not None and str(bad) in box.text()
    assert window.image is None
    assert window.settings.recent_files() == []


def test_drop_opens_the_file(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_file))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.image is not None and window.image.path == image_file


def test_paste_an_image_from_the_clipboard(qtbot: QtBot, window: MainWindow) -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    qimage = QImage(rgb.tobytes(), 20, 12, 60, QImage.Format.Format_RGB888).copy()
    QGuiApplication.clipboard().setImage(qimage)
    assert window.paste()
    assert window.image is not None
    assert np.array_equal(np.rint(window.image.rgb * 255).astype(np.uint8), rgb)
    QGuiApplication.clipboard().clear()
    assert not window.paste()


def test_recent_menu_reopens(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    window.settings.add_recent(str(image_file))
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if a.text() == "page.png"]
    assert len(actions) == 1
    actions[0].trigger()
    assert window.image is not None and window.image.path == image_file


def test_model_switch_rerenders_with_the_new_model(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        window.canvas.set_zoom(4.0)
    first = grab_canvas(window.canvas)
    combo = window.model_combo
    assert combo.itemText(0).startswith("Tiny A — ") and "quality not measured" in combo.itemText(0)
    assert combo.itemText(combo.count() - 1) == ADD_CHECKPOINT
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        combo.activated.emit(1)
    assert window.model_id == "tiny-b"
    assert window.model_label.text() == "Tiny B"
    assert window.settings.model_id() == "tiny-b"
    checked = [a.data() for a in window.model_group.actions() if a.isChecked()]
    assert checked == ["tiny-b"]
    second = grab_canvas(window.canvas)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 1


def test_add_checkpoint_validates_and_reports(
    qtbot: QtBot,
    window: MainWindow,
    tmp_path: Path,
) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"definitely not a checkpoint")
    with qtbot.waitSignal(window.checkpointAdded, timeout=60_000) as refused:
        window.add_checkpoint(junk)
    assert refused.args == [None]
    box = window.last_message_box
    assert box is not None and "junk.pth" in box.text() and box.windowTitle()
    assert window.model_id == "tiny-a"

    good = tmp_path / "mine.pth"
    save_checkpoint(good, make_tiny_model(seed=7), tiny_spec())
    # The window loads catalogue models with its loader; a user checkpoint goes through it too.
    window._loader = lambda info, device: make_tiny_model(seed=7)
    with qtbot.waitSignal(window.checkpointAdded, timeout=60_000) as added:
        window.add_checkpoint(good)
    info = added.args[0]
    assert info is not None and info.id == "user:mine.pth"
    assert window.model_id == "user:mine.pth"
    assert window.model_combo.findData("user:mine.pth") >= 0
    assert (tmp_path / "data" / "models" / "mine.pth").is_file()


def test_add_checkpoint_validates_off_the_gui_thread(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """A hostile file is refused in the worker; the box shows the CheckpointError's words."""
    import threading

    from liif_desktop import weights

    spec = tiny_spec()
    spec["imnet_spec"]["args"]["hidden_list"] = [200_000, 200_000]
    hostile = tmp_path / "wide.pth"
    save_checkpoint(hostile, make_tiny_model(), spec)
    threads: list[threading.Thread] = []

    def add(path: Path) -> weights.ModelInfo:
        threads.append(threading.current_thread())
        return weights.add_user_checkpoint(path)

    window.checkpoint_adder._add = add
    with qtbot.waitSignal(window.checkpointAdded, timeout=60_000) as refused:
        window.add_checkpoint(hostile)
        assert window.checkpoint_adder.busy() or threads  # returned before the work ended
    assert refused.args == [None]
    assert threads and threads[0] is not threading.main_thread()
    box = window.last_message_box
    assert box is not None and "wide.pth" in box.text() and "shape mismatch" in box.text()
    assert not (tmp_path / "data" / "models" / "wide.pth").exists()


def test_settings_dialog_round_trip(qtbot: QtBot, window: MainWindow) -> None:
    dialog = window.open_settings()
    assert isinstance(dialog, SettingsDialog)
    dialog.feature_mb.setValue(128)
    dialog.tile_mb.setValue(64)
    dialog.wheel.setCurrentText(WHEEL_SCROLLS)
    dialog.device.setCurrentText("cpu")
    assert dialog.precision.currentText() == "fp32"  # as the test settings pin it
    dialog.precision.setCurrentText("bf16")
    dialog.accept()
    controller = window.canvas.controller
    assert controller.feature_cache_budget == 128 << 20
    assert controller.tile_cache_budget == 64 << 20
    assert controller.precision == "bf16"
    assert window.canvas.wheel_zooms is False
    stored = window.settings.viewer()
    assert stored == ViewerSettings(128, 64, False, "cpu", "bf16")
    window.settings.store.sync()
    assert window.settings.viewer() == stored


class _RecordingDialog(QDialog):
    calls: ClassVar[list[tuple[Any, ...]]] = []

    def __init__(self, parent: QWidget, *args: Any, **kwargs: Any) -> None:
        super().__init__(parent)
        _RecordingDialog.calls.append((args, kwargs))


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, cls_name: str) -> None:
    module = types.ModuleType(f"liif_desktop.ui.{name}")
    setattr(module, cls_name, _RecordingDialog)
    monkeypatch.setitem(sys.modules, f"liif_desktop.ui.{name}", module)
    _RecordingDialog.calls = []


def test_selection_export_opens_the_export_dialog_with_the_region(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_module(monkeypatch, "export_dialog", "ExportDialog")
    assert window.open_path(image_file)
    window.canvas.set_selection(QRectF(3.4, 5.0, 10.2, 7.5))
    window.act_export_selection.trigger()
    ((args, kwargs),) = _RecordingDialog.calls
    path, image, model_id = args
    assert path == image_file and model_id == "tiny-a"
    assert image is window.image.rgb  # type: ignore[union-attr]
    assert kwargs["region"] == (3, 5, 11, 8) and kwargs["settings"] is window.settings.store
    # the dialog shares the viewer's loaded model and precision
    assert kwargs["precision"] == "fp32"
    assert kwargs["model_loader"]("tiny-a") is window._loaded["tiny-a"]
    assert kwargs["page"] is None and kwargs["page_count"] == 1
    assert isinstance(window.export_dialog, _RecordingDialog) and window.export_dialog.isVisible()
    window.export_dialog.close()
    window.act_export.trigger()
    assert _RecordingDialog.calls[1][1]["region"] is None


def test_batch_export_opens_the_batch_dialog(
    qtbot: QtBot,
    window: MainWindow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_module(monkeypatch, "batch_dialog", "BatchExportDialog")
    window.act_batch.trigger()
    ((args, kwargs),) = _RecordingDialog.calls
    assert args == ("tiny-a",) and kwargs["settings"] is window.settings.store
    assert kwargs["precision"] == "fp32" and callable(kwargs["model_loader"])


def test_real_export_dialog_opens_for_a_selection(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    module = pytest.importorskip(
        "liif_desktop.ui.export_dialog", reason="the export dialog has not landed yet"
    )
    assert window.open_path(image_file)
    window.canvas.set_selection(QRectF(0, 0, 16, 8))
    window.act_export_selection.trigger()
    dialog = window.export_dialog
    assert isinstance(dialog, module.ExportDialog) and dialog.isVisible()
    assert dialog.region == (0, 0, 16, 8)
    dialog.close()


def test_how_it_works_panel(qtbot: QtBot, window: MainWindow) -> None:
    assert not window.how_it_works.isVisible()
    window.act_how.trigger()
    assert window.how_it_works.isVisible()
    text = window.how_it_works.widget().toPlainText()  # type: ignore[attr-defined]
    for stage in ("Encoder", "latent code", "Coordinate queries", "MLP", "Pixels", "inferred"):
        assert stage in text


def test_icons_follow_the_palette(qtbot: QtBot, window: MainWindow) -> None:
    def icon_colour() -> tuple[int, int, int]:
        pixmap = window.act_zoom_in.icon().pixmap(32, 32).toImage()
        pixels = [
            pixmap.pixelColor(x, y)
            for x in range(32)
            for y in range(32)
            if pixmap.pixelColor(x, y).alpha() > 200
        ]
        return pixels[0].red(), pixels[0].green(), pixels[0].blue()

    palette = window.palette()
    palette.setColor(palette.ColorRole.WindowText, Qt.GlobalColor.red)
    window.setPalette(palette)
    QApplication.processEvents()
    assert icon_colour() == (255, 0, 0)
    palette.setColor(palette.ColorRole.WindowText, Qt.GlobalColor.blue)
    window.setPalette(palette)
    QApplication.processEvents()
    assert icon_colour() == (0, 0, 255)


def test_zoom_limits_and_cursor_position(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.set_zoom(10.0)
    canvas.center_on(20, 16)
    view = canvas.view
    assert view is not None
    qtbot.mouseMove(canvas.viewport(), QPoint(120, 90))
    x, y = view.screen_to_image(120, 90)
    qtbot.waitUntil(lambda: window.cursor_label.text() == f"x {int(x)}, y {int(y)}")
    canvas.set_zoom(1e9)
    assert canvas.zoom == MAX_ZOOM


def _run_app(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LIIF_DESKTOP_DATA=str(tmp_path / "data"),
    )
    cmd = [sys.executable, "-c", "from liif_desktop.app import main; raise SystemExit(main())"]
    return subprocess.run(
        cmd + args, env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_scripted_screenshot(tmp_path: Path, image_file: Path) -> None:
    if not EDSR_WEIGHTS.is_file():
        pytest.skip(f"{EDSR_WEIGHTS} missing: run `make setup` to fetch the official weights")
    out = tmp_path / "shot.png"
    args = [str(image_file), "--zoom", "3", "--center", "20,16", "--size", "400x300"]
    result = _run_app([*args, "--screenshot", str(out), "--timeout", "120"], tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as shot:
        assert shot.size == (400, 300)
    bad = _run_app([str(tmp_path / "missing.png"), "--screenshot", str(out)], tmp_path)
    assert bad.returncode == 1 and "missing.png" in bad.stderr
    timeout = _run_app(
        [str(image_file), "--zoom", "40", "--screenshot", str(tmp_path / "t.png"), "--timeout",
         "0.01"],
        tmp_path,
    )  # fmt: skip
    assert timeout.returncode == 3 and "timed out" in timeout.stderr
    assert not (tmp_path / "t.png").exists()

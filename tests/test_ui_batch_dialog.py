"""Batch dialog: a folder with bad files, rows with reasons, drop, cancel, settings."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PIL import Image

pytest.importorskip("PySide6", reason="the dialogs need PySide6 (pip install '.[gui]')")

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from liif_desktop.export.batch import BatchEvent, BatchSummary
from liif_desktop.ui import batch_dialog
from liif_desktop.ui.batch_dialog import BatchExportDialog
from tests.test_export_batch import make_mixed_folder, save_tiny_checkpoint

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=5)


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_dialog(qtbot, checkpoint: Path, store: QSettings) -> BatchExportDialog:  # type: ignore[no-untyped-def]
    dialog = BatchExportDialog(None, str(checkpoint), settings=store)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_folder_with_bad_files(qtbot, tmp_path, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    goods, bad = make_mixed_folder(tmp_path / "in")
    dialog = make_dialog(qtbot, checkpoint, store)
    assert dialog.add_paths([tmp_path / "in"]) == 20
    assert dialog.table.rowCount() == 20
    out = tmp_path / "out"
    dialog.output_edit.setText(str(out))
    dialog.size_chooser.scale_spin.setValue(2)
    dialog.format_chooser.set_format("PNG")
    events: list[BatchEvent] = []
    dialog.runner.progressed.connect(events.append)
    with qtbot.waitSignal(dialog.batch_finished, timeout=120_000) as blocker:
        dialog.start_button.click()
        assert not dialog.isModal() and QApplication.activeModalWidget() is None
        assert dialog.cancel_button.isEnabled() and not dialog.add_files_button.isEnabled()
    summary: BatchSummary = blocker.args[0]
    assert len(summary.written) == 16 and len(summary.failed) == 4
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_x2.png" for p in goods)
    for path in goods:
        status, detail = dialog.row_status(path)
        assert status == "done" and detail.endswith(f"{path.stem}_x2.png")
    reasons = {"truncated.png": "truncated", "text.jpg": "not an image", "empty.png": "empty",
               "dangling.png": "missing"}  # fmt: skip
    for path in bad:
        status, detail = dialog.row_status(path)
        assert status == "failed" and reasons[path.name] in detail
    assert "16 written, 0 skipped, 4 failed" in dialog.status_label.text()
    assert dialog.overall_progress.value() == 1000
    assert any(e.kind == "progress" and e.eta is not None for e in events)
    assert dialog.start_button.isEnabled()


def test_drop_adds_files_and_folders(qtbot, tmp_path, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    make_mixed_folder(tmp_path / "in", good=3)
    single = tmp_path / "single.png"
    Image.new("RGB", (8, 8)).save(single)
    dialog = make_dialog(qtbot, checkpoint, store)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "in")), QUrl.fromLocalFile(str(single))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    dialog.dropEvent(event)
    assert event.isAccepted()
    assert dialog.table.rowCount() == 3 + 4 + 1
    dialog.dropEvent(event)  # dropping again adds nothing twice
    assert dialog.table.rowCount() == 8


def test_cancel_keeps_finished_files_only(  # type: ignore[no-untyped-def]
    qtbot, tmp_path, checkpoint, store, monkeypatch
) -> None:
    gate = threading.Event()
    real = batch_dialog.run_batch

    def gated(*args: Any, **kw: Any) -> Iterator[BatchEvent]:
        for ev in real(*args, **kw):
            yield ev
            if ev.kind == "file_done":
                gate.wait(30)

    monkeypatch.setattr(batch_dialog, "run_batch", gated)
    make_mixed_folder(tmp_path / "in", good=5)
    dialog = make_dialog(qtbot, checkpoint, store)
    dialog.add_paths([tmp_path / "in"])
    dialog.output_edit.setText(str(tmp_path / "out"))
    done: list[BatchEvent] = []
    dialog.runner.progressed.connect(lambda ev: done.append(ev) if ev.kind == "file_done" else None)
    dialog.start()
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    with qtbot.waitSignal(dialog.batch_finished, timeout=60_000) as blocker:
        dialog.cancel_button.click()
        gate.set()
    summary: BatchSummary = blocker.args[0]
    assert summary.cancelled and len(summary.written) == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == [summary.written[0][1].name]
    assert "cancelled" in dialog.status_label.text()


def test_settings_are_remembered(qtbot, tmp_path, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, checkpoint, store)
    dialog.size_chooser.size_radio.setChecked(True)
    dialog.size_chooser.width_spin.setValue(800)
    dialog.size_chooser.height_spin.setValue(600)
    dialog.format_chooser.set_format("WEBP")
    dialog.format_chooser.quality_spin.setValue(77)
    dialog.output_edit.setText(str(tmp_path / "o"))
    dialog.pattern_edit.setText("{name}-{width}w")
    dialog.policy_combo.setCurrentIndex(dialog.policy_combo.findData("skip"))
    dialog.recursive_check.setChecked(True)
    dialog.close()
    again = BatchExportDialog(None, None, settings=store)
    qtbot.addWidget(again)
    assert again.size_chooser.size_radio.isChecked()
    assert (again.size_chooser.width_spin.value(), again.size_chooser.height_spin.value()) == (
        800,
        600,
    )
    assert again.format_chooser.format() == "WEBP"
    assert again.format_chooser.quality_spin.value() == 77
    assert again.output_edit.text() == str(tmp_path / "o")
    assert again.pattern_edit.text() == "{name}-{width}w"
    assert again.policy_combo.currentData() == "skip"
    assert again.recursive_check.isChecked()
    assert again.model_combo.currentData() == str(checkpoint)
    settings = again.batch_settings()
    assert settings.export.size.width == 800 and settings.export.format == "WEBP"


def test_bad_pattern_disables_start(qtbot, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, checkpoint, store)
    dialog.pattern_edit.setText("{nmae}")
    assert not dialog.start_button.isEnabled()
    assert "unknown field" in dialog.pattern_edit.toolTip()
    dialog.pattern_edit.setText("{name}_big")
    assert dialog.start_button.isEnabled()


def test_huge_images_are_asked_about(  # type: ignore[no-untyped-def]
    qtbot, tmp_path, checkpoint, store, monkeypatch
) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (12, 12), "red").save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    asked: list[str] = []

    def answer_yes(*args: Any, **kw: Any) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    dialog = make_dialog(qtbot, checkpoint, store)
    dialog.add_paths([big])
    dialog.output_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.batch_finished, timeout=60_000) as first:
        dialog.start()
    assert first.args[0].too_large == [big] and first.args[0].failed[0][0] == big
    with qtbot.waitSignal(dialog.batch_finished, timeout=60_000) as second:
        pass  # the dialog asked (answered yes) and restarted with huge images allowed
    assert len(asked) == 1 and "1 image" in asked[0]
    assert len(second.args[0].written) == 1 and dialog.row_status(big)[0] == "done"

"""Export dialog: background export with progress, cancel that leaves no file, settings."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6", reason="the dialogs need PySide6 (pip install '.[gui]')")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from liif_desktop.export.job import ExportProgress, quantize
from liif_desktop.model import load_checkpoint
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from liif_desktop.ui import export_dialog
from liif_desktop.ui.export_dialog import ExportDialog, as_bool, format_duration
from tests.conftest import random_image
from tests.test_export_batch import save_tiny_checkpoint

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=4)


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    pixels = (random_image(12, 16, seed=6) * 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path, dpi=(300, 300))
    return path, pixels.astype(np.float32) / 255


def make_dialog(qtbot, source, checkpoint: Path, store: QSettings, **kw: Any) -> ExportDialog:  # type: ignore[no-untyped-def]
    path, rgb = source
    dialog = ExportDialog(None, path, rgb, str(checkpoint), settings=store, **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_format_duration() -> None:
    assert format_duration(None) == "–"
    assert format_duration(42.4) == "0:42"
    assert format_duration(3723) == "1:02:03"


def test_export_runs_in_the_background(qtbot, tmp_path, source, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, source, checkpoint, store)
    assert not dialog.isModal() and QApplication.activeModalWidget() is None
    dialog.size_chooser.scale_spin.setValue(2.5)
    out = tmp_path / "out" / "result.png"
    dialog.output_edit.setText(str(out))
    seen: list[ExportProgress] = []
    dialog.runner.progressed.connect(seen.append)
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as blocker:
        dialog.start_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    assert blocker.args == [out]
    assert [p.phase for p in seen][-1] == "done"
    assert dialog.progress_bar.value() == 1000 and "Saved" in dialog.status_label.text()
    rgb = source[1]
    model = load_checkpoint(checkpoint)
    expected = quantize(upscale_array(RegionRenderer(model, rgb), (30, 40)), np.uint8)
    with Image.open(out) as im:
        np.testing.assert_array_equal(np.asarray(im), expected)
        assert im.info["dpi"] == pytest.approx((750, 750), abs=0.05)  # from the file
    assert dialog.start_button.isEnabled()


def test_region_export(qtbot, tmp_path, source, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, source, checkpoint, store, region=(4, 2, 8, 6))
    dialog.size_chooser.scale_spin.setValue(2)
    assert "16×12" in dialog.result_label.text()
    dialog.output_edit.setText(str(tmp_path / "region.png"))
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000):
        dialog.start()
    expected = quantize(
        upscale_array(RegionRenderer(load_checkpoint(checkpoint), source[1]), (24, 32)), np.uint8
    )
    with Image.open(tmp_path / "region.png") as im:
        np.testing.assert_array_equal(np.asarray(im), expected[4:16, 8:24])


def test_cancel_leaves_no_partial_file(  # type: ignore[no-untyped-def]
    qtbot, tmp_path, source, checkpoint, store, monkeypatch
) -> None:
    # Hold the worker after its first rendered tile so the cancel lands mid-render.
    gate = threading.Event()
    real = export_dialog.export_image

    def gated(*args: Any, **kw: Any) -> Iterator[ExportProgress]:
        for progress in real(*args, **kw):
            yield progress
            if progress.phase == "render" and progress.done > 0:
                gate.wait(30)

    monkeypatch.setattr(export_dialog, "export_image", gated)
    dialog = make_dialog(qtbot, source, checkpoint, store)
    dialog.size_chooser.scale_spin.setValue(40)  # 480×640 in 256-pixel tiles
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog.output_edit.setText(str(out_dir / "big.png"))
    seen: list[ExportProgress] = []
    dialog.runner.progressed.connect(seen.append)
    dialog.start()
    qtbot.waitUntil(lambda: any(p.phase == "render" and p.done > 0 for p in seen), timeout=60_000)
    assert len(list(out_dir.iterdir())) == 1  # the temporary file, while rendering
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as blocker:
        dialog.cancel_button.click()
        gate.set()
    assert blocker.args == [None]
    assert list(out_dir.iterdir()) == []
    assert "Cancelled" in dialog.status_label.text()
    assert seen[-1].done < seen[-1].total


def test_settings_are_remembered(qtbot, tmp_path, source, checkpoint, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, source, checkpoint, store)
    dialog.size_chooser.size_radio.setChecked(True)
    dialog.size_chooser.width_spin.setValue(640)
    dialog.format_chooser.set_format("JPEG")
    dialog.format_chooser.quality_spin.setValue(80)
    assert dialog.output_edit.text().endswith(".jpg")
    dialog.save_settings()
    again = make_dialog(qtbot, source, checkpoint, store)
    assert again.size_chooser.size_radio.isChecked()
    assert again.size_chooser.width_spin.value() == 640
    assert again.format_chooser.format() == "JPEG"
    assert again.format_chooser.quality_spin.value() == 80


def test_failure_is_reported(qtbot, tmp_path, source, store) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, source, tmp_path / "missing.pth", store)
    dialog.output_edit.setText(str(tmp_path / "o.png"))
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as blocker:
        dialog.start()
    assert blocker.args == [None]
    assert "failed" in dialog.status_label.text() and "missing.pth" in dialog.status_label.text()
    assert not (tmp_path / "o.png").exists()


def test_export_can_save_the_invented_detail_map(
    qtbot, tmp_path, source, checkpoint, store
) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, source, checkpoint, store)
    assert not dialog.invention_check.isChecked()
    dialog.invention_check.setChecked(True)
    dialog.size_chooser.scale_spin.setValue(2.0)
    out = tmp_path / "mapped.png"
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as blocker:
        dialog.start_button.click()
    assert blocker.args == [out]
    with Image.open(tmp_path / "mapped.invented.png") as written:
        assert written.mode == "L" and written.size == (32, 24)
    assert "invented-detail map" in dialog.status_label.text()
    assert as_bool(store.value("export/invention_map"))  # remembered for next time

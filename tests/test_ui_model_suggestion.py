"""A scanned page gets the Document model suggested; a photo gets a photo model back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytestqt.qtbot import QtBot

from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.settings import AppSettings
from tests.conftest import REPO
from tests.conftest_qt import app_settings, image_file, tiny_loader, tiny_models

__all__ = ["app_settings", "image_file"]


def test_page_suggests_document_model_and_photo_suggests_photo_model(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, image_file: Path
) -> None:
    photo, doc = tiny_models(tmp_path)
    models = [photo, replace(doc, kind="document")]
    win = MainWindow(app_settings, models=models, model_loader=tiny_loader)
    qtbot.addWidget(win)
    assert win.model_id == photo.id
    assert win.open_path(REPO / "resources" / "sample_page.png")
    assert win.suggested_model_id == doc.id
    assert win.act_use_suggested.isEnabled()
    assert "scanned page" in win.statusBar().currentMessage()
    win.act_use_suggested.trigger()
    assert win.model_id == doc.id
    assert not win.act_use_suggested.isEnabled()
    assert win.open_path(image_file)  # random colour noise: not a page
    assert win.suggested_model_id == photo.id
    assert win.use_suggested_model()
    assert win.model_id == photo.id

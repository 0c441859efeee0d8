"""A scanned page gets the Document model suggested in an info bar; the answer is remembered."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytestqt.qtbot import QtBot

from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.model_suggestion import ALWAYS, ANSWER_KEY, ASK, NEVER, stored_answer
from liif_desktop.ui.settings import AppSettings
from tests.conftest import REPO
from tests.conftest_qt import app_settings, image_file, tiny_loader, tiny_models

__all__ = ["app_settings", "image_file"]

SAMPLE_PAGE = REPO / "resources" / "sample_page.png"


def _window(qtbot: QtBot, tmp_path: Path, settings: AppSettings) -> MainWindow:
    photo, doc = tiny_models(tmp_path)
    win = MainWindow(
        settings, models=[photo, replace(doc, kind="document")], model_loader=tiny_loader
    )
    qtbot.addWidget(win)
    return win


def test_page_suggests_document_model_and_photo_suggests_photo_model(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, image_file: Path
) -> None:
    win = _window(qtbot, tmp_path, app_settings)
    assert win.model_id == "tiny-a"
    assert win.open_path(SAMPLE_PAGE)
    assert win.suggested_model_id == "tiny-b"
    assert win.act_use_suggested.isEnabled()
    bar = win.suggestion_bar
    assert not bar.isHidden()
    assert bar.message.text().startswith("This looks like a scanned page (")
    assert "Document model renders small text more faithfully" in bar.message.text()
    assert bar.keep_button.text() == "Keep the photo model"
    win.act_use_suggested.trigger()  # Ctrl+D still works, and answers nothing
    assert win.model_id == "tiny-b"
    assert not win.act_use_suggested.isEnabled()
    assert stored_answer(app_settings.store) == ASK
    assert win.open_path(image_file)  # random colour noise: not a page
    assert win.suggested_model_id == "tiny-a"
    assert not bar.isHidden() and bar.message.text().startswith("This looks like a photo")
    assert win.use_suggested_model()
    assert win.model_id == "tiny-a"


def test_use_it_is_remembered_and_switches_from_then_on(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, image_file: Path
) -> None:
    win = _window(qtbot, tmp_path, app_settings)
    assert win.open_path(SAMPLE_PAGE)
    win.suggestion_bar.use_button.click()
    assert win.model_id == "tiny-b" and win.suggestion_bar.isHidden()
    assert win.statusBar().currentMessage().startswith("Now using the Document model")
    assert app_settings.store.value(ANSWER_KEY) == ALWAYS
    assert win.open_path(image_file)  # a photo: back to the photo model, no bar
    assert win.model_id == "tiny-a" and win.suggestion_bar.isHidden()
    assert win.statusBar().currentMessage() == "Photo model on (your choice)"
    # A new window (next session) remembers the answer.
    again = _window(qtbot, tmp_path, app_settings)
    assert again.open_path(SAMPLE_PAGE)
    assert again.model_id == "tiny-b" and again.suggestion_bar.isHidden()


def test_keep_is_remembered_and_dismiss_lasts_for_the_document(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings
) -> None:
    win = _window(qtbot, tmp_path, app_settings)
    other = tmp_path / "other_page.png"
    other.write_bytes(SAMPLE_PAGE.read_bytes())
    assert win.open_path(SAMPLE_PAGE)
    win.suggestion_bar.close_button.click()
    assert win.suggestion_bar.isHidden() and stored_answer(app_settings.store) == ASK
    assert win.open_path(SAMPLE_PAGE)  # the same document: not asked again
    assert win.suggestion_bar.isHidden()
    assert win.open_path(other)  # another document: asked again
    assert not win.suggestion_bar.isHidden()
    win.suggestion_bar.keep_button.click()
    assert stored_answer(app_settings.store) == NEVER and win.model_id == "tiny-a"
    assert win.open_path(SAMPLE_PAGE)
    assert win.suggestion_bar.isHidden() and win.model_id == "tiny-a"
    assert win.act_use_suggested.isEnabled()  # still one keystroke away


def test_jpeg_photo_gets_the_real_inputs_model_suggested(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, image_file: Path
) -> None:
    import numpy as np
    from PIL import Image

    photo, real = tiny_models(tmp_path)
    models = [photo, replace(real, inputs="real", suits="JPEG photos")]
    win = MainWindow(app_settings, models=models, model_loader=tiny_loader)
    qtbot.addWidget(win)
    assert win.model_id == photo.id
    assert win.open_path(image_file)  # a PNG photo: the clean model already suits it
    assert win.suggested_model_id is None
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(np.asarray(Image.open(image_file))).save(jpeg, quality=75)
    assert win.open_path(jpeg)
    assert win.suggested_model_id == real.id
    assert "lossy .jpg" in win.suggestion_bar.message.text()
    assert any("JPEG photos" in a.text() for a in win.findChildren(type(win.act_use_suggested)))

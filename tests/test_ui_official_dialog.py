"""Model ▸ Get the official LIIF-RDN…: drop the download, see it verified, listed and used."""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from liif_desktop import weights
from liif_desktop.model.liif import LIIF
from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.official_dialog import OfficialModelDialog
from liif_desktop.ui.settings import AppSettings
from liif_desktop.weights import ModelInfo
from tests.conftest_qt import MODEL_SEEDS, app_settings, tiny_loader, tiny_models
from tests.test_official import download

__all__ = ["app_settings", "download"]


def _loader(info: ModelInfo, device: torch.device) -> LIIF:
    return tiny_loader(info, device) if info.id in MODEL_SEEDS else weights.load_model(info, device)


def _window(qtbot: QtBot, tmp_path: Path, settings: AppSettings) -> MainWindow:
    win = MainWindow(settings, models=tiny_models(tmp_path), model_loader=_loader)
    qtbot.addWidget(win)
    return win


def _drop(dialog: OfficialModelDialog, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    dialog.drop_area.dropEvent(event)


def test_dropping_the_download_installs_lists_and_selects_it(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, download: Path
) -> None:
    win = _window(qtbot, tmp_path, app_settings)
    dialog = win.get_official_model()
    assert isinstance(dialog, OfficialModelDialog)
    intro = dialog.findChildren(QLabel)[0]
    assert intro.openExternalLinks() and "href='https://github.com/yinboc/liif'" in intro.text()
    assert "268.2 MB" not in intro.text()  # the injected size is shown, not a fixed one
    assert "Not installed yet." == dialog.status_label.text()
    with qtbot.waitSignal(dialog.modelAdded, timeout=60_000) as added:
        _drop(dialog, download)
    info, is_official = added.args
    assert is_official and info.id == "rdn-liif"
    qtbot.waitUntil(lambda: not dialog.runner.is_running(), timeout=10_000)
    assert dialog.progress_bar.value() == 1000
    assert "authors' rdn-liif.pth" in dialog.status_label.text()
    assert win.model_id == "rdn-liif"
    labels = [a.text() for a in win.model_group.actions()]
    assert "LIIF-RDN (official) — Set5 ×4 32.50 dB (paper), 7× slower" in labels
    dialog.close()


def test_a_truncated_download_says_so_and_copies_nothing(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, download: Path
) -> None:
    data = download.read_bytes()
    download.write_bytes(data[: len(data) // 2])
    win = _window(qtbot, tmp_path, app_settings)
    dialog = win.get_official_model()
    with qtbot.waitSignal(dialog.runner.failed, timeout=60_000):
        dialog.install(download)
    qtbot.waitUntil(lambda: "looks incomplete" in dialog.status_label.text(), timeout=10_000)
    assert dialog.status_label.text().startswith("Not installed:")
    assert not weights.user_models_dir().exists() or not any(weights.user_models_dir().rglob("*"))
    assert win.model_id == "tiny-a"
    dialog.close()


def test_cancel_leaves_nothing(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings, download: Path
) -> None:
    win = _window(qtbot, tmp_path, app_settings)
    dialog = win.get_official_model()
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=60_000):
        dialog.install(download)  # the job takes seconds; Cancel comes at once
        assert dialog.cancel_button.isEnabled()
        dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.runner.is_running(), timeout=10_000)
    qtbot.waitUntil(lambda: dialog.status_label.text().startswith("Cancelled"), timeout=10_000)
    assert not weights.user_models_dir().exists() or not any(weights.user_models_dir().rglob("*"))
    assert win.model_id == "tiny-a"
    dialog.close()

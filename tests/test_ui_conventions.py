"""What a new user hits first: shortcuts that work, focus after the zoom box, a window that
fits on the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.settings import AppSettings
from liif_desktop.ui.shortcuts import shortcut_conflicts, shortcut_table, unique_sequences
from liif_desktop.ui.window_geometry import clamp_rect, keep_on_screen
from tests.conftest_qt import app_settings, image_file, tiny_loader, tiny_models, window

__all__ = ["app_settings", "image_file", "window"]  # fixtures used by these tests
pytestmark = pytest.mark.gui


def all_actions(win: MainWindow) -> list[QAction]:
    return win.findChildren(QAction) + win.actions() + win.canvas.actions()


def test_no_key_sequence_is_bound_twice(qtbot: QtBot, window: MainWindow) -> None:
    actions = all_actions(window)
    assert len(actions) > 20
    assert shortcut_conflicts(actions) == {}
    keys = dict(shortcut_table(actions))
    assert keys["Quit"] == QKeySequence("Ctrl+Q").toString(QKeySequence.SequenceFormat.NativeText)
    # The menu shows an action's first shortcut: Settings must lead with one that exists.
    assert window.act_settings.shortcut().toString() == "Ctrl+,"


def test_conflicts_are_found() -> None:
    a, b = QAction("&Quit"), QAction("&Close")
    a.setShortcuts([QKeySequence("Ctrl+Q"), QKeySequence("Ctrl+Q")])
    b.setShortcut(QKeySequence("Ctrl+W"))
    assert shortcut_conflicts([a, b]) == {"Ctrl+Q": ["Quit", "Quit"]}
    b.setShortcut(QKeySequence("Ctrl+Q"))
    assert shortcut_conflicts([a, b, b])["Ctrl+Q"] == ["Quit", "Quit", "Close"]


def test_unique_sequences_drops_repeats_and_empties() -> None:
    seqs = unique_sequences([QKeySequence("Ctrl+Q"), "Ctrl+Q", "", QKeySequence(), "F"])
    assert [s.toString() for s in seqs] == ["Ctrl+Q", "F"]
    quit_keys = unique_sequences([QKeySequence.StandardKey.Quit, "Ctrl+Q"])
    assert len({s.toString() for s in quit_keys}) == len(quit_keys) >= 1


def test_ctrl_q_quits(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_focus_returns_to_the_image_after_the_zoom_box(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    line = window.zoom_box.lineEdit()
    assert line is not None
    line.setFocus()
    qtbot.waitUntil(line.hasFocus)
    line.selectAll()
    qtbot.keyClicks(line, "300")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert window.canvas.zoom == pytest.approx(3.0)
    assert window.canvas.hasFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)  # a shortcut, not typed text
    assert window.canvas.zoom == pytest.approx(1.0 / window.canvas.devicePixelRatioF())
    assert "1" not in line.text().replace("100", "")


def test_clamp_rect() -> None:
    screen = QRect(0, 0, 1600, 1000)
    assert clamp_rect(QRect(100, 50, 1200, 800), screen) == QRect(100, 50, 1200, 800)
    assert clamp_rect(QRect(-30, -20, 1799, 1199), screen) == QRect(0, 0, 1600, 1000)
    assert clamp_rect(QRect(900, 600, 1200, 800), screen) == QRect(400, 200, 1200, 800)
    second = QRect(1600, 0, 1280, 1024)  # a monitor to the right
    assert clamp_rect(QRect(1500, 10, 1000, 700), second) == QRect(1600, 10, 1000, 700)


def test_window_is_kept_on_the_screen(qtbot: QtBot, window: MainWindow) -> None:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    avail = screen.availableGeometry()
    window.canvas.setMinimumSize(0, 0)
    window.canvas.setMaximumSize(16_777_215, 16_777_215)
    window.setGeometry(avail.x() - 40, avail.y() + 30, avail.width() + 199, avail.height() + 199)
    assert not avail.contains(window.frameGeometry())
    keep_on_screen(window)
    assert avail.contains(window.frameGeometry())
    assert window.frameGeometry().size() == avail.size()


def test_restored_geometry_is_clamped_to_the_screen(
    qtbot: QtBot, tmp_path: Path, app_settings: AppSettings
) -> None:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    avail = screen.availableGeometry()
    big = MainWindow(app_settings, models=tiny_models(tmp_path), model_loader=tiny_loader)
    qtbot.addWidget(big)
    big.setGeometry(avail.x() - 40, avail.y(), avail.width() + 200, avail.height() + 200)
    app_settings.set_window_state(big.saveGeometry(), QByteArray())
    big.close()
    win = MainWindow(app_settings, models=tiny_models(tmp_path), model_loader=tiny_loader)
    qtbot.addWidget(win)
    assert avail.contains(win.frameGeometry())
    win.close()

"""Fixtures and helpers for the Qt tests (offscreen, tiny random models, settings in tmp)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch
from PIL import Image
from pytestqt.qtbot import QtBot

pytest.importorskip("PySide6", reason="the desktop app needs PySide6 (pip install '.[gui]')")

from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from liif_desktop.model.liif import LIIF
from liif_desktop.ui.canvas import ImageCanvas
from liif_desktop.ui.image_loading import grab_to_array
from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.settings import AppSettings
from liif_desktop.weights import ModelInfo
from tests.conftest import make_tiny_model, random_image

CANVAS_SIZE = (240, 180)
MODEL_SEEDS = {"tiny-a": 0, "tiny-b": 1}


def tiny_models(tmp_path: Path) -> list[ModelInfo]:
    """Two catalogue entries for seeded tiny random models."""
    return [
        ModelInfo(id=mid, name=f"Tiny {mid[-1].upper()}", path=tmp_path / f"{mid}.pth")
        for mid in MODEL_SEEDS
    ]


def tiny_loader(info: ModelInfo, device: torch.device) -> LIIF:
    return make_tiny_model(seed=MODEL_SEEDS[info.id]).to(device)


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppSettings:
    """Settings in an INI file under tmp; user checkpoints under tmp too."""
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.store.setValue("model/precision", "fp32")  # tests compare exact pixels
    return settings


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """A seeded 40×32 PNG."""
    rgb = random_image(32, 40, seed=3)
    path = tmp_path / "page.png"
    Image.fromarray(np.rint(rgb * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, app_settings: AppSettings) -> Iterator[MainWindow]:
    """A shown main window with two tiny models and a fixed-size canvas."""
    win = MainWindow(app_settings, models=tiny_models(tmp_path), model_loader=tiny_loader)
    qtbot.addWidget(win)
    win.how_it_works.hide()
    win.canvas.setFixedSize(*CANVAS_SIZE)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def grab_canvas(canvas: ImageCanvas) -> np.ndarray:
    """What the canvas viewport shows, as uint8 (H, W, 3) device pixels."""
    return grab_to_array(canvas.viewport().grab().toImage())


def send_mouse(
    widget: QWidget,
    kind: QEvent.Type,
    pos: tuple[float, float],
    buttons: Qt.MouseButton = Qt.MouseButton.LeftButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    """Deliver a mouse event with the button state a real drag has (QTest's moves lack it)."""
    local = QPointF(*pos)
    glob = QPointF(widget.mapToGlobal(local.toPoint()))
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else buttons
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else buttons
    QApplication.sendEvent(widget, QMouseEvent(kind, local, glob, button, held, modifiers))


def drag(
    widget: QWidget,
    start: tuple[float, float],
    end: tuple[float, float],
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    send_mouse(widget, QEvent.Type.MouseButtonPress, start, modifiers=modifiers)
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    send_mouse(widget, QEvent.Type.MouseMove, mid, modifiers=modifiers)
    send_mouse(widget, QEvent.Type.MouseMove, end, modifiers=modifiers)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, end, modifiers=modifiers)


def send_wheel(
    widget: QWidget,
    pos: tuple[float, float],
    notches: float,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    local = QPointF(*pos)
    glob = QPointF(widget.mapToGlobal(local.toPoint()))
    event = QWheelEvent(
        local,
        glob,
        QPoint(0, 0),
        QPoint(0, round(120 * notches)),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)

"""The app on documents: page navigation, per-page views, export of the page shown, Copy text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from liif_desktop.export.region_text import OcrRequest, find_tesseract, read_region
from liif_desktop.ui.canvas import FitMode
from liif_desktop.ui.copy_text import CopyText
from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.page_navigation import page_label
from tests.conftest import make_tiny_model
from tests.conftest_qt import app_settings, image_file, window
from tests.pdf_helpers import multipage_tiff, scanned_pdf

__all__ = ["app_settings", "image_file", "window"]

SIZES = [(40, 30), (48, 36), (44, 32)]
needs_tesseract = pytest.mark.skipif(find_tesseract() is None, reason="tesseract not installed")


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "scan.pdf"
    scanned_pdf(path, SIZES, dpi=300)
    return path


def test_pdf_opens_on_a_page_and_pgdn_pgup_move(
    qtbot: QtBot, window: MainWindow, scan: Path
) -> None:
    assert window.open_path(scan, page=2)
    assert window.image is not None and window.image.rgb.shape[:2] == SIZES[1]
    assert window.pages.status_label.text() == "page 2 / 3" == page_label(2, 3)
    assert window.pages.page_box.value() == 2 and window.pages.page_box.suffix() == " / 3"
    assert not window.pages.toolbar.isHidden()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert window.image.page == 3 and window.image.rgb.shape[:2] == SIZES[2]
    assert not window.pages.act_next.isEnabled()  # the last page
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert window.image.page == 3
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageUp)
    assert window.image.page == 2
    window.pages.page_box.setValue(1)  # typing a page and pressing Enter
    assert window.image.page == 1 and window.pages.status_label.text() == "page 1 / 3"
    assert window.size_label.toolTip().startswith("scanned page")


def test_each_page_keeps_its_view(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    multipage_tiff(path, SIZES)
    assert window.open_path(path)
    assert window.pages.status_label.text() == "page 1 / 3"
    window.pages.go_to(2)
    window.canvas.set_zoom(8.0)
    window.canvas.center_on(20.0, 30.0)
    window.pages.go_to(3)
    assert window.canvas.fit_mode == FitMode.WINDOW  # a page seen for the first time: fitted
    window.pages.go_to(2)
    view = window.canvas.view
    assert view is not None and view.zoom == pytest.approx(8.0)
    cx, cy = view.screen_to_image(view.viewport[0] / 2, view.viewport[1] / 2)
    assert (cx, cy) == (pytest.approx(20.0, abs=0.5), pytest.approx(30.0, abs=0.5))


def test_single_images_have_no_page_controls(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    assert window.pages.toolbar.isHidden() and window.pages.status_label.isHidden()
    assert not window.pages.act_next.isEnabled()  # PgDn pans the canvas instead
    assert not window.pages.go_to(2)


def test_export_dialog_gets_the_page_shown(
    qtbot: QtBot, window: MainWindow, scan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liif_desktop.ui import export_dialog

    assert window.open_path(scan, page=3)
    window.act_export.trigger()
    dialog = window.export_dialog
    assert isinstance(dialog, export_dialog.ExportDialog) and dialog.page == 3
    assert Path(dialog.output_edit.text()).name.startswith("scan_p3_x")
    loaded = export_dialog._matching_file(scan, window.image.rgb, 3)  # type: ignore[union-attr]
    assert loaded.dpi == (300.0, 300.0) and loaded.page == 3
    dialog.close()


def _text_image(text: str, scale: int) -> np.ndarray:
    font = ImageFont.load_default(size=36)
    big = Image.new("L", (420, 60), 255)
    ImageDraw.Draw(big).text((8, 8), text, font=font, fill=0)
    small = big.resize((420 // scale, 60 // scale), Image.Resampling.BICUBIC)
    grey = np.asarray(small, dtype=np.float32) / 255
    return np.repeat(grey[..., None], 3, axis=2)


@needs_tesseract
def test_read_region_reads_text() -> None:
    rgb = _text_image("TOTAL 42.50 CASH", 3)
    request = OcrRequest(rgb, (0, 0, 140, 20), zoom=3.7)
    assert request.scale == 3.7
    assert read_region(request, None, find_tesseract() or "") == "TOTAL 42.50 CASH"
    # Through a (tiny, random) LIIF model the same pipeline runs end to end.
    assert isinstance(read_region(request, make_tiny_model(), find_tesseract() or ""), str)


@needs_tesseract
def test_copy_text_puts_the_selection_text_on_the_clipboard(
    qtbot: QtBot, window: MainWindow
) -> None:
    rgb = _text_image("TOTAL 42.50 CASH", 3)
    controller = CopyText(window, lambda: (OcrRequest(rgb, (0, 0, 140, 20), 4.0), None), print)
    assert controller.act_copy_text.isVisible() and not controller.act_missing.isVisible()
    with qtbot.waitSignal(controller.finished, timeout=30_000) as blocker:
        assert controller.start()
    assert blocker.args == ["TOTAL 42.50 CASH"]
    assert QGuiApplication.clipboard().text() == "TOTAL 42.50 CASH"


def test_copy_text_is_hidden_with_a_reason_without_tesseract(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    controller = CopyText(parent, lambda: None, print, find=lambda: None)
    assert not controller.act_copy_text.isVisible()
    assert controller.act_missing.isVisible() and not controller.act_missing.isEnabled()
    assert "tesseract" in controller.act_missing.toolTip()
    controller.set_selection_present(True)
    assert not controller.act_copy_text.isEnabled()
    assert not controller.start()


def test_window_copy_text_needs_a_selection(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    assert not window.copy_text.act_copy_text.isEnabled()
    window.canvas.set_selection(QRectF(2, 2, 10, 8))
    assert window.copy_text.act_copy_text.isEnabled() == (find_tesseract() is not None)
    made = window._ocr_request()
    assert made is not None and made[0].region == (2, 2, 10, 8)


@pytest.mark.parametrize("combine", [False, True])
def test_export_dialog_exports_a_page_range(
    qtbot: QtBot, tmp_path: Path, scan: Path, combine: bool
) -> None:
    from PySide6.QtCore import QSettings

    from liif_desktop.export.pages import load_page, open_pages
    from liif_desktop.ui.export_dialog import ExportDialog

    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    shown = load_page(scan, 1)
    dialog = ExportDialog(
        None,
        scan,
        shown.rgb,
        "tiny",
        settings=store,
        page=1,
        page_count=3,
        model_loader=lambda _id: make_tiny_model(),
    )
    qtbot.addWidget(dialog)
    selector = dialog.page_selector
    assert selector is not None and not selector.several  # this page by default
    selector.mode_combo.setCurrentIndex(2)
    selector.range_edit.setText("2-3")
    selector.combine_check.setChecked(combine)
    dialog.size_chooser.scale_spin.setValue(2.0)
    dialog.output_edit.setText(str(tmp_path / "out" / ("scan_x2.pdf" if combine else "scan.png")))
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as blocker:
        dialog.start()
    written = blocker.args[0]
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    if combine:
        assert out == ["scan_x2.pdf"] and written == tmp_path / "out" / "scan_x2.pdf"
        document = open_pages(written)
        assert document.count == 2
        assert [document.load(i).size for i in (1, 2)] == [(2 * h, 2 * w) for h, w in SIZES[1:]]
    else:
        assert out == ["scan_p2.png", "scan_p3.png"]
        for name, (h, w) in zip(out, SIZES[1:], strict=True):
            with Image.open(tmp_path / "out" / name) as im:
                assert im.size == (2 * w, 2 * h)
    assert "2 pages written" in dialog.status_label.text() or combine

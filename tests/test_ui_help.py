"""Viewer conventions and help: next/previous image, full screen, image info, shortcut list,
How it works with its sources and figure, About, system info, log file, first screen, the
export dialog's presets, model name, last folder and "Open folder"."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from liif_desktop import __version__, diagnostics
from liif_desktop.ui import first_screen
from liif_desktop.ui.about import about_html
from liif_desktop.ui.canvas import CompareMode
from liif_desktop.ui.export_dialog import ExportDialog, model_display_name
from liif_desktop.ui.folder_navigation import folder_images, sibling_image
from liif_desktop.ui.how_it_works import LIIF_CODE, LIIF_PAPER, RELATED, draw_query_figure
from liif_desktop.ui.image_info import describe_image_file
from liif_desktop.ui.main_window import MainWindow
from tests.conftest import random_image
from tests.conftest_qt import app_settings, image_file, window
from tests.test_export_batch import save_tiny_checkpoint

__all__ = ["app_settings", "image_file", "window"]  # fixtures used by these tests
pytestmark = pytest.mark.gui


def save_png(path: Path, seed: int = 1, **info: object) -> Path:
    rgb = np.rint(random_image(8, 10, seed=seed) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, **info)  # type: ignore[arg-type]
    return path


def test_folder_images_in_natural_order_and_siblings_wrap(tmp_path: Path) -> None:
    for name in ("img10.png", "img2.PNG", "Img1.jpg", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in folder_images(tmp_path)]
    assert names == ["Img1.jpg", "img2.PNG", "img10.png"]
    assert sibling_image(tmp_path / "img2.PNG", 1) == tmp_path / "img10.png"
    assert sibling_image(tmp_path / "img10.png", 1) == tmp_path / "Img1.jpg"
    assert sibling_image(tmp_path / "Img1.jpg", -1) == tmp_path / "img10.png"
    # The open file was deleted: go on from where it sorted.
    assert sibling_image(tmp_path / "img5.png", 1) == tmp_path / "img10.png"
    assert sibling_image(tmp_path / "img5.png", -1) == tmp_path / "img2.PNG"
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "only.png").write_bytes(b"")
    assert sibling_image(alone / "only.png", 1) is None


def test_next_and_previous_image_in_the_window(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    a, b = save_png(folder / "a.png", 1), save_png(folder / "b.png", 2)
    assert not window.open_sibling(1)  # no image yet
    assert window.open_path(a)
    window.act_next_image.trigger()
    assert window.image is not None and window.image.path == b
    window.act_previous_image.trigger()
    assert window.image.path == a


def test_full_screen_toggles(qtbot: QtBot, window: MainWindow) -> None:
    window.act_full_screen.setChecked(True)
    qtbot.waitUntil(window.isFullScreen)
    window.act_full_screen.setChecked(False)
    qtbot.waitUntil(lambda: not window.isFullScreen())


def test_image_info_rows(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Acme"  # Make
    exif[0x0110] = "Scanner 9"  # Model
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = save_png(tmp_path / "scan.png", dpi=(300, 300), icc_profile=icc, exif=exif)
    rows = dict(describe_image_file(path, (8, 10, 3)))
    assert rows["File"] == "scan.png" and rows["Size"].startswith("10 × 8 px")
    assert rows["DPI"] == "300 × 300"
    assert "sRGB" in rows["Colour profile"]
    assert rows["Camera"] == "Acme Scanner 9"
    plain = dict(describe_image_file(save_png(tmp_path / "plain.png"), (8, 10, 3)))
    assert plain["Colour profile"].startswith("none") and "DPI" not in plain
    assert dict(describe_image_file(None, (8, 10, 3)))["File"] == "(not from a file)"


def test_image_info_panel_follows_the_open_image(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    window.act_image_info.trigger()
    assert window.image_info.isVisible()
    assert dict(window.image_info.rows())["File"] == "page.png"


def test_shortcut_list_lists_every_bound_action(qtbot: QtBot, window: MainWindow) -> None:
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    for action in ("Quit", "Keyboard shortcuts", "Full screen", "Next image in folder"):
        assert action in rows
    assert rows["Full screen"] == "F11"
    assert "Shift+drag" in rows["Select a region"]
    dialog.close()


def test_how_it_works_names_its_sources_and_draws_the_figure(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.act_how.trigger()
    browser = window.how_it_works.widget()
    assert isinstance(browser, QTextBrowser) and browser.openExternalLinks()
    html = browser.toHtml()
    for url in (LIIF_PAPER, LIIF_CODE, *(url for _, url, _ in RELATED)):
        assert url in html
    text = browser.toPlainText()
    for words in ("single-image super-resolution at an arbitrary scale", "What is learned",
                  "What is invented", "Latent grid", "FeatSharp", "Elastic-DETR"):  # fmt: skip
        assert words in text
    figure = draw_query_figure(1.0)
    pixels = np.array([[figure.pixelColor(x, y).name() for x in range(0, figure.width(), 2)]
                       for y in range(0, figure.height(), 2)])  # fmt: skip
    for colour in ("#d1495b", "#edae49", "#00798c", "#30638e"):  # the four neighbours drawn
        assert (pixels == colour).any(), colour


def test_status_bar_says_what_compare_mode_shows(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    window.act_compare.setChecked(True)
    assert window.canvas.compare_mode == CompareMode.SWAP
    assert window.progress_label.text().startswith("showing Bicubic")
    window.act_split.setChecked(True)
    assert window.progress_label.text().startswith("Bicubic | ")
    window.act_split.setChecked(False)
    assert "Bicubic" not in window.progress_label.text()


def test_error_names_the_path_once(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    assert not window.open_path(bad)
    box = window.last_message_box
    assert box is not None and box.text().count(str(bad)) == 1
    box.close()  # a window-modal box left open would block later tests' dialogs


def test_about_has_version_and_links() -> None:
    html = about_html("2.x", "6.x")
    assert __version__ in html and LIIF_PAPER in html and LIIF_CODE in html


def test_copy_system_info(qtbot: QtBot, window: MainWindow) -> None:
    text = window.copy_system_info()
    assert QGuiApplication.clipboard().text() == text
    for field in ("LIIF Desktop", "torch ", "CPU ", "CPU flags", "Device: CPU", "Models: tiny-a"):
        assert field in text


def test_rotating_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIIF_DESKTOP_LOG_DIR", str(tmp_path / "logs"))
    assert diagnostics.log_dir() == tmp_path / "logs"
    path = diagnostics.start_logging()
    try:
        assert path == tmp_path / "logs" / diagnostics.LOG_NAME
        logging.getLogger("liif_desktop.ui.main_window").warning("Cannot open image: x")
        for handler in diagnostics.log.handlers:
            handler.flush()
        text = path.read_text()
        assert "started" in text and "Cannot open image: x" in text
        assert diagnostics.current_log_file() == path
        assert f"Log file: {path}" in diagnostics.system_info()
    finally:
        for handler in list(diagnostics.log.handlers):
            diagnostics.log.removeHandler(handler)
            handler.close()


def test_first_screen_shows_the_difference_once(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    assert first_screen.maybe_show_first_screen(window)
    qtbot.waitUntil(lambda: window.act_split.isChecked())
    assert window.canvas.compare_mode == CompareMode.SPLIT
    assert window.canvas.zoom == pytest.approx(first_screen.SAMPLE_ZOOM)
    assert window.canvas.split_position == 0.5
    assert not first_screen.maybe_show_first_screen(window)  # only on the first start


def test_dialogs_start_in_the_last_folder(
    qtbot: QtBot, window: MainWindow, image_file: Path, tmp_path: Path
) -> None:
    assert window.last_folder() == str(Path.home())
    assert window.open_path(image_file)
    assert window.last_folder() == str(image_file.parent)
    other = tmp_path / "elsewhere"
    other.mkdir()
    window._remember_folder(str(other / "x.png"))
    assert window.last_folder() == str(other)


@pytest.fixture
def export_dialog(qtbot: QtBot, tmp_path: Path) -> ExportDialog:
    checkpoint = save_tiny_checkpoint(tmp_path / "tiny.pth", seed=4)
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    used = tmp_path / "used-last"
    used.mkdir()
    store.setValue("export/folder", str(used))
    image = tmp_path / "img" / "photo.png"
    image.parent.mkdir()
    save_png(image)
    rgb = np.asarray(Image.open(image), np.float32) / 255
    dialog = ExportDialog(None, image, rgb, str(checkpoint), settings=store)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_export_dialog_presets_model_name_and_last_folder(
    export_dialog: ExportDialog, tmp_path: Path
) -> None:
    assert Path(export_dialog.output_edit.text()).parent == tmp_path / "used-last"
    chooser = export_dialog.size_chooser
    chooser.size_radio.setChecked(True)
    chooser.preset_buttons[1].click()
    assert chooser.scale_radio.isChecked() and chooser.scale_spin.value() == 4
    assert export_dialog.output_edit.text().endswith("photo_x4.png")
    assert model_display_name("edsr-baseline-liif") == "LIIF EDSR-baseline (official)"
    assert model_display_name(str(tmp_path / "tiny.pth")) == "tiny"


def test_open_folder_after_an_export(
    qtbot: QtBot, export_dialog: ExportDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert not export_dialog.open_folder_button.isEnabled()
    out = tmp_path / "out" / "result.png"
    export_dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(export_dialog.export_finished, timeout=60_000):
        export_dialog.start_button.click()
    assert export_dialog.open_folder_button.isEnabled()
    export_dialog.open_folder_button.click()
    assert [u.toLocalFile() for u in opened] == [str(out.parent)]

"""The canvas in the main window: zoom keys and wheel, fit modes, selection, compare, pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QNativeGestureEvent, QPointingDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from liif_desktop.model.checkpoint import load_checkpoint
from liif_desktop.render.full import upscale_array
from liif_desktop.render.preview import SourcePreview
from liif_desktop.render.region import RegionRenderer
from liif_desktop.render.viewport import MAIN, Stage, TileUpdate
from liif_desktop.ui.canvas import ZOOM_STEPS, CompareMode, FitMode
from liif_desktop.ui.main_window import MainWindow
from liif_desktop.ui.zoom_box import format_zoom, parse_zoom
from tests.conftest import REPO, make_tiny_model
from tests.conftest_qt import app_settings, drag, grab_canvas, image_file, send_wheel, window

__all__ = ["app_settings", "image_file", "window"]  # fixtures used by these tests
pytestmark = pytest.mark.gui


def _open_refined(qtbot, window: MainWindow, image_file: Path, zoom: float) -> None:
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        window.canvas.set_zoom(zoom)
    assert window.canvas.is_refined()


def _visible_liif(model_seed: int, window: MainWindow) -> np.ndarray:
    """The same visible region rendered by upscale_array, as uint8."""
    view = window.canvas.view
    assert view is not None and window.image is not None
    renderer = RegionRenderer(make_tiny_model(seed=model_seed), window.image.rgb)
    whole = upscale_array(renderer, view.out_size)
    return _crop_visible(whole, window)


def _crop_visible(whole: np.ndarray, window: MainWindow) -> np.ndarray:
    view = window.canvas.view
    assert view is not None
    rect = view.visible_rect()
    assert rect is not None
    crop = whole[rect.rows[0] : rect.rows[1], rect.cols[0] : rect.cols[1]]
    return np.clip(np.rint(crop * 255), 0, 255).astype(np.uint8)


def _bicubic_visible(window: MainWindow) -> np.ndarray:
    """The visible region assembled from bicubic tiles of the same rectangles."""
    canvas = window.canvas
    view = canvas.view
    assert view is not None and window.image is not None
    rect = view.visible_rect()
    assert rect is not None
    preview = SourcePreview(window.image.rgb)
    whole = np.zeros((*view.out_size, 3), np.uint8)
    for key in view.visible_tiles(canvas.tile_size):
        tile = preview.bicubic(view.out_size, key)
        whole[key.rows[0] : key.rows[1], key.cols[0] : key.cols[1]] = tile
    return whole[rect.rows[0] : rect.rows[1], rect.cols[0] : rect.cols[1]]


def _shown_region(window: MainWindow) -> np.ndarray:
    """The canvas pixels that show the image (device pixels; offscreen dpr is 1)."""
    view = window.canvas.view
    assert view is not None and view.device_pixel_ratio == 1
    rect = view.visible_rect()
    assert rect is not None
    x0, y0 = rect.cols[0] - round(view.origin[0]), rect.rows[0] - round(view.origin[1])
    h, w = rect.shape
    return grab_canvas(window.canvas)[y0 : y0 + h, x0 : x0 + w]


def test_canvas_shows_exactly_the_liif_output(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    canvas = window.canvas
    canvas.setFixedSize(120, 90)  # few pixels to render: the point is the tile corner
    assert window.open_path(image_file)
    canvas.set_zoom(9.0)
    # Put the corner of four 256-pixel tiles in view: the tiles must join without seams.
    canvas.center_on(256 / 9.0, 256 / 9.0)
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)
    view = canvas.view
    rect = view.visible_rect() if view is not None else None
    assert view is not None and rect is not None
    assert len(view.visible_tiles(canvas.tile_size)) == 4
    assert window.image is not None
    # One rectangle of the output grid (equal to the same pixels of upscale_array's whole
    # grid, which test_canvas_matches_upscale_array_with_official_weights checks literally).
    renderer = RegionRenderer(make_tiny_model(seed=0), window.image.rgb)
    expected = renderer.render(view.out_size, rect.rows, rect.cols)
    expected_u8 = np.clip(np.rint(expected * 255), 0, 255).astype(int)
    shown = _shown_region(window).astype(int)
    assert shown.shape == expected_u8.shape == (view.viewport[1], view.viewport[0], 3)
    assert np.abs(shown - expected_u8).max() <= 1  # 1/255


def test_canvas_matches_upscale_array_with_official_weights(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
    edsr_weights: Path,
) -> None:
    model = load_checkpoint(edsr_weights)
    window.canvas.set_model("edsr", model)
    _open_refined(qtbot, window, image_file, 7.3)
    view = window.canvas.view
    assert view is not None and len(view.visible_tiles(window.canvas.tile_size)) > 1
    assert window.image is not None
    whole = upscale_array(RegionRenderer(model, window.image.rgb), window.canvas.view.out_size)  # type: ignore[union-attr]
    shown = _shown_region(window).astype(int)
    assert np.abs(shown - _crop_visible(whole, window).astype(int)).max() <= 1


def test_zoom_keys_step_through_the_ladder(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    canvas = window.canvas
    canvas.set_zoom(2.0)
    QTest.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.zoom == pytest.approx(3.0)
    QTest.keyClick(canvas, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert canvas.zoom == pytest.approx(4.0)
    QTest.keyClick(canvas, Qt.Key.Key_Minus)
    QTest.keyClick(canvas, Qt.Key.Key_Minus)
    assert canvas.zoom == pytest.approx(2.0)
    QTest.keyClick(canvas, Qt.Key.Key_1)
    assert canvas.zoom == pytest.approx(1.0)
    QTest.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.fit_mode == FitMode.WINDOW
    assert window.zoom_label.text() == format_zoom(canvas.zoom)
    canvas.set_zoom(1e6)
    assert canvas.zoom == ZOOM_STEPS[-1]


def test_wheel_zooms_about_the_cursor(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.set_zoom(8.0)  # larger than the viewport: nothing to re-centre
    vp = canvas.viewport()
    pos = (60.0, 50.0)
    before = canvas.image_position(QPointF(*pos))
    send_wheel(vp, pos, 1)
    assert canvas.zoom == pytest.approx(8.0 * 2**0.25, rel=1e-3)
    after = canvas.image_position(QPointF(*pos))
    assert before is not None and after is not None
    # The point under the cursor stays put (to within the whole-pixel pan).
    assert abs(after[0] - before[0]) * canvas.zoom < 1.01
    assert abs(after[1] - before[1]) * canvas.zoom < 1.01
    send_wheel(vp, pos, -2)
    assert canvas.zoom == pytest.approx(8.0 * 2**-0.25, rel=1e-3)


def test_plain_wheel_scrolls_when_configured(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.wheel_zooms = False
    canvas.set_zoom(8.0)
    view = canvas.view
    assert view is not None
    send_wheel(canvas.viewport(), (50, 50), -1)
    assert canvas.zoom == 8.0
    assert canvas.view.origin[1] > view.origin[1]  # type: ignore[union-attr]
    send_wheel(canvas.viewport(), (50, 50), 1, Qt.KeyboardModifier.ControlModifier)
    assert canvas.zoom == pytest.approx(8.0 * 2**0.25, rel=1e-3)


def test_drag_pans_and_keys_pan(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.set_zoom(8.0)
    origin = canvas.view.origin  # type: ignore[union-attr]
    drag(canvas.viewport(), (100, 100), (70, 80))
    assert canvas.view.origin == (origin[0] + 30, origin[1] + 20)  # type: ignore[union-attr]
    QTest.keyClick(canvas, Qt.Key.Key_Home)
    assert canvas.view.origin[1] == 0  # type: ignore[union-attr]
    QTest.keyClick(canvas, Qt.Key.Key_Down)
    assert canvas.view.origin[1] > 0  # type: ignore[union-attr]
    assert canvas.verticalScrollBar().value() == round(canvas.view.origin[1])  # type: ignore[union-attr]
    canvas.verticalScrollBar().setValue(0)
    assert canvas.view.origin[1] == 0  # type: ignore[union-attr]


def test_fit_modes(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    view = canvas.view
    assert view is not None and canvas.fit_mode == FitMode.WINDOW
    vw, vh = view.viewport
    h_out, w_out = view.out_size
    assert w_out <= vw and h_out <= vh and (abs(w_out - vw) <= 1 or abs(h_out - vh) <= 1)
    canvas.fit_width()
    assert canvas.fit_mode == FitMode.WIDTH
    # The page is taller than the viewport: a vertical scrollbar appears, the width still fits.
    qtbot.waitUntil(canvas.verticalScrollBar().isVisible)
    view = canvas.view
    assert view is not None and view.viewport[0] == canvas.viewport().width()
    assert abs(view.out_size[1] - view.viewport[0]) <= 1
    assert view.origin[1] == 0  # the top of the page
    canvas.setFixedSize(300, 150)  # a resize keeps the fit mode
    qtbot.waitUntil(lambda: canvas.view.viewport[0] == canvas.viewport().width())
    view = canvas.view
    assert view is not None
    assert abs(view.out_size[1] - view.viewport[0]) <= 1
    canvas.actual_size()
    assert canvas.zoom == 1.0 and canvas.fit_mode == FitMode.NONE


def test_zoom_box_takes_any_value(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    assert window.open_path(image_file)
    box = window.zoom_box
    line = box.lineEdit()
    assert line is not None
    line.setText("370 %")
    QTest.keyClick(line, Qt.Key.Key_Return)
    assert window.canvas.zoom == pytest.approx(3.7)
    assert box.currentText() == "370 %"
    line.setText("banana")
    QTest.keyClick(line, Qt.Key.Key_Return)
    assert window.canvas.zoom == pytest.approx(3.7)
    assert box.currentText() == "370 %"


@pytest.mark.parametrize(
    ("text", "zoom"),
    [("370", 3.7), ("370 %", 3.7), ("3.7x", 3.7), ("×2", 2.0), ("12,5%", 0.125), ("0", None)],
)
def test_parse_zoom(text: str, zoom: float | None) -> None:
    assert parse_zoom(text) == (pytest.approx(zoom) if zoom is not None else None)
    assert parse_zoom("fast") is None


def test_shift_drag_selects_then_zooms_to_selection(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.set_zoom(4.0)
    canvas.center_on(20, 16)
    view = canvas.view
    assert view is not None
    start, end = (40.0, 30.0), (120.0, 90.0)
    with qtbot.waitSignal(canvas.selectionChanged) as sig:
        drag(canvas.viewport(), start, end, Qt.KeyboardModifier.ShiftModifier)
    assert view.origin == canvas.view.origin  # type: ignore[union-attr]  # selecting does not pan
    sel = sig.args[0]
    x0, y0 = view.screen_to_image(*start)
    x1, y1 = view.screen_to_image(*end)
    assert (sel.left(), sel.top(), sel.right(), sel.bottom()) == pytest.approx((x0, y0, x1, y1))
    assert window.act_zoom_selection.isEnabled() and window.act_export_selection.isEnabled()
    window.act_zoom_selection.trigger()
    new = canvas.view
    assert new is not None
    vw, vh = new.viewport
    assert new.zoom == pytest.approx(min(vw / sel.width(), vh / sel.height()))
    cx, cy = new.screen_to_image(vw / 2, vh / 2)
    assert (cx, cy) == pytest.approx((sel.center().x(), sel.center().y()), abs=0.5 / new.zoom)
    window.act_clear_selection.trigger()
    assert canvas.selection() is None and not window.act_zoom_selection.isEnabled()


def test_select_tool_drag_and_click_clears(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    window.act_select.setChecked(True)
    drag(canvas.viewport(), (20, 20), (90, 70))
    assert canvas.selection_region() is not None
    x, y, w, h = canvas.selection_region()  # type: ignore[misc]
    assert w > 5 and h > 5 and x >= 0 and y >= 0
    drag(canvas.viewport(), (50, 50), (51, 51))  # a click clears
    assert canvas.selection() is None


def test_compare_toggle_and_split_show_bicubic(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    _open_refined(qtbot, window, image_file, 8.0)
    canvas = window.canvas
    view = canvas.view
    assert view is not None
    liif = _shown_region(window)
    rect = view.visible_rect()
    assert rect is not None and rect.shape == (view.viewport[1], view.viewport[0])
    bicubic = _bicubic_visible(window)
    below_labels = slice(40, None)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(canvas, Qt.Key.Key_C)
    assert canvas.compare_mode == CompareMode.SWAP
    qtbot.waitUntil(
        canvas.is_refined, timeout=60_000
    )  # the reference tiles are planned off the GUI thread
    swapped = _shown_region(window)
    assert np.array_equal(swapped[below_labels], bicubic[below_labels])
    assert np.abs(swapped.astype(int) - liif.astype(int)).mean() > 1
    QTest.keyClick(canvas, Qt.Key.Key_S)
    assert canvas.compare_mode == CompareMode.SPLIT and not window.act_compare.isChecked()
    canvas.set_split_position(0.5)
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)
    split = _shown_region(window)
    mid = round(canvas.split_x())
    # Left of the divider: bicubic; right of it: LIIF (the divider itself excluded).
    left, right = slice(0, mid - 10), slice(mid + 10, None)
    assert np.array_equal(split[below_labels, left], bicubic[below_labels, left])
    assert np.array_equal(split[below_labels, right], liif[below_labels, right])
    # Dragging the divider moves it.
    drag(canvas.viewport(), (mid, 100), (mid - 60, 100))
    assert canvas.split_x() == pytest.approx(mid - 60, abs=1)
    QTest.keyClick(canvas, Qt.Key.Key_S)
    assert canvas.compare_mode == CompareMode.OFF
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)
    assert np.array_equal(_shown_region(window), liif)


def test_compare_against_a_second_model(qtbot: QtBot, window: MainWindow, image_file: Path) -> None:
    _open_refined(qtbot, window, image_file, 3.0)
    canvas = window.canvas
    assert window.set_reference_model("tiny-b")
    window.act_compare.setChecked(True)
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)  # the reference model's tiles too
    shown = _shown_region(window).astype(int)[40:]  # below the label
    assert np.abs(shown - _visible_liif(1, window).astype(int)[40:]).max() <= 1
    assert canvas.reference_label() == "Reference model"
    assert window.set_reference_model(None)
    assert canvas.reference_model_id is None


def test_pinch_gesture_zooms_about_the_fingers(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    canvas = window.canvas
    canvas.set_zoom(8.0)
    vp = canvas.viewport()
    pos = QPointF(70, 60)
    before = canvas.image_position(pos)
    event = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture,
        QPointingDevice.primaryPointingDevice(),
        2,
        pos,
        pos,
        QPointF(vp.mapToGlobal(pos.toPoint())),
        0.5,
        QPointF(0, 0),
    )
    QApplication.sendEvent(vp, event)
    assert canvas.zoom == pytest.approx(12.0)
    after = canvas.image_position(pos)
    assert before is not None and after is not None
    assert np.hypot(after[0] - before[0], after[1] - before[1]) * canvas.zoom < 1.5


def test_old_tiles_are_drawn_rescaled_until_the_new_zoom_covers_the_view(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    _open_refined(qtbot, window, image_file, 4.0)
    canvas = window.canvas
    view = canvas.view
    assert view is not None
    key = next(iter(canvas._tiles))
    width = canvas._tile_rect(key, view.out_size).width()
    canvas.set_zoom(8.0)  # the new tiles come through a queued signal: not delivered yet
    assert not canvas.is_refined()
    assert key in canvas._backdrop and canvas._backdrop_out_size == view.out_size
    assert canvas._tile_rect(key, view.out_size).width() == pytest.approx(2 * width)
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)
    assert not canvas._backdrop


def test_stale_updates_are_dropped(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    _open_refined(qtbot, window, image_file, 3.0)
    canvas = window.canvas
    view = canvas.view
    assert view is not None
    key = next(iter(canvas._tiles))
    before = canvas._tiles[key]
    generation = canvas._generation

    def update(gen: int, out_size: tuple[int, int] = view.out_size) -> TileUpdate:
        rgb = np.zeros((*key.shape, 3), np.uint8)
        return TileUpdate(gen, MAIN, out_size, key, rgb, Stage.EXACT, True)

    canvas._on_updates([update(generation - 1)])  # an older view's
    assert canvas._tiles[key] is before
    canvas._on_updates([update(generation, (view.out_size[0] + 1, view.out_size[1]))])
    assert canvas._tiles[key] is before  # another zoom's
    canvas._on_updates([update(generation)])
    assert canvas._tiles[key].rgb.max() == 0


def test_coarse_pass_shows_before_the_exact_view(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    assert window.open_path(image_file)
    stages: list[object] = []
    window.canvas.stageChanged.connect(stages.append)
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        window.canvas.set_zoom(6.0)
    shown = [s for s in stages if s is not None]
    assert shown[-1] == Stage.EXACT
    assert shown == sorted(shown)  # never back to a lower stage within one view


@pytest.mark.slow
def test_sample_page_at_400_percent_matches_upscale_array(
    qtbot: QtBot,
    window: MainWindow,
    edsr_weights: Path,
) -> None:
    """The view of the docs screenshot (sample page, ×4, 1186×700 canvas), pixel for pixel."""
    sample = REPO / "resources" / "sample_page.png"
    if not sample.is_file():
        pytest.skip(f"{sample} missing: run scripts/make_resources.py")
    model = load_checkpoint(edsr_weights)
    window.canvas.set_model("edsr", model)
    window.canvas.setFixedSize(1186, 700)
    assert window.open_path(sample)
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=900_000):
        window.canvas.set_zoom(4.0)
    view = window.canvas.view
    rect = view.visible_rect() if view is not None else None
    assert rect is not None and window.image is not None
    expected = RegionRenderer(model, window.image.rgb).render(view.out_size, rect.rows, rect.cols)  # type: ignore[union-attr]
    expected_u8 = np.clip(np.rint(expected * 255), 0, 255).astype(int)
    assert np.abs(_shown_region(window).astype(int) - expected_u8).max() <= 1


def test_without_a_model_the_bicubic_view_is_final(
    qtbot: QtBot,
    window: MainWindow,
    image_file: Path,
) -> None:
    window.canvas.set_model("", None)
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.canvas.viewRefined, timeout=60_000):
        window.canvas.set_zoom(6.0)
    assert np.array_equal(_shown_region(window), _bicubic_visible(window))


def test_invented_detail_overlay_toggles_with_u(
    qtbot: QtBot, window: MainWindow, image_file: Path
) -> None:
    _open_refined(qtbot, window, image_file, 3.0)
    canvas = window.canvas
    plain = _shown_region(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(canvas, Qt.Key.Key_U)
    assert canvas.invention_overlay and window.act_invention.isChecked()
    qtbot.waitUntil(canvas.overlay_complete, timeout=60_000)
    view = canvas.view
    assert view is not None
    assert set(canvas._overlay_tiles) == set(view.visible_tiles(canvas.tile_size))
    QTest.keyClick(canvas, Qt.Key.Key_U)
    assert not canvas.invention_overlay
    qtbot.waitUntil(canvas.is_refined, timeout=60_000)
    assert np.array_equal(_shown_region(window), plain)


def test_overlay_tint_starts_where_the_map_marks_a_fifth_of_the_text(qtbot: QtBot) -> None:
    from liif_desktop.ui.canvas import OVERLAY_FROM, OVERLAY_OPACITY, overlay_image

    levels = np.array([0.0, OVERLAY_FROM, 0.55, 0.75, 1.0])
    grey = np.repeat(np.rint(levels * 255).astype(np.uint8)[None, :, None], 3, axis=2)
    image = overlay_image(grey, 1.0)
    alphas = [image.pixelColor(i, 0).alpha() for i in range(len(levels))]
    assert alphas[0] == alphas[1] == 0  # paper and faint marks stay untinted
    assert 0 < alphas[2] < alphas[3] == alphas[4] == OVERLAY_OPACITY

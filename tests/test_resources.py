"""The bundled resources: sample page, app icon, and where the app finds them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import numpy as np
import PIL
import pytest
from PIL import Image, features

from liif_desktop import appinfo

REPO = Path(__file__).resolve().parent.parent
RESOURCES = REPO / "resources"
RECORD = json.loads((RESOURCES / "resources.json").read_text())


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_resources", REPO / "scripts" / "make_resources.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


def _sample_rgb() -> np.ndarray:
    with Image.open(RESOURCES / appinfo.SAMPLE_PAGE) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32)


# ----------------------------------------------------------------------------- sample page


def test_sample_page_is_a_small_low_resolution_scan() -> None:
    path = RESOURCES / appinfo.SAMPLE_PAGE
    assert path.stat().st_size < 400 * 1024
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert 600 <= im.width <= 900
        assert im.height > im.width  # a portrait page
        assert "transparency" not in im.info
    rgb = _sample_rgb()
    paper = np.median(rgb.reshape(-1, 3), axis=0)
    # Toned paper: not white, warm (red above blue), light.
    assert 200 < paper[2] < paper[0] < 250
    # Text: a few percent of the page is dark ink, most of it is paper.
    luma = rgb.mean(axis=2)
    inked = (luma < 150).mean()
    assert 0.01 < inked < 0.15
    # Sensor noise: a blank strip of margin is not flat, but only slightly grainy.
    margin = luma[20:40, 8:40]
    assert 0.4 < margin.std() < 4.0


def test_sample_page_is_soft_like_a_scan() -> None:
    # No ink edge jumps from paper to full ink between neighbouring pixels: the scan is blurred.
    luma = _sample_rgb().mean(axis=2)
    step = np.abs(np.diff(luma, axis=1))
    full = float(np.median(luma)) - float(luma.min())
    assert step.max() < 0.9 * full
    assert np.percentile(step, 99.9) > 0.3 * full  # but the text still has contrast


def test_sample_page_body_text_is_small(script: ModuleType) -> None:
    x_height = script.body_x_height()
    assert 6.0 <= x_height <= 9.0
    assert RECORD["sample_page"]["body_x_height_px"] == pytest.approx(x_height, abs=0.01)


def test_sample_page_loads_through_the_app_loader() -> None:
    imageio = pytest.importorskip("liif_desktop.export.imageio")
    loaded = imageio.load_image(RESOURCES / appinfo.SAMPLE_PAGE)
    assert loaded.rgb.dtype == np.float32
    assert loaded.rgb.shape == (*RECORD["sample_page"]["size"][::-1], 3)
    assert loaded.alpha is None
    np.testing.assert_allclose(loaded.rgb * 255, _sample_rgb(), atol=0.51)


# ----------------------------------------------------------------------------- icons


@pytest.mark.parametrize("size", appinfo.ICON_SIZES)
def test_icon_png_sizes(size: int) -> None:
    path = RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}-{size}.png"
    with Image.open(path) as im:
        assert im.size == (size, size)
        assert im.mode == "RGBA"
        rgba = np.asarray(im)
    assert rgba[0, 0, 3] < 64  # rounded corner: (nearly) transparent
    assert rgba[size // 2, size // 2, 3] == 255
    if size >= 32:
        # Several distinct colours (background, lens, edge), not a blank square.
        opaque = rgba[rgba[..., 3] == 255][:, :3]
        assert len(np.unique(opaque // 32, axis=0)) >= 4


def test_windows_ico_holds_the_standard_sizes() -> None:
    with Image.open(RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}.ico") as im:
        sizes = set(im.info["sizes"])
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes


def test_macos_icns_holds_retina_sizes() -> None:
    with Image.open(RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}.icns") as im:
        assert im.size == (1024, 1024)
        sizes = {(w, h, scale) for w, h, scale in im.info["sizes"]}
    assert {(16, 16, 2), (128, 128, 1), (256, 256, 2), (512, 512, 2)} <= sizes


def test_icon_svg_is_plain_svg() -> None:
    root = ET.parse(RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"
    tags = {el.tag.split("}")[1] for el in root.iter()}
    # No clip paths, masks or filters: every icon renderer draws it the same.
    assert tags <= {"svg", "rect", "path", "circle", "line"}


@pytest.mark.gui
def test_icon_svg_matches_the_png(qapp: object) -> None:
    qtsvg = pytest.importorskip("PySide6.QtSvg")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    renderer = qtsvg.QSvgRenderer(str(RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}.svg"))
    assert renderer.isValid()
    image = QImage(256, 256, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(256, image.bytesPerLine())
    svg = rows[:, : 256 * 4].reshape(256, 256, 4).astype(np.float32)
    with Image.open(RESOURCES / "icons" / f"{appinfo.PACKAGE_NAME}-256.png") as im:
        png = np.asarray(im, dtype=np.float32)
    opaque = (svg[..., 3] == 255) & (png[..., 3] == 255)
    assert opaque.mean() > 0.7
    diff = np.abs(svg - png)[opaque].max(axis=-1)
    assert diff.mean() < 3.0  # only antialiased edges differ
    assert (diff > 40).mean() < 0.01


# ----------------------------------------------------------------------------- reproducibility


def test_record_matches_the_committed_files() -> None:
    on_disk = {
        str(p.relative_to(RESOURCES)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(RESOURCES.rglob("*"))
        if p.is_file() and p.name != "resources.json"
    }
    assert on_disk == RECORD["sha256"]


def test_script_reproduces_the_committed_files(script: ModuleType) -> None:
    toolchain = (PIL.__version__, features.version("freetype2"))
    if toolchain != (RECORD["pillow"], RECORD["freetype"]):
        pytest.skip(f"made with Pillow/FreeType {RECORD['pillow']}/{RECORD['freetype']}")
    files = script.build_all()
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert hashes == RECORD["sha256"]


def test_sample_page_rendering_is_seeded(script: ModuleType) -> None:
    # Two renders of the degradation from the same seed are identical; another seed differs.
    clean = script.render_clean_page(1)
    first = np.asarray(script.degrade_like_scan(clean, np.random.default_rng(3)))
    second = np.asarray(script.degrade_like_scan(clean, np.random.default_rng(3)))
    other = np.asarray(script.degrade_like_scan(clean, np.random.default_rng(4)))
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_digit_lines_print_their_true_sums(script: ModuleType) -> None:
    for groups in script.DIGIT_GROUPS:
        line = script.digit_line(groups)
        total = int(line.rsplit("= ", 1)[1])
        assert total == sum(int(ch) for ch in groups if ch.isdigit())


# ----------------------------------------------------------------------------- resource_path


def test_resource_path_in_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIIF_DESKTOP_RESOURCES", raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert appinfo.resource_path(appinfo.SAMPLE_PAGE) == RESOURCES / appinfo.SAMPLE_PAGE
    assert all(p.is_file() for p in appinfo.icon_paths())


def test_resource_path_when_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LIIF_DESKTOP_RESOURCES", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    path = appinfo.resource_path("icons/liif-desktop-16.png")
    assert path == tmp_path / "resources" / "icons" / "liif-desktop-16.png"


def test_resource_path_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIIF_DESKTOP_RESOURCES", str(tmp_path))
    assert appinfo.resource_path("a.png") == tmp_path / "a.png"


@pytest.mark.parametrize(
    "name", ["../weights/manifest.json", "/etc/passwd", "", "icons/../..", "icons\\x.png"]
)
def test_resource_path_rejects_names_outside_the_folder(name: str) -> None:
    with pytest.raises(ValueError, match="not a resource name"):
        appinfo.resource_path(name)

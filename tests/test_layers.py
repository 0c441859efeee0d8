"""Imports point one way: ui → export → render → model; only ui/ and app.py use Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "liif_desktop"
QT_MODULES = ("PySide6", "qtawesome", "shiboken6", "qtpy")
# Layer → the liif_desktop layers it must not import.
FORBIDDEN = {
    "model": ("render", "export", "ui", "app", "cli", "weights"),
    "render": ("export", "ui", "app", "cli"),
    "export": ("ui", "app"),
}
MODEL_THIRD_PARTY = {"torch", "numpy"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_upwards(layer: str) -> None:
    for path in _layer_files(layer):
        for name in _imports(path):
            parts = name.split(".")
            assert parts[0] not in QT_MODULES, f"{path} imports {name}"
            if parts[0] == "liif_desktop" and len(parts) > 1:
                assert parts[1] not in FORBIDDEN[layer], f"{path} imports {name}"


def test_only_ui_and_app_import_qt() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui" or rel.name == "app.py":
            continue
        for name in _imports(path):
            assert name.split(".")[0] not in QT_MODULES, f"{path} imports {name}"


def test_model_uses_torch_numpy_and_stdlib_only() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in _layer_files("model"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top in stdlib | MODEL_THIRD_PARTY | {"liif_desktop"}, f"{path} imports {name}"


def test_core_runs_without_qt() -> None:
    code = (
        "import sys, numpy as np\n"
        "import liif_desktop.weights, liif_desktop.render.full, liif_desktop.render.region\n"
        "from liif_desktop.model import build_liif\n"
        "assert not any(m.split('.')[0] in ('PySide6', 'qtawesome') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""scripts/setup.py: which torch each system gets, and set-up steps rerun only on change."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO


def load_setup_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("setup_script", REPO / "scripts" / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


setup_script = load_setup_script()


def test_linux_cpu_tries_the_cpu_index_first_then_the_package_index() -> None:
    pin = f"torch=={setup_script.TORCH_VERSION}"
    attempts = setup_script.torch_attempts("cpu", "Linux")
    assert attempts == [["--index-url", "https://download.pytorch.org/whl/cpu", pin], [pin]]
    assert setup_script.torch_attempts("cuda", "Linux") == [[pin]]
    for system in ("Windows", "Darwin"):  # the package index's torch is CPU-sized there
        assert setup_script.torch_attempts("cpu", system) == [[pin]]
    with pytest.raises(ValueError):
        setup_script.torch_attempts("rocm", "Linux")


def test_torch_pin_matches_pyproject_and_the_installers() -> None:
    workflow = (REPO / ".github" / "workflows" / "installers.yml").read_text()
    assert f"torch=={setup_script.TORCH_VERSION}" in workflow
    assert setup_script.TORCH_CPU_INDEX in workflow


def test_weights_key_changes_only_when_a_weights_file_does(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "manifest.json").write_text("{}")
    (weights / "a.pth").write_bytes(b"1234")
    key = setup_script.weights_key(tmp_path)
    assert setup_script.weights_key(tmp_path) == key
    (weights / "notes.txt").write_text("not a weights file")
    assert setup_script.weights_key(tmp_path) == key
    (weights / "a.pth").write_bytes(b"12345")
    assert setup_script.weights_key(tmp_path) != key
    key = setup_script.weights_key(tmp_path)
    (weights / "a.pth").unlink()
    assert setup_script.weights_key(tmp_path) != key


def test_setup_reruns_steps_only_when_their_inputs_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    python = setup_script.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.write_text("")  # an existing environment: no venv is created
    monkeypatch.setenv("LIIF_VENV", str(venv))
    calls: list[str] = []

    def fake_run(cmd: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(" ".join(str(c) for c in cmd[1:]))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(setup_script, "_run", fake_run)
    monkeypatch.setattr(setup_script, "weights_key", lambda: "w1")
    setup_script.setup("cpu")
    assert [c.split()[2] for c in calls] == ["install", "install", "fetch"]
    calls.clear()
    setup_script.setup("cpu")
    assert calls == []  # nothing changed: no pip, no torch import, no hashing
    monkeypatch.setattr(setup_script, "weights_key", lambda: "w2")
    setup_script.setup("cpu")
    assert calls == ["-m liif_desktop.weights fetch"]
    calls.clear()
    setup_script.setup("cuda")
    assert calls[0] == f"-m pip install --quiet torch=={setup_script.TORCH_VERSION}"


def test_fallback_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = iter([1, 0])

    def fake_run(cmd: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(cmd, next(codes))

    monkeypatch.setattr(setup_script, "_run", fake_run)
    monkeypatch.setattr(setup_script.platform, "system", lambda: "Linux")
    setup_script.install_torch(Path(sys.executable), "cpu")
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "CUDA build" in err


def test_print_torch_args_without_a_venv() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "setup.py"), "--print-torch-args"],
        capture_output=True,
        text=True,
        env={**os.environ, "LIIF_VENV": "/nonexistent"},
        timeout=60,
    )
    assert done.returncode == 0
    assert f"torch=={setup_script.TORCH_VERSION}" in done.stdout


def test_venv_interpreter_per_system(tmp_path: Path) -> None:
    assert setup_script.venv_python(tmp_path, "Windows") == tmp_path / "Scripts" / "python.exe"
    assert setup_script.venv_python(tmp_path, "Linux") == tmp_path / "bin" / "python"

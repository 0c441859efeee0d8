"""Precision per machine: calibration by measuring, its cache, bf16 accuracy, OpenMP waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from liif_desktop.model.checkpoint import load_checkpoint
from liif_desktop.render import precision as precision_module
from liif_desktop.render.precision import (
    Calibration,
    cached_calibration,
    calibrate,
    liif_workload,
    resolve_precision,
)
from liif_desktop.render.region import RegionRenderer
from tests.conftest import REPO, make_tiny_model, random_image


class FakeClock:
    """A clock that a fake workload advances: ``cost[dtype]`` seconds per run."""

    def __init__(self, cost: dict[torch.dtype, float]) -> None:
        self.now = 0.0
        self.cost = cost
        self.runs: list[torch.dtype] = []

    def timer(self) -> float:
        return self.now

    def run(self, dtype: torch.dtype) -> None:
        self.runs.append(dtype)
        self.now += self.cost[dtype]


def test_calibration_picks_fp32_when_bf16_is_slower() -> None:
    clock = FakeClock({torch.float32: 0.010, torch.bfloat16: 0.055})  # emulated bf16
    result = calibrate(clock.run, "cpu-x", timer=clock.timer)
    assert result.choice == "fp32"
    assert result.fp32_s == pytest.approx(0.010) and result.bf16_s == pytest.approx(0.055)
    assert clock.runs.count(torch.float32) == clock.runs.count(torch.bfloat16) == 4


def test_calibration_picks_bf16_only_when_clearly_faster() -> None:
    fast = FakeClock({torch.float32: 0.020, torch.bfloat16: 0.010})  # native bf16
    assert calibrate(fast.run, timer=fast.timer).choice == "bf16"
    marginal = FakeClock({torch.float32: 0.020, torch.bfloat16: 0.019})  # within noise
    assert calibrate(marginal.run, timer=marginal.timer).choice == "fp32"


def test_calibration_is_cached_per_machine(tmp_path: Path) -> None:
    clock = FakeClock({torch.float32: 0.02, torch.bfloat16: 0.01})
    first = cached_calibration("cpu", cache_dir=tmp_path, run=clock.run, timer=clock.timer)
    assert first.choice == "bf16"
    runs = len(clock.runs)
    again = cached_calibration("cpu", cache_dir=tmp_path, run=clock.run, timer=clock.timer)
    assert again == first and len(clock.runs) == runs  # not measured again
    data: dict[str, Any] = json.loads((tmp_path / "precision.json").read_text())
    (key,) = data
    assert torch.__version__ in key and "threads" in key
    # another machine (key) is measured anew
    data = {"another cpu|torch 0|cpu|2 threads": data[key]}
    (tmp_path / "precision.json").write_text(json.dumps(data))
    slow = FakeClock({torch.float32: 0.01, torch.bfloat16: 0.05})
    assert (
        cached_calibration("cpu", cache_dir=tmp_path, run=slow.run, timer=slow.timer).choice
        == "fp32"
    )


def test_a_broken_cache_file_is_measured_again(tmp_path: Path) -> None:
    (tmp_path / "precision.json").write_text("{not json")
    clock = FakeClock({torch.float32: 0.01, torch.bfloat16: 0.05})
    result = cached_calibration("cpu", cache_dir=tmp_path, run=clock.run, timer=clock.timer)
    assert isinstance(result, Calibration) and result.choice == "fp32"


def test_resolve_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("fp32") == "fp32"
    assert resolve_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("int8")
    monkeypatch.setattr(
        precision_module,
        "cached_calibration",
        lambda device, cache_dir=None: Calibration("bf16", 2.0, 1.0, "k"),
    )
    assert resolve_precision("auto") == "bf16"


def test_the_real_workload_runs_in_both_types_quickly() -> None:
    run = liif_workload(torch.device("cpu"), queries=256)
    run(torch.float32)
    run(torch.bfloat16)


def test_bf16_runs_the_same_model_closely_tiny_model() -> None:
    # The tiny model's output layer is scaled ×20 (tests/conftest.py), which amplifies bf16
    # rounding ×20 too: its tolerance is looser than the official weights' 2/255 below.
    model = make_tiny_model(seed=3)
    image = random_image(20, 24, seed=4)
    fp32 = RegionRenderer(model, image, precision="fp32").render((50, 60), (0, 50), (0, 60))
    bf16 = RegionRenderer(model, image, precision="bf16").render((50, 60), (0, 50), (0, 60))
    diff = np.abs(np.rint(fp32 * 255) - np.rint(bf16 * 255))
    assert diff.max() <= 6 and diff.mean() <= 0.5, (diff.max(), diff.mean())
    assert not np.array_equal(fp32, bf16)  # it really ran in bf16


def test_bf16_official_weights_on_the_golden_input(golden_dir: Path, edsr_weights: Path) -> None:
    """The stated tolerance: bf16 within 2/255 of fp32 on the golden inputs (×4)."""
    from PIL import Image

    model = load_checkpoint(edsr_weights)
    image = np.asarray(Image.open(golden_dir / "inputs" / "photo.png").convert("RGB"))
    rgb = image.astype(np.float32) / 255
    h, w = rgb.shape[0] * 4, rgb.shape[1] * 4
    fp32 = RegionRenderer(model, rgb, precision="fp32").render((h, w), (0, h), (0, w))
    bf16 = RegionRenderer(model, rgb, precision="bf16").render((h, w), (0, h), (0, w))
    diff = np.abs(np.rint(fp32 * 255) - np.rint(bf16 * 255))
    assert diff.max() <= 2, f"max difference {diff.max()} of 255"


def test_openmp_waits_passively_unless_the_user_says_otherwise() -> None:
    code = "import liif_desktop, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ACTIVE"

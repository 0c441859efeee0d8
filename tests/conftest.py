"""Shared fixtures: the ../shared data, the official weights, tiny random models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from liif_desktop.model import LIIF, build_liif

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
GOLDEN = SHARED / "golden"
EDSR_WEIGHTS = REPO / "weights" / "edsr-baseline-liif.pth"


def tiny_spec(encoder: str = "edsr-baseline") -> dict[str, Any]:
    """A small official-format spec (fast to run in tests)."""
    if encoder == "rdn":
        enc = {"name": "rdn", "args": {"no_upsampling": True, "RDNconfig": "A", "G0": 16}}
    else:
        enc = {
            "name": "edsr-baseline",
            "args": {"no_upsampling": True, "n_resblocks": 2, "n_feats": 16},
        }
    return {
        "encoder_spec": enc,
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [32, 32]}},
    }


def make_tiny_model(encoder: str = "edsr-baseline", seed: int = 0) -> LIIF:
    """A seeded random LIIF model with a small encoder and MLP."""
    torch.manual_seed(seed)
    model = build_liif(tiny_spec(encoder))
    with torch.no_grad():  # random init gives near-constant output; widen it
        model.imnet.linear_layers()[-1].weight.mul_(20)
    return model.eval()


@pytest.fixture(autouse=True)
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Calibrations and other cached facts go to a temporary folder, never the user's."""
    monkeypatch.setenv("LIIF_DESKTOP_CACHE", str(tmp_path_factory.getbasetemp() / "user-cache"))


@pytest.fixture
def tiny_model() -> LIIF:
    return make_tiny_model()


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    if not (GOLDEN / "manifest.json").is_file():
        pytest.skip(f"golden data not found at {GOLDEN} (it ships beside the repo in CI)")
    return GOLDEN


@pytest.fixture(scope="session")
def edsr_weights() -> Path:
    if not EDSR_WEIGHTS.is_file():
        pytest.skip(f"{EDSR_WEIGHTS} missing: run `make setup` to fetch the official weights")
    return EDSR_WEIGHTS


@pytest.fixture(scope="session")
def golden_manifest(golden_dir: Path) -> dict[str, Any]:
    return json.loads((golden_dir / "manifest.json").read_text())


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A seeded smooth-ish random RGB image (float32, [0, 1])."""
    rng = np.random.default_rng(seed)
    base = rng.random((height // 4 + 2, width // 4 + 2, 3)).astype(np.float32)
    img = np.kron(base, np.ones((4, 4, 1), dtype=np.float32))[:height, :width]
    noise = rng.normal(0, 0.05, (height, width, 3)).astype(np.float32)
    return np.clip(img + noise, 0, 1)

"""Our LIIF implementation reproduces the original code's outputs (../shared/golden)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from liif_desktop.model import LIIF, load_checkpoint
from liif_desktop.model.coords import grid_coords
from liif_desktop.render.region import RegionRenderer

TOL = 1e-4  # max abs difference, float32 (the golden set's stated tolerance)


def _cases(manifest_path: Path) -> list[dict[str, Any]]:
    import json

    if not manifest_path.is_file():
        return []
    return list(json.loads(manifest_path.read_text())["cases"])


from tests.conftest import GOLDEN  # noqa: E402

CASES = _cases(GOLDEN / "manifest.json")
_models: dict[str, LIIF] = {}


def _model(name: str, golden_dir: Path, edsr_weights: Path | None) -> LIIF:
    if name not in _models:
        if name == "edsr_official":
            assert edsr_weights is not None
            path = edsr_weights
        else:
            path = golden_dir / f"{name}-liif.pth"
        _models[name] = load_checkpoint(path)
    return _models[name]


def _image(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def _case_id(case: dict[str, Any]) -> str:
    size = "x".join(map(str, case.get("target_hw", ["points"])))
    return f"{case['model']}-{Path(case['input']).stem}-{size}"


@pytest.mark.skipif(not CASES, reason=f"golden data not found at {GOLDEN}")
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_golden_case(
    case: dict[str, Any], golden_dir: Path, request: pytest.FixtureRequest
) -> None:
    weights = request.getfixturevalue("edsr_weights") if case["model"] == "edsr_official" else None
    model = _model(case["model"], golden_dir, weights)
    image = _image(golden_dir / case["input"])
    if case["kind"] == "full_grid":
        h, w = case["target_hw"]
        expected = np.load(golden_dir / case["output"])
        # Reference formulation.
        with torch.no_grad():
            feat = model.encode(torch.from_numpy(image).permute(2, 0, 1)[None])
            coord = grid_coords(h, w)[None]
            cell = torch.tensor([2 / h, 2 / w]).expand_as(coord)
            ref = (model.query(feat, coord, cell) * 0.5 + 0.5).clamp(0, 1).view(h, w, 3).numpy()
        assert np.abs(ref - expected).max() <= TOL
        # Fast path, with small latent tiles so tiling is exercised too (halo = full reach).
        renderer = RegionRenderer(model, image, halo=model.receptive_radius, feature_tile=24)
        fast = renderer.render((h, w), (0, h), (0, w))
        assert np.abs(fast - expected).max() <= TOL
    else:
        coord = torch.from_numpy(np.load(golden_dir / case["coord"]))[None]
        cell = torch.from_numpy(np.load(golden_dir / case["cell"]))[None]
        expected = np.load(golden_dir / case["output_raw"])
        with torch.no_grad():
            raw = model(torch.from_numpy(image).permute(2, 0, 1)[None], coord, cell)[0].numpy()
        assert np.abs(raw - expected).max() <= TOL

"""The invented-detail map written beside an export: CLI flag, export core, region exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop import cli
from liif_desktop.export.imageio import LoadedImage
from liif_desktop.export.invention_map import (
    export_with_map,
    invention_map,
    map_path_for,
)
from liif_desktop.export.job import ExportSettings, OutputSize, quantize
from liif_desktop.model import load_checkpoint
from liif_desktop.model.liif import LIIF
from liif_desktop.render.invention import invention_tile
from liif_desktop.render.region import RegionRenderer
from tests.conftest import random_image
from tests.test_export_batch import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=3)


def test_map_path_is_beside_the_output() -> None:
    assert map_path_for(Path("/a/page_x4.jpg")) == Path("/a/page_x4.invented.png")


def test_cli_writes_a_grey_map_beside_the_output(tmp_path: Path, checkpoint: Path) -> None:
    pixels = (random_image(12, 16, seed=4) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    args = [str(tmp_path / "in.png"), "-s", "2.5", "-o", str(out), "--model", str(checkpoint)]
    assert cli.main([*args, "--invention-map"]) == 0
    with Image.open(tmp_path / "out.invented.png") as written:
        assert written.mode == "L" and written.size == (40, 30)
        grey = np.asarray(written)
    expected = invention_map(pixels.astype(np.float32) / 255, load_checkpoint(checkpoint), (30, 40))
    np.testing.assert_array_equal(grey, expected)
    assert grey.std() > 0
    # Without the flag no map is written.
    plain = [str(tmp_path / "in.png"), "-s", "2", "-o", str(tmp_path / "plain.png")]
    assert cli.main([*plain, "--model", str(checkpoint)]) == 0
    assert not (tmp_path / "plain.invented.png").exists()


def test_region_export_writes_the_region_of_the_map(tmp_path: Path, tiny_model: LIIF) -> None:
    rgb = random_image(16, 20, seed=6)
    settings = ExportSettings(size=OutputSize(scale=2.0), region=(4, 2, 10, 8), tile=8)
    steps = list(
        export_with_map(LoadedImage.from_array(rgb), tiny_model, tmp_path / "r.png", settings)
    )
    assert steps[-1].phase == "done" and steps[-1].output == tmp_path / "r.png"
    assert any("invented-detail map" in w for w in steps[-1].warnings)
    with Image.open(tmp_path / "r.invented.png") as written:
        grey = np.asarray(written)
    assert grey.shape == (16, 20)
    whole = invention_tile(RegionRenderer(tiny_model, rgb), (32, 40), (4, 20), (8, 28))
    np.testing.assert_array_equal(grey, quantize(whole, np.uint8))

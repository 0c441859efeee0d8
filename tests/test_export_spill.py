"""Large PNG exports keep their pixels in a temporary file: same output, nothing left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop.export import spill
from liif_desktop.export.imageio import LoadedImage
from liif_desktop.export.job import ExportSettings, OutputSize, export_image
from liif_desktop.export.safety import ExportError
from liif_desktop.export.spill import SpilledPixels, should_spill
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF
from tests.conftest import make_tiny_model, random_image


@pytest.fixture(scope="module")
def model() -> LIIF:
    return make_tiny_model(seed=5)


def test_tiles_written_anywhere_read_back_as_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    expected = rng.integers(0, 65536, (37, 29, 3), dtype=np.uint16)
    with SpilledPixels((37, 29, 3), np.uint16, tmp_path) as pixels:
        for r in range(0, 30, 8):  # leave the last rows unwritten
            for c in range(0, 29, 8):
                pixels[r : r + 8, c : c + 8] = expected[r : r + 8, c : c + 8]
        got = np.concatenate([pixels[r : r + 5] for r in range(0, 37, 5)])
        assert got.dtype == np.uint16 and got.shape == (37, 29, 3)
        np.testing.assert_array_equal(got[:32], expected[:32])
        assert not got[32:].any()  # never written: zeros
        with pytest.raises(ValueError):
            pixels[0:2, 0:3] = expected[0:3, 0:3]  # wrong block shape
        if os.name == "posix":
            assert list(tmp_path.iterdir()) == []  # unlinked while open
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        pixels[0:1]  # closed


def test_only_large_pngs_spill(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not should_spill((100, 100), 3, 1, "PNG")
    assert should_spill((20000, 20000), 3, 1, "PNG")
    assert not should_spill((20000, 20000), 3, 1, "JPEG")  # Pillow needs it in memory
    monkeypatch.setattr(spill, "SPILL_BYTES", 10)
    assert should_spill((4, 4), 1, 1, "PNG")


@pytest.mark.parametrize("alpha", [False, True])
def test_spilled_export_equals_in_memory_export(
    tmp_path: Path, model: LIIF, monkeypatch: pytest.MonkeyPatch, alpha: bool
) -> None:
    rgb = random_image(14, 11, seed=6)
    image = LoadedImage.from_array(rgb)
    if alpha:
        image = LoadedImage(**{**image.__dict__, "alpha": np.linspace(0, 1, 154).reshape(14, 11)})
    settings = ExportSettings(OutputSize(scale=2.3), tile=8)
    list(export_image(image, model, tmp_path / "memory.png", settings))
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    steps = list(export_image(image, model, tmp_path / "disk.png", settings))
    assert steps[-1].phase == "done"
    with Image.open(tmp_path / "memory.png") as a, Image.open(tmp_path / "disk.png") as b:
        assert a.mode == b.mode == ("RGBA" if alpha else "RGB")
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.png", "memory.png"]


def test_cancelled_spilled_export_leaves_nothing(
    tmp_path: Path, model: LIIF, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    calls = iter(range(1000))
    settings = ExportSettings(OutputSize(scale=3), tile=8)
    with pytest.raises(Cancelled):
        list(
            export_image(
                LoadedImage.from_array(random_image(12, 12, seed=7)),
                model,
                tmp_path / "out.png",
                settings,
                should_stop=lambda: next(calls) > 3,
            )
        )
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_is_an_export_error(tmp_path: Path) -> None:
    pixels = SpilledPixels((4, 4, 3), np.uint8, tmp_path)

    class FullDisk:
        def seek(self, offset: int) -> int:
            return offset

        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

    real = pixels._file
    pixels._file = FullDisk()  # type: ignore[assignment]
    with pytest.raises(ExportError, match="disk is full"):
        pixels[0:2, 0:2] = np.zeros((2, 2, 3), np.uint8)
    pixels._file = real
    pixels.close()

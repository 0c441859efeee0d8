"""The model catalogue: manifest, verification messages, user checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liif_desktop import weights
from liif_desktop.model import CheckpointError, save_checkpoint
from tests.conftest import REPO, make_tiny_model, tiny_spec


def test_manifest_entries_are_complete() -> None:
    data = json.loads((REPO / "weights" / "manifest.json").read_text())
    ids = [m["id"] for m in data["models"]]
    assert len(ids) == len(set(ids))
    for entry in data["models"]:
        for key in ("id", "name", "architecture", "args", "file", "sha256", "source", "licence"):
            assert key in entry, (entry["id"], key)
        assert len(entry["sha256"]) == 64


def test_official_weights_verify(edsr_weights: Path) -> None:
    info = weights.find_model("edsr-baseline-liif")
    weights.verify(info)
    model = weights.load_model(info)
    assert model.encoder.out_dim == 64


def test_missing_and_corrupt_weights_say_how_to_fix(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "manifest.json").write_text((REPO / "weights" / "manifest.json").read_text())
    monkeypatch.setenv("LIIF_DESKTOP_WEIGHTS", str(folder))
    info = weights.find_model("edsr-baseline-liif")
    with pytest.raises(weights.WeightsError, match=r"missing; run `make setup`"):
        weights.load_model(info)
    info.path.write_bytes(b"garbage")
    with pytest.raises(weights.WeightsError, match="corrupt"):
        weights.load_model(info)
    info.path.unlink()
    assert weights.default_model() is None


def test_add_user_checkpoint_validates_and_copies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    good = tmp_path / "mine.pth"
    save_checkpoint(good, make_tiny_model(), tiny_spec())
    info = weights.add_user_checkpoint(good)
    assert info.path.parent == tmp_path / "data" / "models"
    assert info.id in [m.id for m in weights.all_models()]
    assert weights.load_model(info.id).imnet.out_dim == 3
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"nope")
    with pytest.raises(CheckpointError):
        weights.add_user_checkpoint(bad)
    assert not (tmp_path / "data" / "models" / "bad.pth").exists()


def test_unknown_model_id_lists_known_ones() -> None:
    with pytest.raises(weights.WeightsError, match="known models: edsr-baseline-liif"):
        weights.find_model("no-such-model")

"""Checkpoint loading is safe and its errors say what is wrong."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from liif_desktop.model import CheckpointError, load_checkpoint, save_checkpoint
from tests.conftest import make_tiny_model, tiny_spec


class _WritesFile:
    """Unpickling this object would create a file (the attack a checkpoint could carry)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.target), "pwned"))  # type: ignore[return-value]


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pth"
    torch.save({"model": _WritesFile(str(marker))}, evil)
    # Sanity: a plain unpickler would run it.
    assert b"write_text" in evil.read_bytes() or evil.stat().st_size > 0
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(evil)
    assert not marker.exists()


def test_raw_pickle_file_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pth"
    with evil.open("wb") as fh:
        pickle.dump(_WritesFile(str(marker)), fh)
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    assert not marker.exists()


def test_round_trip_and_half_storage(tmp_path: Path) -> None:
    model = make_tiny_model()
    path = tmp_path / "tiny.pth"
    save_checkpoint(path, model, tiny_spec(), half=True, extra={"epoch": 3})
    loaded = load_checkpoint(path)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert b.dtype == torch.float32, k
        assert torch.allclose(a, b, atol=1e-2, rtol=1e-3), k
    assert torch.load(path, weights_only=True)["epoch"] == 3


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.pth"
    save_checkpoint(path, make_tiny_model(), tiny_spec())
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(cut)


def test_wrong_architecture_names_keys(tmp_path: Path) -> None:
    path = tmp_path / "wrong.pth"
    model = make_tiny_model("edsr-baseline")
    save_checkpoint(path, model, tiny_spec("rdn"))  # EDSR weights under an RDN spec
    with pytest.raises(CheckpointError, match=r"missing keys \['encoder\.SFENet1"):
        load_checkpoint(path)


def test_shape_mismatch_is_named(tmp_path: Path) -> None:
    spec = tiny_spec()
    spec["encoder_spec"]["args"]["n_feats"] = 8
    path = tmp_path / "shape.pth"
    save_checkpoint(path, make_tiny_model(), spec)
    with pytest.raises(CheckpointError, match=r"shape mismatch encoder\.head\.0\.weight"):
        load_checkpoint(path)


def test_unknown_encoder(tmp_path: Path) -> None:
    spec = tiny_spec()
    spec["encoder_spec"]["name"] = "swinir"
    path = tmp_path / "unknown.pth"
    save_checkpoint(path, make_tiny_model(), spec)
    with pytest.raises(CheckpointError, match="unknown encoder 'swinir'"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"state_dict": {}}, "not a LIIF checkpoint"),
        ([1, 2, 3], "not a LIIF checkpoint"),
        ({"model": {"name": "metasr", "args": {}, "sd": {}}}, "'metasr' is not supported"),
    ],
)
def test_not_a_liif_checkpoint(tmp_path: Path, payload: object, message: str) -> None:
    path = tmp_path / "other.pth"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(empty)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)


def test_official_rdn_layout_loads_strictly(golden_dir: Path) -> None:
    """The golden random RDN checkpoint has the official key names (config A)."""
    model = load_checkpoint(golden_dir / "rdn_a_random-liif.pth")
    assert len(model.encoder.RDBs) == 20


def test_rdn_config_b_matches_official_key_layout() -> None:
    from liif_desktop.model import build_liif

    spec = tiny_spec("rdn")
    spec["encoder_spec"]["args"] = {"no_upsampling": True}  # official rdn-liif.pth: config B
    sd = build_liif(spec).state_dict()
    assert sd["encoder.RDBs.15.convs.7.conv.0.weight"].shape == (64, 64 + 7 * 64, 3, 3)
    assert sd["encoder.RDBs.15.LFF.weight"].shape == (64, 64 + 8 * 64, 1, 1)
    assert sd["encoder.GFF.0.weight"].shape == (64, 16 * 64, 1, 1)
    assert "encoder.RDBs.16.LFF.weight" not in sd


def test_check_weights_fit_names_the_problem_without_building_real_tensors() -> None:
    from liif_desktop.model.checkpoint import check_weights_fit

    sd = make_tiny_model().state_dict()
    spec = {"name": "liif", "args": tiny_spec(), "sd": sd}
    check_weights_fit(spec)
    bad = dict(sd, **{"encoder.head.0.weight": torch.zeros(16, 3, 5, 5)})
    with pytest.raises(CheckpointError, match=r"shape mismatch encoder.head.0.weight"):
        check_weights_fit({**spec, "sd": bad})

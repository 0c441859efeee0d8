"""Hostile checkpoints are refused before anything big is allocated, with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from liif_desktop import cli
from liif_desktop.model import CheckpointError, build_liif, load_checkpoint, save_checkpoint
from liif_desktop.model import checkpoint as checkpoint_module
from tests.conftest import REPO, make_tiny_model, tiny_spec

_MEASURE = """
import json, resource, sys, time
from liif_desktop.model import CheckpointError, load_checkpoint
start = time.perf_counter()
try:
    load_checkpoint(sys.argv[1])
    message = None
except CheckpointError as exc:
    message = str(exc)
seconds = time.perf_counter() - start
# VmHWM is this program's own peak: ru_maxrss survives exec, so it would also count the
# forking parent's pages (pytest's, hundreds of MB late in a full run).
try:
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_rss": peak, "message": message}))
"""


def _save_spec(path: Path, spec: dict[str, Any], sd: dict[str, Any] | None = None) -> Path:
    model = make_tiny_model()
    payload = {"model": {"name": "liif", "args": spec, "sd": sd or model.state_dict()}}
    torch.save(payload, path)
    return path


def test_thousands_of_blocks_are_refused_fast_and_small(tmp_path: Path) -> None:
    spec = tiny_spec()
    spec["encoder_spec"]["args"]["n_resblocks"] = 8000
    path = _save_spec(tmp_path / "deep.pth", spec)
    # A fresh process, so the peak RSS is this load's (plus Python and torch), not pytest's.
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["message"] is not None and "more than the 22 tensors" in result["message"]
    assert result["seconds"] < 2.0
    assert result["peak_rss"] < 0.5 * 2**30


def test_wide_mlp_is_refused_by_shape_without_allocating(tmp_path: Path) -> None:
    spec = tiny_spec()
    spec["imnet_spec"]["args"]["hidden_list"] = [200_000, 200_000]
    path = _save_spec(tmp_path / "wide.pth", spec)
    with pytest.raises(CheckpointError, match=r"shape mismatch imnet\.layers\.0\.weight"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_resblocks": "two"}, "unsupported model arguments"),
        ({"n_feats": -16}, "unusable model arguments"),
        ({"res_scale": "x"}, "fails on a test input"),
    ],
)
def test_odd_argument_values(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    spec = tiny_spec()
    spec["encoder_spec"]["args"].update(change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_save_spec(tmp_path / "odd.pth", spec))


def test_weight_that_is_a_string(tmp_path: Path) -> None:
    sd: dict[str, Any] = dict(make_tiny_model().state_dict())
    sd["imnet.layers.0.bias"] = "not a tensor"
    path = _save_spec(tmp_path / "string.pth", tiny_spec(), sd)
    with pytest.raises(CheckpointError, match=r"'imnet\.layers\.0\.bias' is a str, not a tensor"):
        load_checkpoint(path)


def test_non_finite_weights(tmp_path: Path) -> None:
    sd = dict(make_tiny_model().state_dict())
    sd["imnet.layers.0.bias"] = torch.full_like(sd["imnet.layers.0.bias"], float("nan"))
    path = _save_spec(tmp_path / "nan.pth", tiny_spec(), sd)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(path)


def test_compressed_bomb_record_is_refused_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.pth"
    save_checkpoint(good, make_tiny_model(), tiny_spec())
    with zipfile.ZipFile(good) as archive:
        prefix = archive.namelist()[0].split("/")[0]
    bomb = tmp_path / "bomb.pth"
    size = checkpoint_module._EXPANSION_SLACK + (16 << 20)
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        with new.open(f"{prefix}/data/999", "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                out.write(block)
    assert bomb.stat().st_size < 1 << 20

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must not be reached")

    monkeypatch.setattr(checkpoint_module.torch, "load", never)
    with pytest.raises(CheckpointError, match="compressed records would expand"):
        load_checkpoint(bomb)


def test_oversized_record_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ok.pth"
    save_checkpoint(path, make_tiny_model(), tiny_spec())
    monkeypatch.setattr(checkpoint_module, "MAX_RECORD_BYTES", 1024)
    with pytest.raises(CheckpointError, match=r"refused: record '.*data/\d+' would take"):
        load_checkpoint(path)


def _rdn_training_save_records() -> tuple[int, int]:
    """(largest record, total bytes) of an official LIIF-RDN training save (weights + Adam)."""
    spec = tiny_spec("rdn")
    spec["encoder_spec"]["args"] = {"no_upsampling": True}  # config B, as the paper's
    spec["imnet_spec"]["args"]["hidden_list"] = [256, 256, 256, 256]
    with torch.device("meta"):
        sizes = [t.numel() * 4 for t in build_liif(spec).state_dict().values()]
    return max(sizes), 3 * sum(sizes)  # Adam keeps two more tensors per weight


def test_bounds_admit_the_authors_rdn_training_save() -> None:
    largest, total = _rdn_training_save_records()
    assert 260e6 < total < 275e6  # the released rdn-liif.pth is 268 MB
    assert largest < checkpoint_module.MAX_RECORD_BYTES
    assert total < checkpoint_module.MAX_TOTAL_BYTES
    assert total <= checkpoint_module.MAX_EXPANSION * total + checkpoint_module._EXPANSION_SLACK


@pytest.mark.slow
def test_a_real_268_mb_rdn_training_save_loads(tmp_path: Path) -> None:
    spec = tiny_spec("rdn")
    spec["encoder_spec"]["args"] = {"no_upsampling": True}
    spec["imnet_spec"]["args"]["hidden_list"] = [256, 256, 256, 256]
    torch.manual_seed(0)
    model = build_liif(spec)
    sd = model.state_dict()
    state = {
        i: {"step": torch.tensor(1.0), "exp_avg": torch.zeros_like(v), "exp_avg_sq": v * v}
        for i, v in enumerate(sd.values())
    }
    optimizer = {"state": state, "param_groups": [{"lr": 1e-4, "params": list(state)}]}
    path = tmp_path / "epoch-last.pth"
    torch.save(
        {"model": {"name": "liif", "args": spec, "sd": sd}, "optimizer": optimizer, "epoch": 1000},
        path,
    )
    assert 260e6 < path.stat().st_size < 275e6
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.state_dict()["encoder.GFF.0.weight"], sd["encoder.GFF.0.weight"])


def test_legacy_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.pth"
    torch.save({"model": {}}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy format"):
        load_checkpoint(path)


def test_cli_reports_a_bad_checkpoint_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny_spec()
    spec["imnet_spec"]["args"]["hidden_list"] = [200_000, 200_000]
    model_path = _save_spec(tmp_path / "wide.pth", spec)
    image = tmp_path / "in.png"
    Image.new("RGB", (8, 8), "red").save(image)
    code = cli.main(
        [str(image), "-s", "2", "-o", str(tmp_path / "out.png"), "--model", str(model_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("liif-upscale: error: ")
    assert "wide.pth" in err and "shape mismatch" in err
    assert not (tmp_path / "out.png").exists()

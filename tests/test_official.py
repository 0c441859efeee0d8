"""The authors' LIIF-RDN download: recognised, stripped to the official layout, installed.

The real file (268 MB) is not available here, so each test builds one of the same layout: RDN
config B's keys (narrow G0 and 1×1 kernels keep it small), an Adam optimizer state and an
epoch, saved as the authors' training code saves it, and injects its size and sha256 as the
"official" ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from liif_desktop import cli, official, weights
from liif_desktop.model import build_liif, load_checkpoint, save_checkpoint
from liif_desktop.model.stop import Cancelled
from liif_desktop.render.cancel import CancelToken
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from tests.conftest import make_tiny_model, random_image, tiny_spec


def rdn_b_spec() -> dict[str, Any]:
    """RDN config B (16 blocks of 8 dense convs, growth 64) with a narrow trunk and 1×1 kernels."""
    return {
        "encoder_spec": {
            "name": "rdn",
            "args": {"no_upsampling": True, "RDNconfig": "B", "G0": 8, "RDNkSize": 1},
        },
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16, 16]}},
    }


def write_training_save(path: Path, seed: int = 0) -> None:
    """A file laid out like the authors' ``rdn-liif.pth``: model, optimizer state, epoch."""
    torch.manual_seed(seed)
    model = build_liif(rdn_b_spec())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model(torch.rand(1, 3, 6, 6), torch.rand(1, 5, 2) * 2 - 1, torch.full((1, 5, 2), 0.1))[
        0
    ].sum().backward()
    optimizer.step()  # fills exp_avg / exp_avg_sq for every parameter
    torch.save(
        {
            "model": {"name": "liif", "args": rdn_b_spec(), "sd": model.state_dict()},
            "optimizer": {"name": "adam", "args": {"lr": 1e-4}, "sd": optimizer.state_dict()},
            "epoch": 1000,
        },
        path,
    )


@pytest.fixture
def download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training save injected as the published file; user data under tmp."""
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    path = tmp_path / "downloads" / "rdn-liif.pth"
    path.parent.mkdir()
    write_training_save(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fake = dataclasses.replace(official.OFFICIAL_RDN, size=path.stat().st_size, sha256=digest)
    monkeypatch.setattr(official, "OFFICIAL_RDN", fake)
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_download_is_recognised_and_stripped_to_the_official_layout(download: Path) -> None:
    steps = list(official.install_download(download))
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"hash", "read", "write", "verify", "done"} <= {s.stage for s in steps}
    outcome = steps[-1].outcome
    assert outcome is not None and outcome.official
    assert "authors'" in outcome.message and "left out" in outcome.message

    info = outcome.model
    assert info.id == "rdn-liif" and info.name == "LIIF-RDN (official)"
    assert info.path == official.official_dir() / "rdn-liif.pth"
    assert info.path.stat().st_size < download.stat().st_size / 2  # optimizer state gone
    # The original code's layout, readable with weights_only (nothing but tensors and dicts).
    saved = torch.load(info.path, map_location="cpu", weights_only=True)
    assert set(saved) == {"model"} and set(saved["model"]) == {"name", "args", "sd"}
    assert saved["model"]["name"] == "liif" and saved["model"]["args"] == rdn_b_spec()
    original = torch.load(download, map_location="cpu", weights_only=True)["model"]["sd"]
    assert list(saved["model"]["sd"]) == list(original)  # config B's keys, in order
    assert "encoder.RDBs.15.convs.7.conv.0.weight" in original

    # Same output as the unstripped download, exactly.
    image = random_image(12, 10, seed=4)
    ours = upscale_array(RegionRenderer(weights.load_model("rdn-liif"), image), (30, 25))
    theirs = upscale_array(RegionRenderer(load_checkpoint(download), image), (30, 25))
    assert np.array_equal(ours, theirs)

    # Listed under its name with the paper's figures, marked as the paper's.
    listed = {m.id: m for m in weights.all_models()}
    assert "rdn-liif" in listed and "rdn-liif-ours" not in listed  # superseded
    assert listed["rdn-liif"].quality_label() == "Set5 ×4 32.50 dB (paper), 7× slower"
    assert listed["rdn-liif"].psnr("Urban100", "x4") == 26.68
    assert weights.user_models() == []  # not listed twice
    assert _files(official.official_dir()) == sorted([info.path, info.path.with_suffix(".json")])


def test_another_file_goes_the_user_model_way_and_says_so(download: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "rdn-liif.pth"
    other.parent.mkdir()
    write_training_save(other, seed=1)  # same name, layout and size; other weights
    assert other.stat().st_size == download.stat().st_size
    outcome = official.run_install(other)
    assert not outcome.official
    assert "NOT the authors' published rdn-liif.pth" in outcome.message
    assert "sha256 differs" in outcome.message
    assert outcome.model.kind == "user" and outcome.model.id == "user:rdn-liif.pth"
    assert outcome.model.quality_label() == "your checkpoint, quality not measured"
    assert [m.id for m in weights.user_models()] == ["user:rdn-liif.pth"]
    assert official.installed_model() is None
    assert _files(official.official_dir()) == []

    small = tmp_path / "small.pth"
    save_checkpoint(small, make_tiny_model(), tiny_spec())
    outcome = official.run_install(small)
    assert not outcome.official and "bytes, the published file is" in outcome.message


def test_a_truncated_download_is_refused_and_nothing_is_copied(download: Path) -> None:
    data = download.read_bytes()
    download.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(official.InstallError) as caught:
        official.run_install(download)
    message = str(caught.value)
    assert "looks incomplete" in message and "Nothing was copied" in message
    assert _files(weights.user_models_dir()) == []


def test_a_cancelled_install_leaves_nothing(download: Path) -> None:
    for stage in ("hash", "write"):
        token = CancelToken()
        with pytest.raises(Cancelled):
            for step in official.install_download(download, token):
                if step.stage == stage:
                    token.cancel()
        assert _files(weights.user_models_dir()) == [], stage
    steps = official.install_download(download)
    for step in steps:
        if step.stage == "verify":
            steps.close()  # abandoned after the copy was written: removed again
    assert _files(weights.user_models_dir()) == []
    assert official.installed_model() is None


def test_rdn_liif_without_the_file_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    code = cli.main([str(image), "-s", "2", "-o", str(tmp_path / "out.png"), "--model", "rdn-liif"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "rdn-liif.pth" in lines[0] and "https://github.com/yinboc/liif" in lines[0]
    assert "python -m liif_desktop.official" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_rdn_liif_resolves_once_installed(download: Path, tmp_path: Path) -> None:
    official.run_install(download)
    image = tmp_path / "in.png"
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(image)
    argv = [str(image), "-s", "2", "-o", str(tmp_path / "out.png"), "--model", "rdn-liif"]
    assert cli.main(argv) == 0
    assert (tmp_path / "out.png").is_file()


def test_the_installed_copy_reproduces_the_original_codes_outputs(
    golden_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file the original code's format wrote ({'model', 'epoch'}), with its outputs from the
    # original code: the stripped copy must still give them.
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    source = golden_dir / "rdn_a_random-liif.pth"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    fake = dataclasses.replace(official.OFFICIAL_RDN, size=source.stat().st_size, sha256=digest)
    monkeypatch.setattr(official, "OFFICIAL_RDN", fake)
    assert official.run_install(source).official
    image = np.asarray(Image.open(golden_dir / "inputs" / "photo.png").convert("RGB"))
    expected = np.load(golden_dir / "rdn_a_random" / "photo_61x97.npy")
    model = weights.load_model("rdn-liif")
    ours = upscale_array(RegionRenderer(model, image.astype(np.float32) / 255), (61, 97))
    assert np.abs(ours - expected).max() <= 1e-4

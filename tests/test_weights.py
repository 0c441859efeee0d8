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


def _info(name: str, psnr: float, relative_time: float | None = None) -> weights.ModelInfo:
    quality: dict = {"Set5": {"x4": psnr}}
    if relative_time is not None:
        quality["relative_time"] = relative_time
    return weights.ModelInfo(id=name, name=name, path=Path(name), quality=quality)


def test_best_of_prefers_quality_and_breaks_near_ties_by_speed() -> None:
    fast, slow_tie, slow_better = (
        _info("fast", 32.24),
        _info("slow-tie", 32.27, relative_time=6.0),
        _info("slow-better", 32.40, relative_time=6.0),
    )
    assert weights.best_of([]) is None
    assert weights.best_of([fast, slow_tie]) is fast  # 0.03 dB is not worth 6× the time
    # Better, but more than MAX_DEFAULT_SLOWDOWN times slower per view: not opened first.
    assert weights.best_of([fast, slow_tie, slow_better]) is fast
    assert weights.best_of([slow_tie, slow_better]) is slow_better  # alone: as fast as any
    a_bit_slower = _info("a-bit-slower", 32.40, relative_time=weights.MAX_DEFAULT_SLOWDOWN)
    assert weights.best_of([fast, slow_better, a_bit_slower]) is a_bit_slower
    assert weights.best_of([_info("a", 30.0), _info("b", 31.0)]).id == "b"
    assert "6× slower" in slow_tie.quality_label()
    assert "slower" not in fast.quality_label()


def test_with_the_official_rdn_installed_edsr_baseline_still_opens_first() -> None:
    from liif_desktop.official import OFFICIAL_RDN

    manifest = {m.id: m for m in weights.read_manifest()}
    rdn = weights.ModelInfo(
        id=OFFICIAL_RDN.id, name=OFFICIAL_RDN.name, path=Path(), quality=dict(OFFICIAL_RDN.quality)
    )
    photo = [manifest["edsr-baseline-liif"], rdn]
    assert rdn.psnr() == 32.50 and rdn.relative_time > weights.MAX_DEFAULT_SLOWDOWN
    assert weights.best_of(photo) is manifest["edsr-baseline-liif"]
    assert weights.best_of([rdn, manifest["rdn-liif-ours"]]) is rdn  # same cost, better


def test_suggest_model_matches_page_or_photo_and_lossy_or_clean_inputs() -> None:
    from dataclasses import replace

    photo, photo_real = _info("photo", 32.24), replace(_info("photo-real", 32.0), inputs="real")
    doc = replace(_info("doc", 32.0), kind="document")
    doc_real = replace(_info("doc-real", 31.9), kind="document", inputs="real")
    every = [photo, photo_real, doc, doc_real]
    assert weights.suggest_model(every, page=False, lossy=False) is photo
    assert weights.suggest_model(every, page=False, lossy=True) is photo_real
    assert weights.suggest_model(every, page=True, lossy=False) is doc
    assert weights.suggest_model(every, page=True, lossy=True) is doc_real
    # Without a real-inputs model of the kind, the clean one is still the right kind.
    assert weights.suggest_model([photo, doc], page=True, lossy=True) is doc
    assert weights.suggest_model([doc], page=False, lossy=False) is None


def test_manifest_says_what_each_model_suits_in_one_line() -> None:
    for info in weights.read_manifest():
        assert info.inputs in ("clean", "real")
        assert info.suits and "\n" not in info.suits and len(info.suits) < 90


def test_real_inputs_models_show_their_jpeg_figures() -> None:
    info = weights.ModelInfo(
        id="photo-real",
        name="Photo (real inputs)",
        path=Path("x.pth"),
        inputs="real",
        quality={"Set5": {"x4": 31.95}, "jpeg75": {"Set14": {"x4": 26.42}}},
    )
    assert info.quality_label() == "Set5 ×4 31.95 dB, Set14 ×4 from JPEG-75 26.42 dB"
    doc = weights.ModelInfo(
        id="d", name="d", path=Path("d.pth"), quality={"ocr_cer_x4": 0.15, "ocr_cer_x4_jpeg75": 0.3}
    )
    assert doc.quality_label() == "OCR CER ×4 0.150, from JPEG-75 0.300"

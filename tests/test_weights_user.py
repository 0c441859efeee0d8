"""User checkpoints: ``.pt`` files listed, concurrent adds never share or lose a file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from liif_desktop import weights
from liif_desktop.model import save_checkpoint
from tests.conftest import make_tiny_model, tiny_spec


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LIIF_DESKTOP_DATA", str(tmp_path / "data"))
    return tmp_path / "data" / "models"


def test_pt_checkpoint_is_listed_after_a_restart(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "mine.pt"
    save_checkpoint(src, make_tiny_model(), tiny_spec())
    info = weights.add_user_checkpoint(src)
    assert info.path == data_dir / "mine.pt"
    # A restart rebuilds the list from the folder.
    assert [m.id for m in weights.user_models()] == ["user:mine.pt"]
    assert weights.find_model("user:mine.pt").path == info.path


def test_other_suffixes_get_pth_so_they_stay_listed(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "epoch-last.ckpt"
    save_checkpoint(src, make_tiny_model(), tiny_spec())
    assert weights.add_user_checkpoint(src).path.name == "epoch-last.ckpt.pth"
    assert [m.name for m in weights.user_models()] == ["epoch-last.ckpt"]


def _add_at_once(
    sources: list[Path], monkeypatch: pytest.MonkeyPatch
) -> list[weights.ModelInfo | BaseException]:
    """Add every source in its own thread; all validations finish before any file is placed."""
    barrier = threading.Barrier(len(sources), timeout=60)
    validate = weights.load_checkpoint

    def validate_then_wait(path: Any, *args: Any) -> Any:
        model = validate(path, *args)
        barrier.wait()
        return model

    monkeypatch.setattr(weights, "load_checkpoint", validate_then_wait)
    results: list[weights.ModelInfo | BaseException] = [RuntimeError("not run")] * len(sources)

    def add(i: int) -> None:
        try:
            results[i] = weights.add_user_checkpoint(sources[i])
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=add, args=(i,)) for i in range(len(sources))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_two_different_files_of_one_name_added_at_once(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = []
    for i, folder in enumerate(("a", "b")):
        (tmp_path / folder).mkdir()
        sources.append(tmp_path / folder / "mine.pth")
        save_checkpoint(sources[-1], make_tiny_model(seed=i), tiny_spec())
    results = _add_at_once(sources, monkeypatch)
    assert all(isinstance(r, weights.ModelInfo) for r in results), results
    paths = {r.path for r in results if isinstance(r, weights.ModelInfo)}
    assert paths == {data_dir / "mine.pth", data_dir / "mine-1.pth"}
    for src, info in zip(sources, results, strict=True):
        assert isinstance(info, weights.ModelInfo)
        assert info.path.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in data_dir.iterdir()) == ["mine-1.pth", "mine.pth"]


def test_one_file_added_twice_at_once_is_kept_once(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "mine.pth"
    save_checkpoint(src, make_tiny_model(), tiny_spec())
    results = _add_at_once([src, src], monkeypatch)
    assert [r.path for r in results if isinstance(r, weights.ModelInfo)] == [
        data_dir / "mine.pth"
    ] * 2
    assert [p.name for p in data_dir.iterdir()] == ["mine.pth"]


def test_a_bad_file_leaves_nothing_and_names_the_source(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(weights.CheckpointError, match=r"bad\.pth: the file is truncated"):
        weights.add_user_checkpoint(bad)
    assert list(data_dir.iterdir()) == []

"""Batches: inputs collected, bad files reported, the batch goes on, nothing left behind.

``make_mixed_folder`` and ``save_tiny_checkpoint`` are shared with the CLI and dialog tests.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liif_desktop.export.batch import BatchSettings, BatchSummary, collect_inputs, run_batch
from liif_desktop.export.job import ExportSettings, OutputSize
from liif_desktop.export.safety import OverwritePolicy
from liif_desktop.model import save_checkpoint
from liif_desktop.model.liif import LIIF
from liif_desktop.render.cancel import CancelToken
from tests.conftest import make_tiny_model, random_image, tiny_spec

BAD_NAMES = ("truncated.png", "text.jpg", "empty.png", "dangling.png")


def save_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """A small random-weights LIIF checkpoint (fast to run)."""
    save_checkpoint(path, make_tiny_model(seed=seed), tiny_spec())
    return path


def make_mixed_folder(folder: Path, good: int = 16) -> tuple[list[Path], list[Path]]:
    """``good`` small valid images (PNG/JPEG/TIFF/WebP, 8–16 px) and the four bad files.

    Bad: a truncated PNG, a text file named .jpg, a zero-byte file, a link to a missing file
    (tests run as root, so a chmod 000 file would still be readable).
    """
    folder.mkdir(parents=True, exist_ok=True)
    suffixes = (".png", ".jpg", ".tif", ".webp")
    goods = []
    for i in range(good):
        h, w = 8 + (i % 3) * 4, 8 + (i % 2) * 8
        pixels = (random_image(h, w, seed=i) * 255).astype(np.uint8)
        path = folder / f"img{i:02d}{suffixes[i % 4]}"
        Image.fromarray(pixels).save(path)
        goods.append(path)
    png = io.BytesIO()
    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(png, format="PNG")
    bad = [folder / name for name in BAD_NAMES]
    bad[0].write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    bad[1].write_text("not an image at all\n")
    bad[2].write_bytes(b"")
    bad[3].symlink_to(folder / "no-such-target.png")
    (folder / "notes.txt").write_text("ignored: not an image suffix\n")
    return goods, bad


@pytest.fixture(scope="module")
def model() -> LIIF:
    return make_tiny_model(seed=1)


def batch_settings(out: Path, **kw: object) -> BatchSettings:
    export = ExportSettings(OutputSize(scale=2), format="PNG", tile=32)
    return BatchSettings(export, out, **kw)  # type: ignore[arg-type]


def finish(events: list) -> BatchSummary:
    assert events[-1].kind == "finished"
    summary = events[-1].summary
    assert summary is not None
    return summary


def test_collect_inputs(tmp_path: Path) -> None:
    goods, bad = make_mixed_folder(tmp_path / "in")
    sub = tmp_path / "in" / "sub"
    sub.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(sub / "deep.png")
    (tmp_path / "in" / "folder.png").mkdir()  # a folder named like an image is not an input
    flat = collect_inputs([tmp_path / "in"])
    assert sorted(i.source for i in flat) == sorted(goods + bad)
    deep = collect_inputs([tmp_path / "in", goods[0]], recursive=True)
    assert len(deep) == 21  # the duplicate given by name is dropped
    assert [i.subfolder for i in deep if i.source.name == "deep.png"] == [Path("sub")]


def test_batch_with_bad_files_goes_on(tmp_path: Path, model: LIIF) -> None:
    goods, bad = make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    items = collect_inputs([tmp_path / "in"])
    assert len(items) == 20
    events = list(run_batch(items, model, batch_settings(out)))
    summary = finish(events)
    assert len(summary.written) == 16 and summary.skipped == []
    assert sorted(p for p, _ in summary.failed) == sorted(bad)
    reasons = {p.name: r for p, r in summary.failed}
    assert "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["text.jpg"]
    assert "empty" in reasons["empty.png"]
    assert "missing" in reasons["dangling.png"]
    expected = sorted(f"{p.stem}_x2.png" for p in goods)
    assert sorted(p.name for p in out.iterdir()) == expected  # nothing else left behind
    for src, dst in summary.written:
        with Image.open(src) as a, Image.open(dst) as b:
            assert b.size == (a.width * 2, a.height * 2)
    failed_events = [e for e in events if e.kind == "file_failed"]
    assert len(failed_events) == 4 and all(e.message for e in failed_events)
    overall = [e.overall_fraction for e in events]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert "16 written, 0 skipped, 4 failed" in summary.describe()


def test_same_names_and_rerun_policies(tmp_path: Path, model: LIIF) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for suffix in (".png", ".jpg"):  # both become a_x2.png
        Image.fromarray((random_image(8, 8) * 255).astype(np.uint8)).save(src / f"a{suffix}")
    out = tmp_path / "out"
    items = collect_inputs([src])
    settings = batch_settings(out, pattern="{name}_x{scale}")
    summary = finish(list(run_batch(items, model, settings)))
    assert sorted(p.name for _, p in summary.written) == ["a_x2-1.png", "a_x2.png"]
    skip = BatchSettings(
        ExportSettings(OutputSize(scale=2), format="PNG", policy=OverwritePolicy.SKIP), out
    )
    summary = finish(list(run_batch(items, model, skip)))
    assert len(summary.skipped) == 2 and summary.written == []
    assert sorted(p.name for p in out.iterdir()) == ["a_x2-1.png", "a_x2.png"]


def test_cancelled_batch_leaves_only_finished_files(tmp_path: Path, model: LIIF) -> None:
    make_mixed_folder(tmp_path / "in", good=4)
    out = tmp_path / "out"
    token = CancelToken()
    events = []
    for ev in run_batch(collect_inputs([tmp_path / "in"]), model, batch_settings(out), token):
        events.append(ev)
        if ev.kind == "file_done":
            token.cancel()
    summary = finish(events)
    assert summary.cancelled and len(summary.written) == 1
    assert [p.name for p in out.iterdir()] == [summary.written[0][1].name]


def test_bad_pattern_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        batch_settings(tmp_path, pattern="{nme}")
    with pytest.raises(ValueError, match="separator"):
        batch_settings(tmp_path, pattern="a/{name}")

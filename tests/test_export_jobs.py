"""Large jobs without Ray: manifest, --resume, --shard, and the distributed path in-process.

``make_job_folder`` and the helpers below are shared with the Ray tests (test_export_ray.py),
which run the same job on a local Ray instance.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from liif_desktop import cli
from liif_desktop.export.batch import BatchItem, BatchSettings, collect_inputs
from liif_desktop.export.distributed import (
    CANCELLED,
    ItemWorker,
    WorkerSpec,
    gather,
    item_record,
    record_item,
    run_in_process,
)
from liif_desktop.export.job import ExportSettings, OutputSize
from liif_desktop.export.job_options import JobOptions
from liif_desktop.export.job_runner import run_job
from liif_desktop.export.manifest import (
    MANIFEST_NAME,
    ManifestRow,
    ManifestWriter,
    ResumeMismatch,
    file_sha256,
    item_page,
    latest_rows,
    plan_resume,
    read_rows,
)
from liif_desktop.export.page_items import expand_pages
from liif_desktop.export.ray_executor import (
    RayOptions,
    RayUnavailable,
    plan_pool,
    require_ray,
    run_on_ray,
)
from liif_desktop.export.shard import Shard, select_shard, shard_key, shard_of
from liif_desktop.model import load_checkpoint
from tests.conftest import random_image
from tests.pdf_helpers import scanned_pdf
from tests.test_export_batch import save_tiny_checkpoint

BAD = ("truncated.png", "text.jpg")


def make_job_folder(folder: Path, good: int = 10) -> tuple[list[Path], list[Path]]:
    """``good`` small valid images (PNG/JPEG/TIFF/WebP, 8–16 px) and two bad files."""
    folder.mkdir(parents=True, exist_ok=True)
    suffixes = (".png", ".jpg", ".tif", ".webp")
    goods = []
    for i in range(good):
        h, w = 8 + (i % 3) * 4, 8 + (i % 2) * 8
        path = folder / f"img{i:02d}{suffixes[i % 4]}"
        Image.fromarray((random_image(h, w, seed=i) * 255).astype(np.uint8)).save(path)
        goods.append(path)
    png = io.BytesIO()
    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(png, format="PNG")
    bad = [folder / name for name in BAD]
    bad[0].write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    bad[1].write_text("not an image at all\n")
    return goods, bad


def outputs(folder: Path) -> dict[str, bytes]:
    """Name → bytes of every file in ``folder`` except the manifests."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if not p.name.startswith("liif-manifest")
    }


def upscale(inputs: Path, out: Path, checkpoint: Path, *extra: str) -> int:
    """``liif-upscale INPUTS -s 2 -o OUT/ --model CHECKPOINT EXTRA...``."""
    argv = [str(inputs), "-s", "2", "-o", f"{out}/", "--model", str(checkpoint), "--tile", "32"]
    return cli.main([*argv, *extra])


def check_manifest(out: Path, goods: list[Path], bad: list[Path], checkpoint: Path) -> None:
    """The folder's manifest: one row per input, outputs and their sha256 as written."""
    rows = read_rows(out)
    assert len(rows) == len(goods) + len(bad)
    by_input = latest_rows(rows)
    assert len(by_input) == len(rows)  # no input twice
    for path in goods:
        row = by_input[(str(path.absolute()), 0)]
        assert row.status == "done" and row.reason == ""
        assert Path(row.output).parent == out.absolute()
        assert row.sha256 == file_sha256(Path(row.output))
        assert row.model == str(checkpoint) and row.precision == "fp32" and row.seconds >= 0
    for path in bad:
        row = by_input[(str(path.absolute()), 0)]
        assert row.status == "failed" and str(path) in row.reason
        assert row.output == "" and row.sha256 == ""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=2)


def single_machine_run(root: Path, checkpoint: Path) -> dict[str, Any]:
    """The 12-input job (2 bad) run once, unsharded, on one machine."""
    goods, bad = make_job_folder(root / "in")
    code = upscale(root / "in", root / "out", checkpoint)
    return {"in": root / "in", "out": root / "out", "goods": goods, "bad": bad, "code": code}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> dict[str, Any]:
    return single_machine_run(tmp_path_factory.mktemp("job"), checkpoint)


def test_batch_writes_a_manifest_row_per_input(reference: dict[str, Any], checkpoint: Path) -> None:
    out = reference["out"]
    assert reference["code"] == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{p.stem}_x2{p.suffix}" for p in reference["goods"]] + [MANIFEST_NAME]
    )
    check_manifest(out, reference["goods"], reference["bad"], checkpoint)


def test_interrupted_then_resumed_writes_only_the_rest(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    items = collect_inputs([reference["in"]])
    settings = BatchSettings(ExportSettings(OutputSize(scale=2), tile=32), out)
    done: list[str] = []
    events = run_job(
        items, load_checkpoint(checkpoint), str(checkpoint), settings, JobOptions(),
        should_stop=lambda: len(done) >= 4,
    )  # fmt: skip
    for ev in events:
        if ev.kind == "file_done":
            done.append(ev.output.name if ev.output else "")
    assert len(done) == 4
    before = {p.name: p.stat() for p in out.iterdir() if p.name != MANIFEST_NAME}
    assert sorted(before) == sorted(done)
    capsys.readouterr()

    assert upscale(reference["in"], out, checkpoint, "--resume") == 1  # the bad ones fail again
    err = capsys.readouterr().err
    assert "resume: 4 of 12 already complete, 8 to do" in err
    assert "6 written, 0 skipped, 2 failed" in err
    for name, stat in before.items():  # untouched: same file, same time
        now = (out / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert outputs(out) == outputs(reference["out"])  # nothing twice, no "-1" copies
    assert len(latest_rows(read_rows(out))) == 12

    assert upscale(reference["in"], out, checkpoint, "--resume") == 1
    assert "resume: 10 of 12 already complete, 2 to do" in capsys.readouterr().err


def test_resume_redoes_missing_and_changed_outputs(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert upscale(reference["in"], out, checkpoint) == 1
    (out / "img00_x2.png").unlink()
    (out / "img01_x2.jpg").write_bytes(b"changed")  # no longer what the manifest recorded
    capsys.readouterr()
    assert upscale(reference["in"], out, checkpoint, "--resume", "--overwrite", "overwrite") == 1
    assert "resume: 8 of 12 already complete, 4 to do" in capsys.readouterr().err
    assert outputs(out) == outputs(reference["out"])


def test_resume_refuses_another_model(reference: dict[str, Any], checkpoint: Path) -> None:
    items = collect_inputs([reference["in"]])
    assert plan_resume(items, reference["out"], str(checkpoint), "fp32").done == 10
    with pytest.raises(ResumeMismatch, match="another output folder"):
        plan_resume(items, reference["out"], "other-model", "fp32")
    with pytest.raises(ResumeMismatch):
        plan_resume(items, reference["out"], str(checkpoint), "bf16")


def test_shards_together_equal_the_unsharded_run(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path
) -> None:
    out = tmp_path / "out"
    for i in (1, 2, 3):  # as a Slurm array would: same arguments, same output folder
        upscale(reference["in"], out, checkpoint, "--shard", f"{i}/3")
    assert outputs(out) == outputs(reference["out"])
    manifests = sorted(p.name for p in out.glob("liif-manifest*"))
    assert manifests == [f"liif-manifest.shard-{i}-of-3.jsonl" for i in (1, 2, 3)]
    rows = read_rows(out)
    assert len(rows) == 12 and len(latest_rows(rows)) == 12  # every input once, none twice
    check_manifest(out, reference["goods"], reference["bad"], checkpoint)


def test_shards_partition_any_list() -> None:
    items = [BatchItem(Path(f"/data/scan{i:04d}.tif"), Path("box7")) for i in range(600)]
    shards = [select_shard(items, Shard(i, 4)) for i in (1, 2, 3, 4)]
    assert sorted(i.source for s in shards for i in s) == sorted(i.source for i in items)
    assert all(110 <= len(s) <= 190 for s in shards)  # hashing spreads them
    # The shard depends on the name under the input folder, not where the storage is mounted.
    moved = BatchItem(Path("/mnt/other/scan0001.tif"), Path("box7"))
    assert shard_of(moved, 4) == shard_of(items[1], 4)
    assert select_shard(items, Shard(1, 1)) == items


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_bad_shard_is_a_usage_error(
    text: str, reference: dict[str, Any], checkpoint: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as info:
        upscale(reference["in"], tmp_path / "out", checkpoint, "--shard", text)
    assert info.value.code == 2
    assert not (tmp_path / "out").exists()


def test_large_job_options_need_a_folder_output(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path
) -> None:
    source = reference["goods"][0]
    argv = [str(source), "-s", "2", "-o", str(tmp_path / "one.png"), "--model", str(checkpoint)]
    assert cli.main([*argv, "--resume"]) == 2
    assert cli.main([*argv, "--executor", "ray"]) == 2
    assert not (tmp_path / "one.png").exists()


def test_distributed_worker_in_process_equals_local(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path
) -> None:
    """What each Ray actor runs, driven by the Ray driver's gather, without Ray."""
    out = tmp_path / "out"
    items = collect_inputs([reference["in"]])
    settings = BatchSettings(ExportSettings(OutputSize(scale=2), tile=32), out)
    spec = WorkerSpec(settings, str(checkpoint), "cpu", threads=None)
    with ManifestWriter(out / MANIFEST_NAME) as manifest:
        events = list(run_in_process(items, load_checkpoint(checkpoint), spec, manifest.write))
    summary = events[-1].summary
    assert summary is not None and summary.describe().startswith("10 written, 0 skipped, 2 failed")
    assert outputs(out) == outputs(reference["out"])
    check_manifest(out, reference["goods"], reference["bad"], checkpoint)
    assert [e.overall_fraction for e in events if e.kind == "progress"][-1] == 1.0


def test_worker_says_when_an_input_is_not_on_its_node(tmp_path: Path, checkpoint: Path) -> None:
    settings = BatchSettings(ExportSettings(OutputSize(scale=2)), tmp_path / "out")
    worker = ItemWorker(load_checkpoint(checkpoint), WorkerSpec(settings, "m"))
    answer = worker.export(BatchItem(tmp_path / "elsewhere" / "a.png"))
    assert answer["status"] == "failed" and "every node mounts" in answer["reason"]
    assert answer["host"]


def test_work_items_round_trip() -> None:
    item = BatchItem(Path("/data/a.tif"), Path("sub/deeper"))
    assert record_item(item_record(item, 3)) == item
    fixed = BatchItem(Path("/data/a.tif"), target=Path("/out/b.png"))
    assert record_item(item_record(fixed, 0)) == fixed


def test_pages_are_the_unit_of_work() -> None:
    """Items of PDFs / multi-page TIFFs carry 1-based ``pages``; single images have none."""
    assert item_page(BatchItem(Path("/d/a.png"))) == 0
    page = BatchItem(Path("/d/scan.pdf"), Path("box"), pages=(3,), page_count=5)
    assert item_page(page) == 3 and shard_key(page) == "box/scan.pdf#3"
    assert record_item(item_record(page, 0)) == page
    bound = BatchItem(Path("/d/scan.pdf"), target=Path("/o/all.pdf"), pages=(2, 3))
    assert item_page(bound) == 0  # several pages bound into one output: the whole file


def test_pages_of_a_pdf_resume_and_travel_one_by_one(
    tmp_path: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    scanned_pdf(tmp_path / "in" / "doc.pdf", [(20, 16), (16, 20), (18, 18)], dpi=72)
    out = tmp_path / "out"
    assert upscale(tmp_path / "in", out, checkpoint) == 0
    rows = read_rows(out)
    assert [(Path(r.input).name, r.page, Path(r.output).name) for r in rows] == [
        ("doc.pdf", n, f"doc_x2_p{n}.png") for n in (1, 2, 3)
    ]
    items = expand_pages(collect_inputs([tmp_path / "in"]))
    assert [record_item(item_record(item, i)) for i, item in enumerate(items)] == items
    assert len({shard_key(item) for item in items}) == 3  # pages can go to different shards
    (out / "doc_x2_p2.png").unlink()
    capsys.readouterr()
    assert upscale(tmp_path / "in", out, checkpoint, "--resume") == 0
    assert "resume: 2 of 3 already complete, 1 to do" in capsys.readouterr().err


def _answer(index: int, status: str) -> dict[str, Any]:
    row = ManifestRow(f"/in/{index}.png", 0, f"/out/{index}.png", "done", "", 0.1, "m", "fp32", "x")
    if status == CANCELLED:
        return {"input": row.input, "page": 0, "status": CANCELLED, "index": index}
    return {**row.__dict__, "status": status, "too_large": False, "index": index}


def test_gather_cancels_the_workers_and_records_what_finished() -> None:
    items = [BatchItem(Path(f"/in/{i}.png")) for i in range(5)]
    answers = [_answer(2, "done"), _answer(0, "done"), _answer(1, "failed")]
    answers += [_answer(3, CANCELLED), _answer(4, CANCELLED)]
    written: list[ManifestRow] = []
    cancels: list[int] = []
    stop = False

    def should_stop() -> bool:
        return stop

    events = []
    for ev in gather(items, answers, written.append, should_stop, lambda: cancels.append(1)):
        events.append(ev)
        stop = True  # "Ctrl-C" after the first answer: the rest still drain
    assert cancels == [1]
    assert [r.input for r in written] == ["/in/2.png", "/in/0.png", "/in/1.png"]
    summary = events[-1].summary
    assert summary is not None and summary.cancelled
    assert (len(summary.written), len(summary.failed)) == (2, 1)
    done = [e for e in events if e.kind in ("file_done", "file_failed")]
    assert [e.index for e in done] == [0, 1, 2] and done[0].source == items[2].source


def test_actor_pool_follows_the_cluster() -> None:
    gpus = {"CPU": 64.0, "GPU": 8.0}
    assert plan_pool(RayOptions(), gpus).device == "cuda"
    assert plan_pool(RayOptions(), gpus).workers == 8
    assert plan_pool(RayOptions(device="cpu", threads=4), gpus).workers == 16
    assert plan_pool(RayOptions(workers=3, threads=2), {"CPU": 16.0}).num_cpus == 2
    with pytest.raises(RayUnavailable, match="no GPUs"):
        plan_pool(RayOptions(device="cuda"), {"CPU": 16.0})


def test_ray_needs_one_pinned_precision(tmp_path: Path, checkpoint: Path) -> None:
    export = ExportSettings(OutputSize(scale=2), precision="auto")  # type: ignore[arg-type]
    settings = BatchSettings(export, tmp_path)
    events = run_on_ray([], load_checkpoint(checkpoint), "m", settings, RayOptions(), print)
    with pytest.raises(RayUnavailable, match="one precision"):
        next(events)


def test_missing_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match=r"liif-desktop\[cluster\]"):
        require_ray()


def test_the_cli_does_not_import_ray() -> None:
    code = "import sys, liif_desktop.cli; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""The same 12-input job on a local Ray instance: same bytes, same manifest, resumable.

Slow (``-m slow``): starting Ray and its worker processes takes 20–60 s here. The same logic
without Ray (the worker in-process, the driver's gather, resume, shards) is tested quickly in
test_export_jobs.py.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liif_desktop.export.batch import BatchSettings, collect_inputs
from liif_desktop.export.job import ExportSettings, OutputSize
from liif_desktop.export.job_options import JobOptions
from liif_desktop.export.job_runner import run_job
from liif_desktop.export.manifest import MANIFEST_NAME, latest_rows, read_rows
from liif_desktop.export.safety import TEMP_PREFIX
from liif_desktop.model import load_checkpoint
from tests.test_export_batch import save_tiny_checkpoint
from tests.test_export_jobs import check_manifest, outputs, single_machine_run, upscale

pytestmark = [
    pytest.mark.slow,
    # Found, not imported: importing Ray costs seconds at every collection of the quick suite.
    pytest.mark.skipif(
        importlib.util.find_spec("ray") is None, reason="needs Ray: liif-desktop[cluster]"
    ),
    # Ray Data 2.60 warns about its own default settings on DataContext.get_current().
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=2)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> dict[str, Any]:
    return single_machine_run(tmp_path_factory.mktemp("job"), checkpoint)


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    import ray

    from liif_desktop.export.ray_executor import runtime_env

    ray.init(
        num_cpus=2,
        runtime_env=runtime_env(),
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
    )
    yield
    ray.shutdown()


def test_ray_job_equals_the_single_machine_run(
    tmp_path: Path,
    reference: dict[str, Any],
    checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    capsys.readouterr()
    code = upscale(reference["in"], out, checkpoint, "--executor", "ray", "--workers", "2")
    assert code == 1  # two bad inputs, recorded; the job went on
    err = capsys.readouterr().err
    assert "ray: 2 worker(s) on cpu, 1 thread(s) each, fp32" in err
    assert "10 written, 0 skipped, 2 failed" in err
    failed = [line for line in err.splitlines() if line.startswith("  failed: ")]
    # Listed in input order, as a local batch lists them (answers arrive in any order).
    assert [line.split(": ", 2)[1] for line in failed] == [str(p) for p in sorted(reference["bad"])]
    assert outputs(out) == outputs(reference["out"])  # 10 outputs, byte for byte
    check_manifest(out, reference["goods"], reference["bad"], checkpoint)  # 12 rows
    hosts = {row.host for row in read_rows(out)}
    assert hosts and "" not in hosts


def test_ray_job_interrupted_then_resumed_writes_only_the_rest(
    tmp_path: Path, reference: dict[str, Any], checkpoint: Path
) -> None:
    out = tmp_path / "out"
    items = collect_inputs([reference["in"]])
    settings = BatchSettings(ExportSettings(OutputSize(scale=2), tile=32), out)
    options = JobOptions(executor="ray", workers=2)
    seen: list[str] = []
    model = load_checkpoint(checkpoint)
    for ev in run_job(items, model, str(checkpoint), settings, options, lambda: len(seen) >= 1):
        if ev.kind in ("file_done", "file_failed"):
            seen.append(ev.kind)
        if ev.summary is not None:
            assert ev.summary.cancelled
    recorded = {Path(r.output).name for r in read_rows(out) if r.status == "done"}
    before = {p.name: p.stat() for p in out.iterdir() if p.name != MANIFEST_NAME}
    assert set(before) == recorded  # every finished file recorded, nothing partial left
    assert len(recorded) < 10

    assert upscale(reference["in"], out, checkpoint, "--executor", "ray", "--resume") == 1
    for name, stat in before.items():
        now = (out / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert outputs(out) == outputs(reference["out"])  # the rest, once each
    assert not any(p.name.startswith(TEMP_PREFIX) for p in out.iterdir())
    assert len(latest_rows(read_rows(out))) == 12

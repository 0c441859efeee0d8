"""Ray executor on this machine's local cluster: 1 vs 2 workers against the single-process CLI.

The same job four ways, one after the other in one run (so the ratios share the conditions):

- ``cli``: ``liif-upscale DIR -o OUT/`` in a fresh process, 1 torch thread (whole-process wall
  time: start-up, model load, every file);
- ``local``: the same batch in this process (``run_job``, local executor, 1 torch thread), with a
  time stamp per finished file;
- ``ray_1``, ``ray_2``: ``--executor ray`` with 1 and 2 actors of 1 thread each on a local Ray
  instance (``ray.init(num_cpus=2)``), time stamps per finished file as the driver sees them.

Steady throughput is measured between the first and the last finished file (start-up apart);
the per-file overhead of Ray is its steady seconds per file minus the local path's, and its
fixed cost is the time to the first finished file minus one file's work. Because the machine
is shared, CPU seconds are recorded too (robust to load): each file's ``cpu_seconds`` from the
manifests (the exporting process) and the driver's CPU per file. The outputs of every run are
checked byte for byte against the CLI's.

Input: 24 crops (``--size``, default 32×32) of B100 HR images (seeded noise if absent), ×4
with edsr-baseline-liif, fp32. Results: ``benchmarks/results/cluster.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.common import BENCHMARK_DATA, REPO, RESULTS, machine_info, write_json

#: CPU flags that decide bf16 speed (recorded with the results).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags() -> dict[str, bool]:
    """Which of :data:`CPU_FLAGS` this CPU has (Linux; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return {flag: flag in have for flag in CPU_FLAGS}
    return {}


def make_inputs(folder: Path, count: int, size: int) -> list[Path]:
    """``count`` PNG crops of ``size``² from B100 HR (seeded noise where the data is absent)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((BENCHMARK_DATA / "B100" / "HR").glob("*.png"))
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        if i < len(sources):
            with Image.open(sources[i]) as im:
                crop = np.asarray(im.convert("RGB"))[:size, :size]
        else:
            crop = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        path = folder / f"in{i:02d}.png"
        Image.fromarray(crop).save(path)
        paths.append(path)
    return paths


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".png"}


def run_cli(inputs: Path, out: Path, scale: int, model: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "liif_desktop.cli", str(inputs), "-s", str(scale)]
    argv += ["-o", f"{out}/", "--model", model]
    start = time.monotonic()
    subprocess.run(argv, cwd=REPO, env=env, check=True, capture_output=True)
    return time.monotonic() - start


def timed_job(
    inputs: Path, out: Path, scale: int, model_id: str, executor: str, workers: int
) -> dict[str, Any]:
    """Run the job in this process; wall time and a time stamp per finished file."""
    from liif_desktop.export.batch import BatchSettings, collect_inputs
    from liif_desktop.export.job import ExportSettings, OutputSize
    from liif_desktop.export.job_options import JobOptions
    from liif_desktop.export.job_runner import run_job
    from liif_desktop.export.manifest import read_rows
    from liif_desktop.weights import find_model, load_model

    start, driver_cpu = time.monotonic(), time.process_time()
    model = load_model(find_model(model_id), "cpu")
    items = collect_inputs([inputs])
    settings = BatchSettings(ExportSettings(OutputSize(scale=scale)), out)
    options = JobOptions(executor=executor, workers=workers, threads=1)
    stamps = []
    summary = None
    for ev in run_job(items, model, model_id, settings, options):
        if ev.kind == "file_done":
            stamps.append(time.monotonic() - start)
        if ev.summary is not None:
            summary = ev.summary
    wall, driver_cpu = time.monotonic() - start, time.process_time() - driver_cpu
    assert summary is not None and not summary.failed, summary
    steady = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    cpu = [row.cpu_seconds for row in read_rows(out) if row.status == "done"]
    return {
        "wall_s": round(wall, 2),
        "driver_cpu_s": round(driver_cpu, 2),
        "median_cpu_s_per_file": round(float(np.median(cpu)), 3),
        "first_file_s": round(stamps[0], 2),
        "steady_s_per_file": round(steady, 3),
        "steady_files_per_s": round(1 / steady, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24, help="images (default 24)")
    parser.add_argument("--size", type=int, default=32, help="input side in pixels (default 32)")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--model", default="edsr-baseline-liif")
    parser.add_argument(
        "--repeats", type=int, default=2, help="Ray runs per pool size (default 2, ABBA order)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "cluster.json")
    args = parser.parse_args(argv)

    import ray
    import torch

    from liif_desktop.export.ray_executor import runtime_env

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="liif-cluster-bench-") as tmp:
        root = Path(tmp)
        make_inputs(root / "in", args.count, args.size)
        cli_wall = run_cli(root / "in", root / "cli", args.scale, args.model)
        runs["cli"] = {"wall_s": round(cli_wall, 2)}
        print(f"cli: {cli_wall:.1f} s", flush=True)
        reference = outputs(root / "cli")
        runs["local"] = timed_job(root / "in", root / "local", args.scale, args.model, "local", 1)
        runs["local"]["same_bytes_as_cli"] = outputs(root / "local") == reference
        print(f"local: {runs['local']}", flush=True)
        # ABBA order (1, 2, 2, 1 workers) so that a drift in the machine's load hits both alike.
        order = [1, 2, 2, 1][: 2 * args.repeats] if args.repeats <= 2 else [1, 2] * args.repeats
        for k, workers in enumerate(order):
            start = time.monotonic()
            ray.init(
                num_cpus=2, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False
            )
            init_s = time.monotonic() - start
            out = root / f"ray{k}"
            run = timed_job(root / "in", out, args.scale, args.model, "ray", workers)
            ray.shutdown()
            run["workers"] = workers
            run["ray_init_s"] = round(init_s, 2)
            run["wall_with_init_s"] = round(run["wall_s"] + init_s, 2)
            run["same_bytes_as_cli"] = outputs(out) == reference
            runs[f"ray_{k + 1}_{workers}_worker"] = run
            print(f"ray {workers}: {run}", flush=True)

    def mean(key: str, workers: int) -> float:
        values = [r[key] for r in runs.values() if r.get("workers") == workers]
        return float(np.mean(values))

    pixels = (args.size * args.scale) ** 2
    local = runs["local"]
    summary = {
        "throughput_ratio_2_vs_1_workers_steady": round(
            mean("steady_files_per_s", 2) / mean("steady_files_per_s", 1), 3
        ),
        "throughput_ratio_2_vs_1_workers_whole_job": round(
            mean("wall_with_init_s", 1) / mean("wall_with_init_s", 2), 3
        ),
        "ray_overhead_s_per_file_steady": round(
            mean("steady_s_per_file", 1) - local["steady_s_per_file"], 3
        ),
        "ray_overhead_s_per_file_whole_job_vs_cli": round(
            (mean("wall_with_init_s", 1) - runs["cli"]["wall_s"]) / args.count, 3
        ),
        "ray_fixed_start_s": round(
            mean("ray_init_s", 1) + mean("first_file_s", 1) - local["first_file_s"], 2
        ),
        "ray_worker_cpu_s_per_file_minus_local": round(
            mean("median_cpu_s_per_file", 1) - local["median_cpu_s_per_file"], 3
        ),
        "ray_driver_cpu_s_per_file": round(mean("driver_cpu_s", 1) / args.count, 3),
        "local_cpu_s_per_file": local["median_cpu_s_per_file"],
        "cpu_us_per_output_pixel_1_thread": round(local["median_cpu_s_per_file"] / pixels * 1e6, 1),
        "output_mpx_per_s_per_worker_steady": round(pixels / 1e6 / mean("steady_s_per_file", 1), 4),
        "output_mpx_per_s_local_1_thread": round(pixels / 1e6 / local["steady_s_per_file"], 4),
        "all_outputs_identical": all(r.get("same_bytes_as_cli", True) for r in runs.values()),
    }
    machine = machine_info()
    machine["cpu_flags"] = cpu_flags()
    machine["load_average_1m_before"] = load_before
    machine["load_average_1m_after"] = os.getloadavg()[0]
    result = {
        "about": (
            f"{args.count} images of {args.size}x{args.size}, x{args.scale} with {args.model} "
            f"fp32, 1 torch thread per worker, Ray runs in the order {order}; cli = whole "
            "process, local/ray = in this process "
            "(model load included, Ray start counted apart). Shared, loaded machine: compare "
            "ratios within this run only."
        ),
        "summary": summary,
        "runs": runs,
        "machine": machine,
    }
    write_json(args.out, result)
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

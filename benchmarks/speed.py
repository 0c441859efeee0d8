"""Whole-process speed of a ×4 upscale on CPU: our render path vs the paper's formulation.

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.speed            # 512×512 → 2048×2048
    nice -n 5 .venv/bin/python -m benchmarks.speed --reference-size 256 --repeats 3

Every run is a fresh ``python -m benchmarks.speed --child ...`` process, timed from spawn to
exit, so imports and model loading count. Paths:

``ours``
    :class:`~liif_desktop.render.region.RegionRenderer` + :func:`upscale_array` (tiled
    encoding with a halo, folded first layer, separable grid queries, chunked decoding), in
    fp32 or bf16.
``reference``
    The paper's formulation as the original code runs it: encode the whole image once, then
    answer all output pixels in query batches of 30000 through :meth:`LIIF.query` (3×3
    unfolded codes gathered per query, the full 580-wide MLP, local ensemble of four).

Runs alternate (ours fp32, ours bf16, reference, ...) to spread the noise of a shared machine
over all paths; the summary uses the median wall time per path. Output megapixels per second
is output pixels / whole-process wall time. When ``--reference-size`` is smaller than
``--size``, the reference's render time is scaled by the ratio of output pixels (its work
is proportional to them; start-up is not scaled) and marked as extrapolated, and our fp32 path
is also run at that size for a like-for-like ratio. Wall time is what a user waits; CPU time
(user + system of the child) is also recorded because the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    BENCHMARK_DATA,
    RESULTS,
    load_rgb,
    machine_info,
    peak_rss_bytes,
    to_float,
    write_json,
)

SCALE = 4
REFERENCE_BATCH = 30000
MODEL_ID = "edsr-baseline-liif"
#: A real photo large enough for a 512×512 crop (Set14 'barbara', 720×576).
SOURCE_IMAGE = BENCHMARK_DATA / "Set14" / "HR" / "barbara.png"


def input_image(size: int) -> tuple[np.ndarray, str]:
    """A ``size × size`` float32 RGB input: a crop of a real photo, or seeded noise."""
    if SOURCE_IMAGE.is_file():
        img = load_rgb(SOURCE_IMAGE)
        if img.shape[0] >= size and img.shape[1] >= size:
            return to_float(img[:size, :size]), f"{SOURCE_IMAGE.name} top-left crop"
    rng = np.random.default_rng(0)
    return rng.random((size, size, 3), dtype=np.float32), "seeded random"


def reference_upscale(model: Any, image: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The paper's formulation: whole-image encoding, per-query decoding in batches."""
    import torch

    from liif_desktop.model.coords import grid_coords

    h, w = out_size
    with torch.inference_mode():
        inp = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)
        feat = model.encode(inp)
        coord = grid_coords(h, w).unsqueeze(0)
        cell = torch.empty_like(coord)
        cell[..., 0] = 2.0 / h
        cell[..., 1] = 2.0 / w
        preds = []
        for q0 in range(0, coord.shape[1], REFERENCE_BATCH):
            q1 = q0 + REFERENCE_BATCH
            preds.append(model.query(feat, coord[:, q0:q1], cell[:, q0:q1]))
        raw = torch.cat(preds, dim=1)[0]
        rgb = (raw * 0.5 + 0.5).clamp_(0, 1)
    return rgb.view(h, w, 3).numpy()


def child(
    path: str, precision: str, size: int, save: Path | None, threads: int | None
) -> dict[str, Any]:
    """Body of one timed process; returns its internal timings."""
    t0 = time.perf_counter()
    import torch

    if threads:
        torch.set_num_threads(threads)
    from liif_desktop.render.full import upscale_array
    from liif_desktop.render.precision import resolve_precision
    from liif_desktop.render.region import RegionRenderer
    from liif_desktop.weights import load_model

    model = load_model(MODEL_ID).eval()
    image, source = input_image(size)
    out_size = (SCALE * size, SCALE * size)
    resolved = resolve_precision(precision)  # 'auto': measured once, cached per machine
    t1 = time.perf_counter()
    if path == "reference":
        out = reference_upscale(model, image, out_size)
    else:
        renderer = RegionRenderer(model, image, precision=resolved)
        out = upscale_array(renderer, out_size)
    t2 = time.perf_counter()
    if save is not None:
        np.save(save, out)
    return {
        "startup_s": round(t1 - t0, 2),
        "render_s": round(t2 - t1, 2),
        "peak_rss_gib": round(peak_rss_bytes() / 2**30, 3),
        "input": source,
        "torch_threads": torch.get_num_threads(),
        "precision_used": resolved,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def timed_run(
    path: str, precision: str, size: int, save: Path | None, threads: int | None = None
) -> dict[str, Any]:
    """Run one path in a fresh interpreter; wall time covers the whole process."""
    cmd = [sys.executable, "-m", "benchmarks.speed", "--child", path, "--precision", precision]
    cmd += ["--size", str(size)]
    if threads:
        cmd += ["--threads", str(threads)]
    if save is not None:
        cmd += ["--save", str(save)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    out_px = (SCALE * size) ** 2
    run = {"path": path, "precision": precision, "input_size": size, "wall_s": round(wall, 2)}
    run["cpu_s"] = round(cpu, 2)
    run["load_average_1m_before"] = round(load, 2)
    run.update(inner)
    run["output_mpx_per_s"] = round(out_px / 1e6 / wall, 4)
    print(json.dumps(run), file=sys.stderr)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="input side (output is ×4)")
    parser.add_argument("--reference-size", type=int, help="input side for the reference path")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each of our paths")
    parser.add_argument("--reference-repeats", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, help="torch threads per run (default: torch's choice)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json")
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["auto", "fp32", "bf16"],
        help="our paths' precisions ('auto' = what the app and CLI run by default)",
    )
    parser.add_argument("--child", choices=["ours", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args.precision, args.size, args.save, args.threads)))
        return 0

    ref_size = args.reference_size or args.size
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        names = [*args.precisions, "reference"]
        saved = {name: Path(tmp) / f"{name}.npy" for name in names}
        for i in range(max(args.repeats, args.reference_repeats)):
            if i < args.repeats:
                for precision in args.precisions:
                    save = saved[precision] if i == 0 and ref_size == args.size else None
                    runs.append(timed_run("ours", precision, args.size, save, args.threads))
            if i < args.reference_repeats:
                save = saved["reference"] if i == 0 and ref_size == args.size else None
                runs.append(timed_run("reference", "fp32", ref_size, save, args.threads))
                if ref_size != args.size:  # ours at the reference's size, like for like
                    runs.append(timed_run("ours", "fp32", ref_size, None, args.threads))
        agreement = {}
        if saved["reference"].is_file():
            ref = np.load(saved["reference"])
            for precision in args.precisions:
                diff = np.abs(np.load(saved[precision]) - ref)
                agreement[f"ours_{precision}_vs_reference_max_abs"] = float(diff.max())
                agreement[f"ours_{precision}_vs_reference_mean_abs"] = float(diff.mean())

    out_px = (SCALE * args.size) ** 2

    def median_of(key: str, path: str, precision: str, size: int) -> float:
        return statistics.median(
            r[key]
            for r in runs
            if r["path"] == path and r["precision"] == precision and r["input_size"] == size
        )

    # Only the render part of the reference scales with the output; start-up does not.
    ratio = (args.size / ref_size) ** 2
    ref_render = median_of("render_s", "reference", "fp32", ref_size)
    ref_wall = median_of("wall_s", "reference", "fp32", ref_size) + ref_render * (ratio - 1)
    ref_cpu = median_of("cpu_s", "reference", "fp32", ref_size) * ratio
    summary: dict[str, Any] = {}
    for precision in args.precisions:
        wall = median_of("wall_s", "ours", precision, args.size)
        cpu = median_of("cpu_s", "ours", precision, args.size)
        summary[f"ours_{precision}"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "output_mpx_per_s": round(out_px / 1e6 / wall, 4),
            "speedup_vs_reference": round(ref_wall / wall, 2),
            "speedup_vs_reference_cpu_time": round(ref_cpu / cpu, 2),
            "precision_used": next(
                r["precision_used"]
                for r in runs
                if r["path"] == "ours" and r["precision"] == precision
            ),
        }
    summary["reference"] = {
        "wall_s": round(ref_wall, 2),
        "cpu_s_approx": round(ref_cpu, 2),
        "output_mpx_per_s": round(out_px / 1e6 / ref_wall, 4),
        "extrapolated_from_input_size": ref_size if ref_size != args.size else None,
    }
    if ref_size != args.size:
        same = median_of("wall_s", "ours", "fp32", ref_size)
        summary["same_size_fp32"] = {
            "input_size": ref_size,
            "ours_wall_s": same,
            "reference_wall_s": median_of("wall_s", "reference", "fp32", ref_size),
            "speedup": round(median_of("wall_s", "reference", "fp32", ref_size) / same, 2),
        }
    result = {
        "about": "Whole-process wall time (fresh interpreter, model load included) of a ×4 "
        f"upscale of a {args.size}×{args.size} image to {SCALE * args.size}² on CPU, "
        f"model {MODEL_ID}; medians over runs. See benchmarks/README.md.",
        "target": "ours with --precision auto at least 6× the reference path (issue 14; "
        "fp32 alone is at this CPU's GEMM limit)",
        "torch_threads_per_run": args.threads or "torch default",
        "summary": summary,
        "agreement": agreement,
        "runs": runs,
        "machine": machine_info(),
    }
    write_json(args.out, result)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

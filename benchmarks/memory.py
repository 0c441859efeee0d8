"""Peak memory of a ×4 export as the input grows, with the full output buffer allocated.

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.memory                  # 1, 4, 6 (3000×2000), 16 Mpx
    nice -n 5 .venv/bin/python -m benchmarks.memory --inputs 3000x2000 --band-rows 512

Each size runs in a fresh ``python -m benchmarks.memory --child ...`` process that loads the
model, makes a seeded input of that size, allocates and touches the whole uint8 H×W×3 output
buffer (as an export does), then drives :func:`~liif_desktop.render.full.render_image` over
the first ``--band-rows`` output rows across the full width, writing each tile into the
buffer. Rendering the whole image would take hours on a small CPU; the tiles go in row-major
order and each band of latent tiles falls out of the cache, so the first band shows the
working set. Peak RSS is ``ru_maxrss`` of the child. The figure that must stay flat is peak
RSS minus the output buffer and the input arrays (which any export holds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, machine_info, peak_rss_bytes, write_json

SCALE = 4
MODEL_ID = "edsr-baseline-liif"
GIB = 2**30
DEFAULT_INPUTS = ["1224x816", "2448x1632", "3000x2000", "4896x3264"]
TARGET_GIB = 3.0


def parse_size(text: str) -> tuple[int, int]:
    """``'3000x2000'`` (width × height) → (height, width)."""
    w, h = (int(v) for v in text.lower().split("x"))
    return h, w


def seeded_input(height: int, width: int) -> np.ndarray:
    """A smooth seeded float32 RGB image (content does not change the memory use)."""
    rng = np.random.default_rng(0)
    small = rng.random((height // 8 + 1, width // 8 + 1, 3), dtype=np.float32)
    return np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)[:height, :width]


def child(height: int, width: int, band_rows: int, precision: str) -> dict[str, Any]:
    from liif_desktop.render.full import render_image
    from liif_desktop.render.region import RegionRenderer
    from liif_desktop.weights import load_model

    model = load_model(MODEL_ID).eval()
    rss_model = peak_rss_bytes()
    image = seeded_input(height, width)
    out_size = (SCALE * height, SCALE * width)
    output = np.zeros((*out_size, 3), dtype=np.uint8)
    output.fill(0)  # touch every page so the buffer is resident, as a real export's is
    renderer = RegionRenderer(model, image, precision=precision)  # type: ignore[arg-type]
    start = time.perf_counter()
    rendered = 0
    last_row = 0
    for tile in render_image(renderer, out_size):
        if tile.rows[0] >= band_rows:
            break
        output[tile.rows[0] : tile.rows[1], tile.cols[0] : tile.cols[1]] = np.rint(
            tile.rgb * 255.0
        ).astype(np.uint8)
        rendered += (tile.rows[1] - tile.rows[0]) * (tile.cols[1] - tile.cols[0])
        last_row = max(last_row, tile.rows[1])
    seconds = time.perf_counter() - start
    return {
        "input": f"{width}x{height}",
        "input_mpx": round(height * width / 1e6, 2),
        "output": f"{out_size[1]}x{out_size[0]}",
        "rendered_rows": last_row,
        "rendered_mpx": round(rendered / 1e6, 2),
        "render_s": round(seconds, 1),
        "est_full_render_h": round(seconds * out_size[0] * out_size[1] / rendered / 3600, 2),
        "peak_rss_bytes": peak_rss_bytes(),
        "after_model_load_bytes": rss_model,
        "output_buffer_bytes": int(output.nbytes),
        "input_arrays_bytes": int(image.nbytes),
        "feature_cache_budget_bytes": int(renderer.features.budget_bytes),
    }


def run_child(size: str, band_rows: int, precision: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.memory", "--child", size]
    cmd += ["--band-rows", str(band_rows), "--precision", precision]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = res["peak_rss_bytes"]
    res["peak_rss_gib"] = round(peak / GIB, 3)
    res["peak_minus_output_gib"] = round((peak - res["output_buffer_bytes"]) / GIB, 3)
    res["peak_minus_output_and_input_gib"] = round(
        (peak - res["output_buffer_bytes"] - res["input_arrays_bytes"]) / GIB, 3
    )
    print(json.dumps(res), file=sys.stderr)
    return res


def summarise(runs: list[dict[str, Any]], band_rows: int, precision: str) -> dict[str, Any]:
    target_run = next((r for r in runs if r["input"] == "3000x2000"), None)
    return {
        "about": f"Peak RSS of a ×{SCALE} export (fresh process, model {MODEL_ID}, "
        f"{precision}) with the whole uint8 output buffer allocated and touched; the "
        f"first {band_rows} output rows rendered across the full width. See "
        "benchmarks/README.md.",
        "target": f"peak RSS < {TARGET_GIB} GiB for a 3000x2000 input",
        "target_met": None if target_run is None else target_run["peak_rss_gib"] < TARGET_GIB,
        "largest_peak_rss_gib": max(r["peak_rss_gib"] for r in runs),
        "runs": runs,
        "machine": machine_info(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--inputs", nargs="+", default=DEFAULT_INPUTS, help="WxH input sizes")
    parser.add_argument("--band-rows", type=int, default=512)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        h, w = parse_size(args.child)
        print(json.dumps(child(h, w, args.band_rows, args.precision)))
        return 0

    runs: list[dict[str, Any]] = []
    for size in args.inputs:  # the JSON is rewritten after each size, so partial runs count
        runs.append(run_child(size, args.band_rows, args.precision))
        write_json(args.out, summarise(runs, args.band_rows, args.precision))
    for r in runs:
        print(
            f"{r['input']:>10} ({r['input_mpx']:5.1f} Mpx): peak {r['peak_rss_gib']:.2f} GiB, "
            f"minus output {r['peak_minus_output_gib']:.2f}, minus output+input "
            f"{r['peak_minus_output_and_input_gib']:.2f} GiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Peak memory of ``liif-upscale`` on an 81 MP all-black PNG at ×2 (issue 16).

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.huge_black
    nice -n 5 .venv/bin/python -m benchmarks.huge_black --tree /tmp/old-checkout --label before

The input (11040×7360, 81.3 MP, black RGB) is written once to a temporary folder. A fresh
child process runs the real command line, ``liif_desktop.cli.main([png, '-s', '2', '-o',
out.png])``: loading, the free-space check, the 22080×14720 output buffer, every tile
quantised into it (a temporary file beside the output since the spill change: a folder on
disk, not tmpfs, so the pixels do not sit in RAM), the PNG written and moved into place.
Rendering all 325 MP of output with LIIF would take hours on a small CPU, so only the first
``--real-tiles`` tiles go through the model (that shows the renderer's working set, which is
bounded); the other tiles are black arrays of the same size, handed over in the same loop.
Peak RSS is the child's ``ru_maxrss``.

``--tree`` runs the child against another checkout (e.g. before a change) for a side-by-side
figure; the result is merged into ``benchmarks/results/huge_black.json`` under ``--label``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

WIDTH, HEIGHT, SCALE = 11040, 7360, 2
GIB = 2**30
TARGET_GIB = 1.6
REPO = Path(__file__).resolve().parent.parent


def child(source: Path, out: Path, real_tiles: int) -> dict[str, Any]:
    """Run the CLI in this process with all but the first tiles stubbed; report memory."""
    import resource

    from liif_desktop import cli
    from liif_desktop.export import job
    from liif_desktop.render import full

    real_render = full.render_image
    counts = {"real": 0, "stub": 0}

    def partly_real(renderer: Any, out_size: tuple[int, int], tile: int = 512, stop: Any = None):  # type: ignore[no-untyped-def]
        done: set[tuple[tuple[int, int], tuple[int, int]]] = set()
        for t in real_render(renderer, out_size, tile, stop):
            yield t
            done.add((t.rows, t.cols))
            counts["real"] += 1
            if len(done) >= real_tiles:
                break
        for rows, cols in full.output_tiles(out_size, tile):
            if (rows, cols) in done:
                continue
            rgb = np.zeros((rows[1] - rows[0], cols[1] - cols[0], 3), np.float32)
            counts["stub"] += 1
            yield full.RenderedTile(rows, cols, rgb, 0, 0)

    job.render_image = partly_real  # type: ignore[assignment]
    start = time.perf_counter()
    code = cli.main([str(source), "-s", str(SCALE), "-o", str(out)])
    seconds = time.perf_counter() - start
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "exit_code": code,
        "seconds": round(seconds, 1),
        "peak_rss_bytes": int(kib) * 1024,
        "real_tiles": counts["real"],
        "stub_tiles": counts["stub"],
        "output_bytes": out.stat().st_size if out.exists() else None,
    }


def make_input(folder: Path) -> Path:
    from liif_desktop.export.imagewrite import write_png

    path = folder / "black-81mp.png"
    with path.open("wb") as fh:
        write_png(fh, np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    return path


def run_child(tree: Path, source: Path, real_tiles: int) -> dict[str, Any]:
    out = source.with_name("out.png")
    out.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(source), str(out)]
    cmd += ["--real-tiles", str(real_tiles)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["peak_rss_gib"] = round(res["peak_rss_bytes"] / GIB, 3)
    res["target_met"] = res["peak_rss_gib"] <= TARGET_GIB and res["exit_code"] == 0
    out.unlink(missing_ok=True)
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("PNG", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--real-tiles", type=int, default=16)
    parser.add_argument("--tree", type=Path, default=REPO, help="checkout to measure")
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/huge_black.json")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), args.real_tiles)))
        return 0
    from benchmarks.common import machine_info, write_json

    with tempfile.TemporaryDirectory(prefix="liif-huge-") as tmp:
        source = make_input(Path(tmp))
        result = run_child(args.tree.resolve(), source, args.real_tiles)
    print(json.dumps(result, indent=2))
    data: dict[str, Any] = {}
    if args.out.is_file():
        data = json.loads(args.out.read_text(encoding="utf-8"))
    data.update(
        {
            "about": "Peak RSS of liif-upscale -s 2 on an 81.3 MP (11040x7360) all-black PNG, "
            "fresh process, model edsr-baseline-liif (the default), fp32; the first "
            f"{args.real_tiles} tiles rendered by the model, the rest black stubs in the same "
            "loop; output pixels held as the export holds them (since issue 16's spill: in a "
            "temporary file beside the output, on disk, read back by bands of rows), PNG "
            "written. See benchmarks/huge_black.py.",
            "target": f"peak RSS <= {TARGET_GIB} GiB",
            "machine": machine_info(),
        }
    )
    data.setdefault("runs", {})[args.label] = {"tree": str(args.tree), **result}
    write_json(args.out, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

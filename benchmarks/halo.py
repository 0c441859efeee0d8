"""Smallest encoder halo for which tiled latent codes give the whole-image output.

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.halo                     # every available model
    nice -n 5 .venv/bin/python -m benchmarks.halo --models edsr-baseline-liif --halos 0 8 16 24

For each model and each halo ``h``, crops of real images (64–96 px) are rendered at ×2.5
twice: tiled (``RegionRenderer(model, crop, halo=h, feature_tile=16)``: many tile seams) and
whole (``halo=10_000, feature_tile=100_000``: one encoding of the whole crop). The reported
halo is the smallest tested one from which on every crop, for it and every larger tested
halo, the max abs difference is within the tolerance (1e-3). Results merge into
``results/halo.json`` per model.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BENCHMARK_DATA, RESULTS, load_rgb, machine_info, merge_json, to_float

TOLERANCE = 1e-3
OUT_SCALE = 2.5
DEFAULT_HALOS = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40]
#: (image, top, left, height, width): crops of MATLAB-bicubic ×2 LR images with detail.
CROPS = [
    ("Set14/LR_bicubic/X2/baboonx2.png", 20, 40, 96, 80),
    ("Set14/LR_bicubic/X2/comicx2.png", 10, 10, 64, 96),
    ("Set14/LR_bicubic/X2/zebrax2.png", 40, 60, 80, 80),
]


def load_crops(root: Path = BENCHMARK_DATA) -> list[tuple[str, np.ndarray]]:
    crops = []
    for rel, top, left, h, w in CROPS:
        img = to_float(load_rgb(root / rel))
        crops.append(
            (f"{Path(rel).stem}[{top}:{top + h},{left}:{left + w}]", img[top:, left:][:h, :w])
        )
    return crops


def whole_render(model: Any, image: np.ndarray, out_size: tuple[int, int], **kw: Any) -> np.ndarray:
    from liif_desktop.render.region import RegionRenderer

    renderer = RegionRenderer(model, image, **kw)
    return renderer.render(out_size, (0, out_size[0]), (0, out_size[1]))


def smallest_passing(worst: dict[int, float], tolerance: float) -> int | None:
    """Smallest halo from which this and every larger tested halo is within ``tolerance``."""
    smallest = None
    for h in sorted(worst, reverse=True):
        if worst[h] > tolerance:
            break
        smallest = h
    return smallest


def measure(model_id: str, halos: list[int]) -> dict[str, Any]:
    """Max abs difference tiled vs whole for every halo and crop of one model."""
    from liif_desktop.model.tiling import default_halo
    from liif_desktop.weights import load_model

    model = load_model(model_id).eval()
    crops = load_crops()
    errors: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for name, crop in crops:
        out_size = (math.floor(crop.shape[0] * OUT_SCALE), math.floor(crop.shape[1] * OUT_SCALE))
        whole = whole_render(model, crop, out_size, halo=10_000, feature_tile=100_000)
        errors[name] = {}
        for h in halos:
            tiled = whole_render(model, crop, out_size, halo=h, feature_tile=16)
            errors[name][str(h)] = float(np.abs(tiled - whole).max())
            print(f"  {model_id} {name} halo {h}: {errors[name][str(h)]:.2e}", file=sys.stderr)
    worst = {h: max(errors[n][str(h)] for n in errors) for h in halos}
    return {
        "smallest_halo": smallest_passing(worst, TOLERANCE),
        "tolerance": TOLERANCE,
        "receptive_radius": int(model.receptive_radius),
        "current_default_halo": default_halo(model),
        "worst_max_abs_by_halo": {str(h): e for h, e in worst.items()},
        "max_abs_by_crop_and_halo": errors,
        "output_scale": OUT_SCALE,
        "feature_tile": 16,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": machine_info(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.halo", description=__doc__)
    parser.add_argument("--models", nargs="+", help="model ids (default: every available)")
    parser.add_argument("--halos", nargs="+", type=int, default=DEFAULT_HALOS)
    parser.add_argument("--out", type=Path, default=RESULTS / "halo.json")
    args = parser.parse_args(argv)
    if args.models:
        models = args.models
    else:
        from liif_desktop.weights import read_manifest

        models = [m.id for m in read_manifest() if m.available]
    merge_json(
        args.out,
        {
            "about": "Smallest halo (input pixels per side) for which tiled encoding "
            "(feature_tile=16) matches whole-image encoding within the tolerance (max abs, "
            "RGB in [0, 1]) on crops of real images. See benchmarks/README.md."
        },
    )
    for model_id in models:
        result = measure(model_id, sorted(set(args.halos)))
        merge_json(args.out, {"models": {model_id: result}})
        print(
            f"{model_id}: smallest halo {result['smallest_halo']} "
            f"(receptive radius {result['receptive_radius']}, "
            f"default {result['current_default_halo']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

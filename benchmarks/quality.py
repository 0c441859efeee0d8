"""PSNR of LIIF models (and bicubic) on the benchmark sets, merged into results/quality.json.

Usage (from the repository root)::

    nice -n 5 .venv/bin/python -m benchmarks.quality --sets Set5 Set14 B100 --scales 2 3 4 6 8
    nice -n 5 .venv/bin/python -m benchmarks.quality --models edsr-baseline-liif \
        --precision bf16 --sets Set5 Set14 --scales 4

Each run merges its figures into the JSON, so models (or sets, scales, precisions) can be
measured in separate runs. ×2–×4 use the MATLAB-bicubic LR files shipped with the sets (HR
cropped top-left to s × LR size); other scales make the LR with the MATLAB-style
:func:`liif_desktop.imresize.imresize` from the HR cropped to a multiple of s. The output grid
is exactly s × LR size; PSNR per :func:`benchmarks.common.psnr_y` with shave = s, averaged over
the images of a set.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    RESULTS,
    SHIPPED_SCALES,
    crop_to,
    list_pairs,
    load_rgb,
    machine_info,
    merge_json,
    psnr_y,
    to_float,
)

BICUBIC = "bicubic"

#: Figures from elsewhere, for comparison (PSNR dB, Y, shave = scale).
ANCHORS: dict[str, Any] = {
    "original_code_edsr_baseline_liif": {
        "about": "original LIIF code (commit 4c833f8) with the official EDSR-baseline-LIIF "
        "checkpoint, measured on this data (shared/golden/README.md)",
        "Set5": {"x2": 37.99, "x3": 34.40, "x4": 32.24},
        "Set14": {"x2": 33.67, "x3": 30.35, "x4": 28.62},
    },
    "paper_rdn_liif": {
        "about": "LIIF paper (arXiv 2012.09161) Table 2, RDN-LIIF; its x6/x8 LR were made by "
        "the original code's own downsampling, not MATLAB imresize",
        "Set5": {"x2": 38.17, "x3": 34.68, "x4": 32.50, "x6": 29.15, "x8": 27.14},
        "Set14": {"x2": 33.97, "x3": 30.53, "x4": 28.80, "x6": 26.64, "x8": 25.15},
        "B100": {"x2": 32.32, "x3": 29.26, "x4": 27.74, "x6": 25.98, "x8": 24.91},
    },
}


def _matlab_resize() -> Callable[..., np.ndarray] | None:
    try:
        from liif_desktop.imresize import imresize
    except ImportError:
        return None
    return imresize


def make_pair(hr_path: Path, lr_path: Path | None, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(LR, HR) uint8 arrays for one image at ``scale``, HR cropped to s × LR size."""
    hr = load_rgb(hr_path)
    if lr_path is not None:
        lr = load_rgb(lr_path)
        return lr, crop_to(hr, scale * lr.shape[0], scale * lr.shape[1])
    imresize = _matlab_resize()
    if imresize is None:
        raise RuntimeError(f"×{scale} needs liif_desktop.imresize to make the LR images")
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    hr = crop_to(hr, h * scale, w * scale)
    return imresize(hr, output_shape=(h, w)), hr


def bicubic_upscale(lr: np.ndarray, scale: int) -> tuple[np.ndarray, str]:
    """MATLAB-style bicubic ×scale of a uint8 image (8-bit output, as MATLAB gives)."""
    out_shape = (lr.shape[0] * scale, lr.shape[1] * scale)
    imresize = _matlab_resize()
    if imresize is not None:
        return to_float(imresize(lr, output_shape=out_shape)), "matlab-imresize"
    from PIL import Image

    up = Image.fromarray(lr).resize(out_shape[::-1], Image.Resampling.BICUBIC)
    return to_float(np.asarray(up)), "pillow-bicubic"


class ModelUpscaler:
    """Our render path (RegionRenderer + upscale_array) for one model and precision."""

    def __init__(self, model_id: str, precision: str, feature_tile: int) -> None:
        from liif_desktop.weights import load_model

        self.model = load_model(model_id).eval()
        self.precision = precision
        self.feature_tile = feature_tile

    def __call__(self, lr: np.ndarray, scale: int) -> np.ndarray:
        from liif_desktop.render.full import upscale_array
        from liif_desktop.render.region import RegionRenderer

        renderer = RegionRenderer(
            self.model,
            to_float(lr),
            precision=self.precision,  # type: ignore[arg-type]
            feature_tile=self.feature_tile,
        )
        return upscale_array(renderer, (lr.shape[0] * scale, lr.shape[1] * scale))


def available_models() -> list[str]:
    from liif_desktop.weights import read_manifest

    return [m.id for m in read_manifest() if m.available]


def evaluate(
    method: str,
    precision: str,
    set_name: str,
    scale: int,
    upscaler: ModelUpscaler | None,
    limit: int | None,
) -> dict[str, Any]:
    """Mean PSNR of one method on one set at one scale, with per-image figures."""
    pairs = list_pairs(set_name, scale)[:limit]
    per_image: dict[str, float] = {}
    start = time.perf_counter()
    note = "model"
    for pair in pairs:
        lr, hr = make_pair(pair.hr, pair.lr, scale)
        if upscaler is None:
            sr, note = bicubic_upscale(lr, scale)
        else:
            sr = upscaler(lr, scale)
        per_image[pair.name] = round(psnr_y(sr, to_float(hr), shave=scale), 4)
        print(
            f"  {method} {precision} {set_name} x{scale} {pair.name}: {per_image[pair.name]:.3f}",
            file=sys.stderr,
        )
    seconds = time.perf_counter() - start
    lr_source = "shipped MATLAB bicubic" if scale in SHIPPED_SCALES else "liif_desktop.imresize"
    return {
        "psnr": round(float(np.mean(list(per_image.values()))), 4),
        "images": len(per_image),
        "lr": lr_source,
        "upscaler": note if upscaler is None else f"RegionRenderer {precision}",
        "seconds": round(seconds, 1),
        "per_image": per_image,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument(
        "--models",
        nargs="+",
        help=f"model ids and/or {BICUBIC!r} (default: {BICUBIC} + every available model)",
    )
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14", "B100"])
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4, 6, 8])
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--feature-tile", type=int, default=128)
    parser.add_argument("--limit", type=int, help="only the first N images of each set")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    args = parser.parse_args(argv)

    models = args.models or [BICUBIC, *available_models()]
    merge_json(
        args.out,
        {
            "about": "PSNR (dB) on the Y channel (BT.601), shave = scale, float output clamped "
            "to [0, 1]; mean over the images of each set. See benchmarks/README.md.",
            "anchors": ANCHORS,
        },
    )
    for method in models:
        upscaler = None
        precision = "fp32" if method == BICUBIC else args.precision
        if method != BICUBIC:
            upscaler = ModelUpscaler(method, precision, args.feature_tile)
        for set_name in args.sets:
            for scale in args.scales:
                result = evaluate(method, precision, set_name, scale, upscaler, args.limit)
                print(
                    f"{method} {precision} {set_name} x{scale}: {result['psnr']:.3f} dB "
                    f"({result['images']} images, {result['seconds']} s)"
                )
                merge_json(
                    args.out,
                    {
                        "results": {method: {precision: {set_name: {f"x{scale}": result}}}},
                        "machine": {method: machine_info()},
                    },
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

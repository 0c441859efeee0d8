"""Benchmark PSNR of a LIIF model: the paper's protocol.

Inputs are the MATLAB-bicubic LR files ``<Set>/LR_bicubic/X<s>/<name>x<s>.png``; the HR image
is cropped top-left to ``s ×`` the LR size; the prediction is clamped to [0, 1] (not quantised)
and PSNR is computed on the Y channel (BT.601 weights / 256) with ``shave = s`` pixels removed
at each border, then averaged over the images of the set.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liif_desktop.imresize import imresize
from liif_desktop.model import LIIF, load_checkpoint
from liif_desktop.render.full import upscale_array
from liif_desktop.render.region import RegionRenderer
from training.data import load_rgb
from training.embed import edsr_from_embedded_rdn

BENCHMARK_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "benchmark"
_Y_WEIGHTS = np.array([65.738, 129.057, 25.064]) / 256.0


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """PSNR on the Y channel of two (H, W, 3) images in [0, 1], ``shave`` pixels cut per side."""
    diff = (np.clip(sr.astype(np.float64), 0, 1) - hr.astype(np.float64)) @ _Y_WEIGHTS
    if shave > 0:
        diff = diff[shave:-shave, shave:-shave]
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else -10.0 * float(np.log10(mse))


def benchmark_pairs(
    dataset: str, scale: int, root: Path = BENCHMARK_ROOT
) -> list[tuple[str, Path, Path]]:
    """``(name, lr_path, hr_path)`` of a benchmark set at one scale."""
    hr_dir = root / dataset / "HR"
    lr_dir = root / dataset / "LR_bicubic" / f"X{scale}"
    if not hr_dir.is_dir() or not lr_dir.is_dir():
        raise FileNotFoundError(f"benchmark {dataset} x{scale} not found under {root}")
    pairs = []
    for hr in sorted(hr_dir.glob("*.png")):
        lr = lr_dir / f"{hr.stem}x{scale}.png"
        if not lr.is_file():
            raise FileNotFoundError(f"{lr} missing for {hr}")
        pairs.append((hr.stem, lr, hr))
    return pairs


def load_pair(lr_path: Path, hr_path: Path, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """LR and top-left cropped HR as float32 [0, 1] arrays."""
    lr = load_rgb(lr_path)
    hr = load_rgb(hr_path)[: lr.shape[0] * scale, : lr.shape[1] * scale]
    return lr.astype(np.float32) / 255.0, hr.astype(np.float32) / 255.0


def upscale_with_model(model: LIIF, lr: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The whole LIIF output of ``lr`` (encoded in one piece: no halo overhead)."""
    renderer = RegionRenderer(model, lr, halo=0, feature_tile=1 << 16)
    with torch.no_grad():
        return upscale_array(renderer, out_size, tile=1024)


def upscale_bicubic(lr: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """MATLAB-style bicubic upscaling (the usual baseline)."""
    return imresize(lr.astype(np.float64), output_shape=out_size)


Upscaler = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


def evaluate_set(
    upscale: Upscaler,
    dataset: str,
    scale: int,
    root: Path = BENCHMARK_ROOT,
    crop: int | None = None,
    limit: int | None = None,
) -> float:
    """Mean Y-PSNR of ``upscale`` over a benchmark set at one scale.

    Parameters
    ----------
    upscale
        ``f(lr, (H, W)) -> sr``, float32 arrays in [0, 1].
    crop
        If given, evaluate only the central ``crop × crop`` LR window of each image (fast
        validation during training).
    limit
        Use only the first ``limit`` images.
    """
    values = []
    for _, lr_path, hr_path in benchmark_pairs(dataset, scale, root)[:limit]:
        lr, hr = load_pair(lr_path, hr_path, scale)
        if crop is not None:
            top = max(0, (lr.shape[0] - crop) // 2)
            left = max(0, (lr.shape[1] - crop) // 2)
            lr = lr[top : top + crop, left : left + crop]
            hr = hr[top * scale : (top + lr.shape[0]) * scale, left * scale :][
                :, : lr.shape[1] * scale
            ]
        sr = upscale(lr, (hr.shape[0], hr.shape[1]))
        values.append(psnr_y(sr, hr, shave=scale))
    return float(np.mean(values))


def evaluate_model(
    model: LIIF,
    datasets: Sequence[str],
    scales: Iterable[int],
    root: Path = BENCHMARK_ROOT,
    log: Callable[[str], None] = print,
    on_result: Callable[[dict[str, dict[str, float]]], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Mean Y-PSNR per set and scale: ``{"Set5": {"x2": 37.9, ...}, ...}`` (rounded to 0.01).

    ``on_result`` is called with the results so far after each set and scale.
    """
    model.eval()
    results: dict[str, dict[str, float]] = {}
    for dataset in datasets:
        for scale in scales:
            start = time.monotonic()
            value = evaluate_set(
                lambda lr, size: upscale_with_model(model, lr, size), dataset, scale, root
            )
            results.setdefault(dataset, {})[f"x{scale}"] = round(value, 2)
            log(f"{dataset} x{scale}: {value:.3f} dB ({time.monotonic() - start:.0f} s)")
            if on_result is not None:
                on_result(results)
    return results


def tiled_error(model: LIIF, image: np.ndarray, halo: int, scale: int = 2) -> float:
    """Max abs difference between tiled encoding (16 px tiles, ``halo``) and whole-image output."""
    size = (image.shape[0] * scale, image.shape[1] * scale)
    whole = RegionRenderer(model, image, halo=1000, feature_tile=4096)
    tiled = RegionRenderer(model, image, halo=halo, feature_tile=16)
    with torch.no_grad():
        a = upscale_array(whole, size, tile=1024)
        b = upscale_array(tiled, size, tile=1024)
    return float(np.abs(a - b).max())


def smallest_halo(
    model: LIIF, image: np.ndarray, tolerance: float = 1e-3, step: int = 2, start: int = 2
) -> tuple[int, dict[int, float]]:
    """The smallest halo (in ``step`` increments) whose tiled output is within ``tolerance``."""
    errors: dict[int, float] = {}
    halo = start
    while True:
        errors[halo] = tiled_error(model, image, halo)
        if errors[halo] <= tolerance or halo >= model.receptive_radius:
            return halo, errors
        halo += step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark PSNR (Y, shave = scale) of a model")
    parser.add_argument("checkpoint", help="official-format LIIF checkpoint, or 'bicubic'")
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--root", type=Path, default=BENCHMARK_ROOT)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--via-edsr",
        action="store_true",
        help="evaluate an exactly embedded LIIF-RDN through its equivalent EDSR form (checked "
        "weight by weight; the same function at a fraction of the cost)",
    )
    parser.add_argument(
        "--halo",
        action="store_true",
        help="instead: the smallest halo for tiled encoding to match (1e-3) on a 64 px crop",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.halo:
        model = load_checkpoint(args.checkpoint)
        pairs = benchmark_pairs("Set14", 4, args.root)
        lr, _ = load_pair(pairs[0][1], pairs[0][2], 4)
        crop = lr[:64, :64]
        halo, errors = smallest_halo(model, crop)
        for h, err in errors.items():
            print(f"halo {h}: max abs error {err:.2e}", flush=True)
        payload: dict[str, Any] = {
            "checkpoint": str(args.checkpoint),
            "input": f"{pairs[0][0]} x4 LR, top-left 64x64; output x2; feature_tile 16",
            "tolerance": 1e-3,
            "smallest_halo": halo,
            "max_abs_error": {str(h): e for h, e in errors.items()},
        }
    elif args.checkpoint == "bicubic":
        results: dict[str, Any] = {}
        for dataset in args.sets:
            for scale in args.scales:
                value = evaluate_set(upscale_bicubic, dataset, scale, args.root)
                results.setdefault(dataset, {})[f"x{scale}"] = round(value, 2)
                print(f"{dataset} x{scale}: {value:.3f} dB", flush=True)
    else:
        model = load_checkpoint(args.checkpoint)
        if args.via_edsr:
            model = edsr_from_embedded_rdn(model)
        results = evaluate_model(
            model, args.sets, args.scales, args.root, lambda s: print(s, flush=True)
        )
    if not args.halo:
        payload = {
            "checkpoint": str(args.checkpoint),
            "evaluated_as": "equivalent EDSR form" if args.via_edsr else "as stored",
            "metric": "PSNR dB, Y channel, shave = scale, MATLAB-bicubic LR",
            "results": results,
        }
    text = json.dumps(payload, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

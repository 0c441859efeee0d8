"""PSNR on real-file inputs: the benchmark LR degraded as phone/web images are, into
results/realworld.json.

Usage (from the repository root)::

    nice -n 19 .venv/bin/python -m benchmarks.realworld --sets Set14 B100 --scales 4 \
        --settings jpeg75 mixed jpeg60_444 webp70 --models bicubic edsr-baseline-liif

The LR of Set5, Set14 and B100 at ×2/×3/×4 is the MATLAB-bicubic file shipped with the set
(:func:`benchmarks.quality.make_pair`), then degraded per :data:`SETTINGS`: JPEG 50/75/90
(Pillow, 4:2:0), ``mixed`` (Gaussian blur σ = 0.8 LR px, Gaussian noise σ = 5/255, JPEG 75 4:2:0;
the noise is seeded per set, scale and image), and two settings the real-inputs training never
sees: JPEG 60 with 4:4:4 chroma and WebP 70. ``clean`` is the LR as shipped. The degraded LR is
restored to s × its size by MATLAB bicubic or by a model (our ``RegionRenderer`` path, always
fp32) and scored by Y PSNR against the HR, shave = s, as :mod:`benchmarks.quality` does.
Each run merges its figures into the JSON, so cells can be measured in separate runs.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, list_pairs, machine_info, merge_json, psnr_y, to_float
from benchmarks.quality import BICUBIC, ModelUpscaler, available_models, bicubic_upscale, make_pair
from liif_desktop.cpuinfo import cpu_flags
from training.degrade import encode, gaussian_blur, gaussian_noise

SEED = 2027
MIXED_BLUR_SIGMA = 0.8
MIXED_NOISE_SIGMA = 5.0

Setting = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _jpeg(quality: int, subsampling: int = 2) -> Setting:
    return lambda lr, rng: encode(lr, "JPEG", quality, subsampling)


def _mixed(lr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = gaussian_noise(gaussian_blur(lr, MIXED_BLUR_SIGMA), MIXED_NOISE_SIGMA, rng)
    return encode(noisy, "JPEG", 75, 2)


#: Name -> degradation of the shipped LR (the generator is seeded per image).
SETTINGS: dict[str, Setting] = {
    "clean": lambda lr, rng: lr,
    "jpeg50": _jpeg(50),
    "jpeg75": _jpeg(75),
    "jpeg90": _jpeg(90),
    "mixed": _mixed,
    "jpeg60_444": _jpeg(60, subsampling=0),
    "webp70": lambda lr, rng: encode(lr, "WEBP", 70),
}
#: Settings the real-inputs training never sees (another chroma layout, another codec).
UNSEEN = ("jpeg60_444", "webp70")


def image_rng(set_name: str, scale: int, image: str, setting: str) -> np.random.Generator:
    """The generator of one degraded image: fixed by :data:`SEED` and the image's identity."""
    key = zlib.crc32(f"{set_name}/x{scale}/{image}/{setting}".encode())
    return np.random.default_rng([SEED, key])


def degraded_lr(lr: np.ndarray, set_name: str, scale: int, image: str, setting: str) -> np.ndarray:
    """The LR of one benchmark image under ``setting`` (deterministic)."""
    return SETTINGS[setting](lr, image_rng(set_name, scale, image, setting))


def evaluate(
    method: str,
    set_name: str,
    scale: int,
    setting: str,
    upscaler: ModelUpscaler | None,
    limit: int | None,
) -> dict[str, Any]:
    """Mean Y PSNR of one method on one set, scale and setting, with per-image figures."""
    per_image: dict[str, float] = {}
    start = time.perf_counter()
    for pair in list_pairs(set_name, scale)[:limit]:
        lr, hr = make_pair(pair.hr, pair.lr, scale)
        lr = degraded_lr(lr, set_name, scale, pair.name, setting)
        sr = bicubic_upscale(lr, scale)[0] if upscaler is None else upscaler(lr, scale)
        per_image[pair.name] = round(psnr_y(sr, to_float(hr), shave=scale), 4)
    return {
        "psnr": round(float(np.mean(list(per_image.values()))), 4),
        "images": len(per_image),
        "seconds": round(time.perf_counter() - start, 1),
        "per_image": per_image,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realworld", description=__doc__)
    parser.add_argument(
        "--models",
        nargs="+",
        help=f"model ids, checkpoint paths and/or {BICUBIC!r} (default: bicubic + all available)",
    )
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14", "B100"])
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4], choices=[2, 3, 4])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--limit", type=int, help="only the first N images of each set")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS / "realworld.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    merge_json(
        args.out,
        {
            "about": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
            "settings": {
                "seed": SEED,
                "mixed": f"Gaussian blur sigma {MIXED_BLUR_SIGMA} LR px (Pillow), Gaussian "
                f"noise sigma {MIXED_NOISE_SIGMA}/255, JPEG 75 4:2:0",
                "unseen_by_training": list(UNSEEN),
                "precision": "fp32",
            },
        },
    )
    for method in args.models or [BICUBIC, *available_models()]:
        upscaler = None if method == BICUBIC else ModelUpscaler(method, "fp32", 128)
        name = Path(method).stem if method.endswith(".pth") else method
        for set_name in args.sets:
            for scale in args.scales:
                for setting in args.settings:
                    result = evaluate(method, set_name, scale, setting, upscaler, args.limit)
                    print(
                        f"{name} {set_name} x{scale} {setting}: {result['psnr']:.3f} dB "
                        f"({result['images']} images, {result['seconds']} s)",
                        flush=True,
                    )
                    merge_json(
                        args.out,
                        {
                            "results": {name: {set_name: {f"x{scale}": {setting: result}}}},
                            "machine": {name: {**machine_info(), "cpu_flags": cpu_flags()}},
                        },
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

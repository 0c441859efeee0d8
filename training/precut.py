"""Pre-cut training samples into one ``.npz`` for a run on a machine without the data.

Usage::

    python -m training.precut training/configs/rdn-liif-gpu.json

writes ``data.npz`` of the config (LR patches, query pixel indices, HR colours, crop sizes; all
integers, no augmentation: :class:`training.train.NpzSampler` flips and transposes on the fly)
and copies the validation set's HR and LR files beside it (``val.root`` of the config), so the
folder can travel to a GPU machine on its own. Nothing is written inside the repository's
tracked tree: use a path under ``training/runs/``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from training.data import PatchSampler, load_training_images
from training.evaluate import BENCHMARK_ROOT, benchmark_pairs
from training.train import load_config, resolve

#: Bytes per sample with 48 px patches and 2304 queries: LR + int16 indices + uint8 colours.
BYTES_PER_SAMPLE = 48 * 48 * 3 + 2304 * 2 * 2 + 2304 * 3


def precut(sampler: PatchSampler, count: int, seed: int) -> dict[str, np.ndarray]:
    """``count`` samples drawn with a seeded generator, as arrays for :func:`numpy.savez`."""
    rng = np.random.default_rng([seed, 1_000_003])
    lrs, indices, gts, sizes = [], [], [], []
    for _ in range(count):
        lr, rows_cols, gt, hr_size = sampler.sample_raw(rng)
        lrs.append(lr)
        indices.append(rows_cols.astype(np.int16))
        gts.append(gt)
        sizes.append(hr_size)
    q = min(len(i) for i in indices)
    return {
        "lr": np.stack(lrs),
        "index": np.stack([i[:q] for i in indices]),
        "gt": np.stack([g[:q] for g in gts]),
        "hr_size": np.array(sizes, dtype=np.int16),
    }


def copy_validation_set(dataset: str, scales: list[int], target_root: Path) -> None:
    """Copy a benchmark set's HR and LR files (same layout) under ``target_root``."""
    for scale in scales:
        for _, lr_path, hr_path in benchmark_pairs(dataset, scale):
            for src in (lr_path, hr_path):
                dst = target_root / src.relative_to(BENCHMARK_ROOT)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pre-cut training samples into an .npz")
    parser.add_argument("config", type=Path)
    parser.add_argument(
        "--max-mb",
        type=float,
        default=12.0,
        help="size budget of the .npz (the device tool carries 64 MiB, tree included)",
    )
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    data = cfg["data"]
    out = resolve(data["npz"])
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    images = load_training_images([resolve(f) for f in data["folders"]], limit=data["limit"])
    sampler = PatchSampler(
        images, data["lr_size"], tuple(data["scale_range"]), data["n_queries"], augment=True
    )
    per_sample = data["lr_size"] ** 2 * 3 + data["n_queries"] * 7
    count = int(args.max_mb * 1e6 // per_sample)
    arrays = precut(sampler, count, cfg["seed"])
    np.savez(out, **arrays)  # type: ignore[arg-type]
    print(
        f"{count} samples from {len(images)} images -> {out} "
        f"({out.stat().st_size / 1e6:.1f} MB, {time.monotonic() - start:.0f} s)"
    )
    if cfg["val"]["root"]:
        val = cfg["val"]
        root = resolve(val["root"])
        copy_validation_set(val["dataset"], [int(val["scale"])], root)
        for dataset in cfg["final_eval"]["sets"]:
            copy_validation_set(dataset, list(cfg["final_eval"]["scales"]), root)
        print(f"benchmark files copied under {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

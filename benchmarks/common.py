"""Helpers shared by the benchmarks: data set listing, Y-channel PSNR, JSON results.

The PSNR follows the LIIF evaluation convention for the benchmark sets: images in [0, 1], the
difference SR − HR converted to luma with the BT.601 weights (65.738, 129.057, 25.064) / 256
(the offset of 16 cancels in a difference), ``shave`` pixels dropped on each side, and
``PSNR = -10 log10(MSE)``. The output is compared as float (clamped to [0, 1]), not rounded to
8 bits, as the original code does.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BENCHMARK_DATA = SHARED / "data" / "benchmark"
RESULTS = Path(__file__).resolve().parent / "results"

#: BT.601 luma weights on [0, 1] RGB (of 255-scaled values divided by 256).
Y_WEIGHTS = np.array([65.738, 129.057, 25.064], dtype=np.float64) / 256.0

#: Scales whose LR images ship with the data set (MATLAB bicubic).
SHIPPED_SCALES = (2, 3, 4)


@dataclass(frozen=True)
class ImagePair:
    """One benchmark image: its HR file and, for shipped scales, its LR file."""

    name: str
    hr: Path
    lr: Path | None


def list_pairs(set_name: str, scale: int, root: Path = BENCHMARK_DATA) -> list[ImagePair]:
    """Images of a benchmark set, sorted by name.

    For scales in :data:`SHIPPED_SCALES` the LR file is ``LR_bicubic/X<s>/<name>x<s>.png``
    (it must exist); for other scales ``lr`` is None and the caller makes the LR.
    """
    hr_dir = root / set_name / "HR"
    if not hr_dir.is_dir():
        raise FileNotFoundError(f"benchmark set {set_name!r} not found at {hr_dir}")
    pairs = []
    for hr in sorted(hr_dir.glob("*.png")):
        lr = None
        if scale in SHIPPED_SCALES:
            lr = root / set_name / "LR_bicubic" / f"X{scale}" / f"{hr.stem}x{scale}.png"
            if not lr.is_file():
                raise FileNotFoundError(f"missing LR image {lr}")
        pairs.append(ImagePair(hr.stem, hr, lr))
    return pairs


def load_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB (grey images are expanded)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) → float32 in [0, 1]."""
    return image.astype(np.float32) / 255.0


def crop_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Top-left crop to ``height × width`` (must not be larger than the image)."""
    if image.shape[0] < height or image.shape[1] < width:
        raise ValueError(f"cannot crop {image.shape[:2]} to {(height, width)}")
    return image[:height, :width]


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """Y-channel PSNR in dB of two (H, W, 3) images in [0, 1], ``shave`` pixels cut per side.

    Raises
    ------
    ValueError
        If the shapes differ or the shave leaves no pixels.
    """
    if sr.shape != hr.shape or sr.ndim != 3 or sr.shape[2] != 3:
        raise ValueError(f"shape mismatch: {sr.shape} vs {hr.shape}")
    h, w = sr.shape[:2]
    if 2 * shave >= h or 2 * shave >= w:
        raise ValueError(f"shave {shave} leaves nothing of a {h}×{w} image")
    diff = sr.astype(np.float64) - hr.astype(np.float64)
    y = diff @ Y_WEIGHTS
    if shave:
        y = y[shave:-shave, shave:-shave]
    mse = float(np.mean(y * y))
    if mse == 0.0:
        return float("inf")
    return -10.0 * float(np.log10(mse))


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kib) * (1 if sys.platform == "darwin" else 1024)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """Where and when a result was measured."""
    import torch  # imported here so the PSNR helpers stay usable without torch

    from liif_desktop.cpuinfo import cpu_flags

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        # speed facts hold per CPU: whether bf16 runs natively decides the precision
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        info["load_average_1m"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically (temporary file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8"
    ) as fh:
        json.dump(data, fh, indent=2, sort_keys=False)
        fh.write("\n")
    Path(fh.name).replace(path)


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in: nested dicts merge, other values are replaced."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def merge_json(path: Path, update: dict[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into the JSON object stored at ``path`` (created if absent)."""
    base: dict[str, Any] = {}
    if path.is_file():
        base = json.loads(path.read_text(encoding="utf-8"))
    merged = deep_merge(base, update)
    write_json(path, merged)
    return merged

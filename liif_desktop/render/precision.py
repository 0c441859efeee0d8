"""Choosing the compute precision per machine, by measuring rather than by a constant.

bf16 halves the work of the MLP on CPUs with native bf16 matrix instructions (AVX512_BF16,
AMX) and on GPUs, and is several times *slower* where it is emulated. ``'auto'`` times the
same small LIIF-shaped workload (the MLP's hidden layers and an encoder convolution) in both
types and keeps bf16 only where it wins by a clear margin. The answer is cached per CPU model,
torch version, device and thread count, so the calibration (well under a second) runs once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from liif_desktop.cpuinfo import cpu_flags, cpu_model, user_cache_dir
from liif_desktop.render.region import Precision

log = logging.getLogger(__name__)

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
#: bf16 must be at least this much faster to be chosen (it costs a little accuracy).
MIN_GAIN = 1.15
CACHE_FILE = "precision.json"


@dataclass(frozen=True)
class Calibration:
    """What a calibration measured and chose.

    Attributes
    ----------
    choice
        ``'fp32'`` or ``'bf16'``.
    fp32_s, bf16_s
        Seconds of the same workload in each type (best of the repeats).
    key
        The machine the figures hold for (CPU model, torch version, device, threads).
    """

    choice: str
    fp32_s: float
    bf16_s: float
    key: str

    @property
    def speedup(self) -> float:
        """fp32 time over bf16 time (> 1: bf16 is faster)."""
        return self.fp32_s / self.bf16_s if self.bf16_s > 0 else 0.0


def machine_key(device: torch.device) -> str:
    """What a calibration depends on: CPU model, torch version, device and threads."""
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"{cpu_model()}|torch {torch.__version__}|{where}|{torch.get_num_threads()} threads"


def liif_workload(device: torch.device, queries: int = 2048) -> Callable[[torch.dtype], None]:
    """A small LIIF-shaped workload: 3 hidden 256×256 layers on ``queries`` rows and one
    64-channel 3×3 convolution on a 48² grid, in the dtype it is called with."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(queries, 256, generator=gen)
    w = torch.randn(256, 256, generator=gen) * 0.06
    image = torch.randn(1, 64, 48, 48, generator=gen)
    kernel = torch.randn(64, 64, 3, 3, generator=gen) * 0.04
    tensors: dict[torch.dtype, tuple[torch.Tensor, ...]] = {}

    def run(dtype: torch.dtype) -> None:
        if dtype not in tensors:
            tensors[dtype] = tuple(t.to(device=device, dtype=dtype) for t in (x, w, image, kernel))
        xd, wd, imd, kd = tensors[dtype]
        with torch.inference_mode():
            h = xd
            for _ in range(3):
                h = torch.relu_(F.linear(h, wd))
            F.conv2d(imd, kd, padding=1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return run


def calibrate(
    run: Callable[[torch.dtype], None],
    key: str = "",
    *,
    repeats: int = 3,
    timer: Callable[[], float] = time.perf_counter,
) -> Calibration:
    """Time ``run`` in float32 and bfloat16 and choose.

    Parameters
    ----------
    run
        Does the same work in the dtype it is given (see :func:`liif_workload`).
    key
        Recorded in the result (see :func:`machine_key`).
    repeats
        Timed runs per dtype after one warm-up; the best counts.
    timer
        The clock (tests pass a fake one).
    """
    best = {}
    for dtype in (torch.float32, torch.bfloat16):
        run(dtype)  # warm-up: kernels chosen, memory allocated
        times = []
        for _ in range(repeats):
            t0 = timer()
            run(dtype)
            times.append(timer() - t0)
        best[dtype] = min(times)
    fp32_s, bf16_s = best[torch.float32], best[torch.bfloat16]
    choice = "bf16" if bf16_s * MIN_GAIN <= fp32_s else "fp32"
    return Calibration(choice, fp32_s, bf16_s, key)


def _cache_path(cache_dir: Path | None) -> Path:
    return (cache_dir or user_cache_dir()) / CACHE_FILE


def _read_cache(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_calibration(
    device: torch.device | str = "cpu",
    *,
    cache_dir: Path | None = None,
    run: Callable[[torch.dtype], None] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Calibration:
    """The calibration for this machine: from the cache, or measured now and cached."""
    device = torch.device(device)
    key = machine_key(device)
    path = _cache_path(cache_dir)
    entry = _read_cache(path).get(key)
    if isinstance(entry, dict):
        try:
            return Calibration(
                str(entry["choice"]),
                float(entry["fp32_s"]),  # type: ignore[arg-type]
                float(entry["bf16_s"]),  # type: ignore[arg-type]
                key,
            )
        except (KeyError, TypeError, ValueError):
            pass
    result = calibrate(run or liif_workload(device), key, timer=timer)
    log.info(
        "precision calibration on %s: fp32 %.1f ms, bf16 %.1f ms -> %s",
        key,
        1000 * result.fp32_s,
        1000 * result.bf16_s,
        result.choice,
    )
    try:
        data = _read_cache(path)
        data[key] = {k: v for k, v in asdict(result).items() if k != "key"}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{id(result)}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only home still gets the measured choice
        log.warning("could not cache the precision calibration: %s", exc)
    return result


def resolve_precision(
    requested: str,
    device: torch.device | str = "cpu",
    *,
    cache_dir: Path | None = None,
) -> Precision:
    """The precision to run: ``requested`` itself, or for ``'auto'`` the calibrated choice.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; use one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested  # type: ignore[return-value]
    return cached_calibration(device, cache_dir=cache_dir).choice  # type: ignore[return-value]


def describe_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """A short label for the status bar, e.g. ``'fp32'`` or ``'bf16 (AVX512_BF16)'``."""
    if precision != "bf16" or torch.device(device).type != "cpu":
        return precision
    flags = cpu_flags()
    native = [name.upper() for name in ("amx_bf16", "avx512_bf16") if flags.get(name)]
    return f"bf16 ({native[0]})" if native else "bf16"


__all__ = [
    "PRECISIONS",
    "Calibration",
    "cached_calibration",
    "calibrate",
    "describe_precision",
    "liif_workload",
    "machine_key",
    "resolve_precision",
]

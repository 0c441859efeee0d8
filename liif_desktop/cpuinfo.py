"""What processor this is, and where per-user caches live (standard library only).

Speed facts hold per CPU (an Intel Xeon without native bf16 and an AMD EPYC Zen 4 with
AVX512_BF16 rank fp32 and bf16 the other way round), so measured choices are cached under a
key naming the CPU, and every benchmark result records the model and its bf16/AMX flags.
"""

from __future__ import annotations

import os
import platform
import sys
from functools import cache
from pathlib import Path

#: The instruction-set flags that decide which precision is fast.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


@cache
def _cpuinfo_lines() -> tuple[str, ...]:
    try:
        return tuple(Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()


def cpu_model() -> str:
    """The processor's marketing name, e.g. ``'AMD EPYC 9R14'`` (best effort)."""
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> dict[str, bool]:
    """Which of :data:`SPEED_FLAGS` the processor reports (all False where unknown)."""
    flags: set[str] = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return {name: name in flags for name in SPEED_FLAGS}


def user_cache_dir() -> Path:
    """The per-user cache folder of the app (created on demand by the callers).

    ``LIIF_DESKTOP_CACHE`` overrides it (tests point it at a temporary folder).
    """
    override = os.environ.get("LIIF_DESKTOP_CACHE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "liif-desktop" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "liif-desktop"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liif-desktop"


__all__ = ["SPEED_FLAGS", "cpu_flags", "cpu_model", "user_cache_dir"]

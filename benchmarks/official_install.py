"""Installing the authors' LIIF-RDN: time per stage on a full-size stand-in of their file.

The real ``rdn-liif.pth`` is not available here, so this builds a file of its layout and size:
LIIF with RDN config B and the 4×256 MLP (22.3 M parameters), Adam state for every parameter,
an epoch; random weights. Its size and sha256 are injected as the published ones, then
:func:`liif_desktop.official.install_download` runs on it as the dialog runs it. Records each
stage's start (wall and process CPU seconds), the sizes, and whether the installed copy gives
exactly the download's output.

Run: ``nice -n 5 .venv/bin/python -m benchmarks.official_install`` (writes
``benchmarks/results/official_install.json``; about 30 s and 0.6 GB of temporary files).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import REPO, machine_info, write_json

SPEC = {
    "encoder_spec": {"name": "rdn", "args": {"no_upsampling": True}},
    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [256, 256, 256, 256]}},
}


def cpu_flags() -> dict[str, bool]:
    """The bf16-related CPU flags (they change what bf16 costs; recorded with every result)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    flags = set(next((ln for ln in text.splitlines() if ln.startswith("flags")), "").split())
    return {name: name in flags for name in ("avx512_bf16", "amx_bf16")}


def write_stand_in(path: Path) -> None:
    """A training save laid out like the authors' file (model, optimizer, epoch)."""
    from liif_desktop.model import build_liif

    torch.manual_seed(0)
    model = build_liif(SPEC)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    optimizer.step()
    torch.save(
        {
            "model": {"name": "liif", "args": SPEC, "sd": model.state_dict()},
            "optimizer": {"name": "adam", "args": {"lr": 1e-4}, "sd": optimizer.state_dict()},
            "epoch": 1000,
        },
        path,
    )


def measure(folder: Path) -> dict[str, Any]:
    os.environ["LIIF_DESKTOP_DATA"] = str(folder / "data")
    from liif_desktop import official
    from liif_desktop.model import load_checkpoint
    from liif_desktop.render.full import upscale_array
    from liif_desktop.render.region import RegionRenderer

    source = folder / "rdn-liif.pth"
    write_stand_in(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stand_in = dataclasses.replace(official.OFFICIAL_RDN, size=source.stat().st_size, sha256=digest)
    stages: dict[str, dict[str, float]] = {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for step in official.install_download(source, official=stand_in):
        if step.stage not in stages:
            stages[step.stage] = {
                "wall_s": round(time.perf_counter() - wall0, 2),
                "cpu_s": round(time.process_time() - cpu0, 2),
            }
    installed = official.official_dir() / stand_in.file_name
    image = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    outputs = [
        upscale_array(RegionRenderer(load_checkpoint(p), image), (40, 40))
        for p in (source, installed)
    ]
    return {
        "download_bytes": source.stat().st_size,
        "published_bytes": official.OFFICIAL_RDN.size,
        "installed_bytes": installed.stat().st_size,
        "stage_start": stages,
        "same_output_as_download": bool(np.array_equal(*outputs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks/results/official_install.json"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(Path(tmp))
    write_json(args.out, {"machine": {**machine_info(), **cpu_flags()}, **result})
    print(args.out.read_text())


if __name__ == "__main__":
    main()

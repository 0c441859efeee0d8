"""Which packages set-up's torch install resolves to, with the local pip configuration off.

Runs ``pip install --dry-run --report`` with exactly the arguments ``scripts/setup.py`` uses
(``--print-torch-args``): the PyTorch CPU index first, then the package-index fallback; with
``PIP_CONFIG_FILE=/dev/null --isolated`` so no local configuration can hide a CUDA build, and,
for comparison, the fallback with this machine's configuration. ``--cpu-index`` points the first
attempt at a mirror laid out like https://download.pytorch.org/whl/cpu (on a machine that cannot
reach it). Writes ``benchmarks/results/torch_resolution.json``.

    .venv/bin/python -m benchmarks.torch_resolution [--cpu-index file:///path/to/mirror]
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

from benchmarks.common import RESULTS, machine_info, merge_json

REPO = Path(__file__).resolve().parent.parent
CUDA_PREFIXES = ("nvidia", "cuda", "triton")
RUNS = (
    "cpu_index_isolated",
    "fallback_isolated",
    "fallback_local_config",
    "cpu_index_mirror_isolated",
)


def torch_args(cpu_index: str | None) -> list[list[str]]:
    env = dict(os.environ)
    if cpu_index:
        env["TORCH_CPU_INDEX"] = cpu_index
    script = [sys.executable, str(REPO / "scripts" / "setup.py"), "--print-torch-args"]
    out = subprocess.run(script, capture_output=True, text=True, check=True, env=env).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def dry_run(args: list[str], isolated: bool) -> dict[str, Any]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        cmd += ["--quiet", "--report", str(report)]
        if isolated:
            env["PIP_CONFIG_FILE"] = os.devnull
            cmd.append("--isolated")
        start = time.monotonic()
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env)
        result: dict[str, Any] = {
            "command": ("PIP_CONFIG_FILE=/dev/null " if isolated else "")
            + " ".join(["pip", *cmd[3:], *args]).replace(str(report), "report.json"),
            "returncode": done.returncode,
            "seconds": round(time.monotonic() - start, 1),
        }
        if done.returncode != 0:
            result["error"] = done.stderr.strip().splitlines()[-1:] or [""]
            return result
        installs = json.loads(report.read_text())["install"]
    names = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in installs]
    cuda = [n for n in names if n.lower().startswith(CUDA_PREFIXES)]
    result.update(error=None, packages=names, cuda_packages=cuda, cuda_count=len(cuda))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-index", help="a mirror of the PyTorch CPU index to try as well")
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=list(RUNS),
        default=list(RUNS),
        help="which dry runs (each is merged into the JSON on its own)",
    )
    args = parser.parse_args(argv)
    attempts = torch_args(None)
    plans = {
        "cpu_index_isolated": (attempts[0], True),
        "fallback_isolated": (attempts[-1], True),
        "fallback_local_config": (attempts[-1], False),
        "cpu_index_mirror_isolated": (torch_args(args.cpu_index)[0], True),
    }
    runs = {}
    for name in args.runs:
        if name == "cpu_index_mirror_isolated" and not args.cpu_index:
            continue
        runs[name] = dry_run(*plans[name])
        merge_json(
            RESULTS / "torch_resolution.json",
            {"machine": machine_info(), "setup_attempts": attempts, "runs": {name: runs[name]}},
        )
    for name, run in runs.items():
        summary = run.get("error") or f"{len(run['packages'])} packages, {run['cuda_count']} CUDA"
        print(f"{name:28} rc={run['returncode']} {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

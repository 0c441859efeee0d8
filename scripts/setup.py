"""Set up a checkout and run it: the same steps as ``make setup`` / ``make run`` / ``make test``,
for every system including Windows (standard library only; run it with Python >= 3.10).

    python scripts/setup.py run [ARGS...]     # set up, then open the app
    python scripts/setup.py test [ARGS...]    # set up, then run the tests
    python scripts/setup.py setup [--torch cuda]

Set-up creates ``.venv`` (``LIIF_VENV`` overrides), installs PyTorch, the app with its GUI and
dev extras, and fetches the official weights. Each step runs again only when what it depends on
changed (``pyproject.toml``, the torch choice, the weights manifest and files): a stamp file in
the virtual environment records what was done.

PyTorch: on Linux the package index's ``torch`` is the CUDA build (about 17 extra CUDA packages,
several GB), so the CPU build comes from the PyTorch CPU index; where that index cannot be
reached the package index is used, with one warning. ``--torch cuda`` asks for the CUDA build.
On Windows and macOS the package index's ``torch`` is already CPU-sized.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_VERSION = "2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXTRAS = ".[gui,dev]"
STAMP_NAME = ".liif-setup.json"


def venv_dir() -> Path:
    return Path(os.environ.get("LIIF_VENV", ROOT / ".venv"))


def venv_python(venv: Path, system: str | None = None) -> Path:
    """The interpreter inside ``venv`` (``Scripts\\python.exe`` on Windows)."""
    if (system or platform.system()) == "Windows":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def torch_attempts(
    kind: str, system: str | None = None, cpu_index: str | None = None
) -> list[list[str]]:
    """``pip install`` arguments for torch, in the order to try them.

    Parameters
    ----------
    kind
        ``'cpu'`` or ``'cuda'``.
    system
        ``platform.system()`` of the target (default: this one).
    cpu_index
        The PyTorch CPU wheel index (default: ``TORCH_CPU_INDEX`` from the environment, a
        mirror of it, else :data:`TORCH_CPU_INDEX`).

    Returns
    -------
    list of list of str
        On Linux with ``kind='cpu'``: the CPU index first, then the package index (the
        fallback). Elsewhere, or for ``'cuda'``: the package index only.
    """
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"--torch must be cpu or cuda, not {kind!r}")
    pin = f"torch=={TORCH_VERSION}"
    if kind == "cpu" and (system or platform.system()) == "Linux":
        index = cpu_index or os.environ.get("TORCH_CPU_INDEX") or TORCH_CPU_INDEX
        return [["--index-url", index, pin], [pin]]
    return [[pin]]


def fingerprint(paths: list[Path]) -> str:
    """A short digest of the files' names, sizes and modification times (missing ones too)."""
    h = hashlib.sha256()
    for path in sorted(paths):
        try:
            st = path.stat()
            h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(f"{path.name}:missing;".encode())
    return h.hexdigest()[:16]


def install_key(kind: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"torch={TORCH_VERSION}/{kind};pyproject={digest}"


def weights_key(root: Path = ROOT) -> str:
    folder = root / "weights"
    return fingerprint([folder / "manifest.json", *folder.glob("*.pth")])


def read_stamp(venv: Path) -> dict[str, str]:
    try:
        data = json.loads((venv / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_stamp(venv: Path, stamp: dict[str, str]) -> None:
    (venv / STAMP_NAME).write_text(json.dumps(stamp, indent=1))


def _run(cmd: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def _warn(text: str) -> None:
    print(f"\nWARNING: {text}\n", file=sys.stderr, flush=True)


def create_venv(venv: Path) -> Path:
    py = venv_python(venv)
    if py.exists():
        return py
    if _run([sys.executable, "-m", "venv", venv]).returncode != 0 or not py.exists():
        hint = (
            "On Debian/Ubuntu: sudo apt install python3-venv"
            if platform.system() == "Linux"
            else "Install Python from python.org (it includes venv)."
        )
        sys.exit(f"error: could not create the virtual environment {venv}. {hint}")
    _run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    return py


def install_torch(py: Path, kind: str) -> None:
    attempts = torch_attempts(kind)
    for i, args in enumerate(attempts):
        if i > 0:
            _warn(
                f"the PyTorch CPU index ({attempts[0][1]}) could not be used; installing torch "
                f"{TORCH_VERSION} from your package index instead. On Linux that is the CUDA "
                "build (several GB) unless your pip configuration offers a CPU wheel. To get "
                "the CPU build later: delete .venv and rerun where the index is reachable, or "
                "set TORCH_CPU_INDEX to a mirror of it."
            )
        # An unreachable index must fail fast (pip's default is 5 retries of 15 s each).
        quick = ["--retries", "1", "--timeout", "10"] if i < len(attempts) - 1 else []
        if _run([py, "-m", "pip", "install", "--quiet", *quick, *args]).returncode == 0:
            return
    sys.exit("error: could not install torch (see pip's message above)")


def setup(kind: str) -> Path:
    """Create or update the virtual environment and the weights; returns its interpreter."""
    venv = venv_dir()
    py = create_venv(venv)
    stamp = read_stamp(venv)
    key = install_key(kind)
    if stamp.get("install") != key:
        install_torch(py, kind)
        pin = f"torch=={TORCH_VERSION}"
        _run([py, "-m", "pip", "install", "--quiet", "-e", EXTRAS, pin], check=True)
        stamp = {"install": key}
        write_stamp(venv, stamp)
    if stamp.get("weights") != weights_key():
        # Imports torch and hashes every file (seconds): only when a weights file changed.
        if _run([py, "-m", "liif_desktop.weights", "fetch"]).returncode != 0:
            sys.exit("error: the model weights could not be fetched or verified")
        stamp["weights"] = weights_key()
        write_stamp(venv, stamp)
    return py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/setup.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", default="setup", choices=["setup", "run", "test"])
    parser.add_argument(
        "--torch",
        default=os.environ.get("TORCH", "cpu"),
        choices=["cpu", "cuda"],
        help="PyTorch build (default cpu; the TORCH variable sets it too)",
    )
    parser.add_argument(
        "--print-torch-args",
        action="store_true",
        help="print the pip arguments for torch (one attempt per line) and exit",
    )
    args, rest = parser.parse_known_args(argv)
    if args.print_torch_args:
        for attempt in torch_attempts(args.torch):
            print(" ".join(attempt))
        return 0
    py = setup(args.torch)
    if args.command == "run":
        return subprocess.call([str(py), "-m", "liif_desktop.app", *rest], cwd=ROOT)
    if args.command == "test":
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        cmd = [str(py), "-m", "pytest", "-q", "-m", "not slow", *rest]
        return subprocess.call(cmd, cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

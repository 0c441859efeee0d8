"""The authors' LIIF-RDN checkpoint: recognising their download and installing its model part.

The LIIF authors publish ``rdn-liif.pth`` on a file host linked from their repository's README,
so set-up cannot fetch it. A user downloads it and hands it to :func:`install_download` (Model ▸
Get the official LIIF-RDN… in the app, or ``python -m liif_desktop.official PATH``). The file is
a training save, ``{'model': {'name', 'args', 'sd'}, 'optimizer': …, 'epoch': …}``; about two
thirds of it is optimizer state, which is left out: the installed copy is
``{'model': {'name': 'liif', 'args', 'sd'}}``, the official layout the original code loads.

A file whose size and sha256 are not the published ones is not the authors' file: it goes
through the normal validated "Add checkpoint…" path as a user model. No Qt here.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from liif_desktop.filecopy import sha256_steps, write_chunks_atomically
from liif_desktop.model.checkpoint import (
    CheckpointError,
    check_weights_fit,
    load_checkpoint,
    read_checkpoint,
    validate_checkpoint,
)
from liif_desktop.model.stop import Cancelled, check
from liif_desktop.weights import ModelInfo, WeightsError, add_user_checkpoint_steps, user_models_dir

StopCheck = Callable[[], bool] | None

_PAPER_METRIC = (
    "PSNR dB, Y channel: the paper's figures (Chen et al. 2021, Tables 1–2), not measured by "
    "LIIF Desktop"
)


@dataclass(frozen=True)
class OfficialFile:
    """A checkpoint the authors publish that users download themselves.

    Attributes
    ----------
    id
        Catalogue id once installed (``'rdn-liif'``).
    file_name
        The published file's name, also the installed copy's.
    size, sha256
        The published file's byte count and digest: a download is recognised by both.
    page
        Where the authors link the file.
    quality
        The paper's figures (``'figures': 'paper'``) and the measured time per view.
    supersedes
        Catalogue ids that stop being offered once this is installed (same cost, lower quality).
    """

    id: str
    name: str
    file_name: str
    size: int
    sha256: str
    page: str
    licence: str
    quality: Mapping[str, Any] = field(default_factory=dict)
    supersedes: tuple[str, ...] = ()


#: The authors' LIIF-RDN (size and sha256 as recorded in a public Git LFS pointer). Tests
#: replace this with a file of the same layout built on the spot.
OFFICIAL_RDN = OfficialFile(
    id="rdn-liif",
    name="LIIF-RDN (official)",
    file_name="rdn-liif.pth",
    size=268_184_311,
    sha256="7bf835bc969b85ead12ef3bd8e4bca7349777ae1fdbea6021f1b62608f4a323a",
    page="https://github.com/yinboc/liif",
    licence="BSD-3-Clause, Copyright (c) 2020 Yinbo Chen (LIIF authors); downloaded by the user",
    quality={
        "figures": "paper",
        "metric": _PAPER_METRIC,
        "Set5": {"x2": 38.17, "x3": 34.68, "x4": 32.50, "x6": 29.15, "x8": 27.14},
        "Set14": {"x2": 33.97, "x3": 30.53, "x4": 28.80, "x6": 26.64, "x8": 25.15},
        "B100": {"x2": 32.32, "x3": 29.26, "x4": 27.74, "x6": 25.98, "x8": 24.91},
        "Urban100": {"x2": 32.87, "x3": 28.82, "x4": 26.68},
        # Same architecture as rdn-liif-ours (RDN config B + the same MLP), so the same cost.
        "relative_time": 7.3,
        "relative_time_about": "measured for rdn-liif-ours, the same architecture: whole "
        "1280×800 view at ×4 against EDSR-baseline-LIIF, CPU (benchmarks/viewport.py)",
    },
    supersedes=("rdn-liif-ours",),
)


class InstallError(WeightsError):
    """The file cannot be installed; the message says why and what to do."""


@dataclass(frozen=True)
class InstallStep:
    """Progress of :func:`install_download`.

    Attributes
    ----------
    stage
        ``'hash'``, ``'read'``, ``'check'``, ``'serialise'``, ``'write'``, ``'verify'``,
        ``'copy'`` or ``'done'``.
    fraction
        Of the whole job, 0–1.
    text
        What is happening, for a status line.
    outcome
        Set on the ``'done'`` step only.
    """

    stage: str
    fraction: float
    text: str
    outcome: InstallOutcome | None = None


@dataclass(frozen=True)
class InstallOutcome:
    """What an install did: ``official`` False means the file went in as a user model."""

    official: bool
    model: ModelInfo
    message: str


def official_dir() -> Path:
    """Where installed official checkpoints live: a folder inside the user's model folder
    (so they are not listed again as user checkpoints)."""
    return user_models_dir() / "official"


def _record_path(official: OfficialFile) -> Path:
    return official_dir() / (Path(official.file_name).stem + ".json")


def installed_model(official: OfficialFile | None = None) -> ModelInfo | None:
    """The installed official model, or None if it is not installed."""
    official = OFFICIAL_RDN if official is None else official
    path = official_dir() / official.file_name
    try:
        record = json.loads(_record_path(official).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not path.is_file() or record.get("source_sha256") != official.sha256:
        return None
    return ModelInfo(
        id=official.id,
        name=official.name,
        path=path,
        kind="photo",
        licence=official.licence,
        quality=dict(official.quality),
        source={"kind": "authors-download", "page": official.page, **record},
    )


def installed_models() -> list[ModelInfo]:
    """Every installed official model (today: LIIF-RDN if installed)."""
    info = installed_model()
    return [info] if info is not None else []


def superseded_ids() -> set[str]:
    """Catalogue ids not offered because an installed official model replaces them."""
    return set(OFFICIAL_RDN.supersedes) if installed_model() is not None else set()


def not_installed_hint(model_id: str, official: OfficialFile | None = None) -> str | None:
    """One line on how to get ``model_id`` if it names an official model not installed."""
    official = OFFICIAL_RDN if official is None else official
    if model_id != official.id or installed_model(official) is not None:
        return None
    short = official.name.split(" (")[0]
    return (
        f"model {official.id!r}, the authors' {short}, is not installed: download "
        f"{official.file_name} from the link in the README of {official.page}, then run "
        f"`python -m liif_desktop.official PATH` (or Model ▸ Get the official {short}… in the "
        "app)"
    )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _install_official(
    src: Path, official: OfficialFile, should_stop: StopCheck
) -> Iterator[InstallStep]:
    yield InstallStep("read", 0.45, "Reading the checkpoint safely (weights only)…")
    saved = read_checkpoint(src)
    check(should_stop)
    yield InstallStep("check", 0.5, "Checking the weights against the architecture…")
    check_weights_fit(validate_checkpoint(saved, src), src)
    check(should_stop)
    yield InstallStep("serialise", 0.52, "Preparing the model part…")
    buffer = io.BytesIO()
    torch.save({"model": saved["model"]}, buffer)
    data = buffer.getbuffer()
    folder = official_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / official.file_name
    digest = hashlib.sha256()
    step = 1 << 23
    chunks = (bytes(data[i : i + step]) for i in range(0, len(data), step))
    text = f"Writing the model part ({_mb(len(data))}, without the optimizer state)…"
    for done in write_chunks_atomically(chunks, dest, len(data), should_stop, digest):
        yield InstallStep("write", 0.55 + 0.3 * done, text)
    try:
        yield InstallStep("verify", 0.9, "Checking the copy…")
        _check_copy(dest, saved["model"])
        record = {
            "source_file": official.file_name,
            "source_size": official.size,
            "source_sha256": official.sha256,
            "size": len(data),
            "sha256": digest.hexdigest(),
        }
        part = _record_path(official).with_suffix(".json.part")
        part.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        part.replace(_record_path(official))
    except BaseException:
        dest.unlink(missing_ok=True)
        _record_path(official).with_suffix(".json.part").unlink(missing_ok=True)
        raise
    info = installed_model(official)
    assert info is not None
    left_out = official.size - len(data)
    message = (
        f"This is the authors' {official.file_name} (size and sha256 match the published "
        f"file). Installed its model part as “{official.name}” ({_mb(len(data))}; "
        f"{_mb(left_out)} of optimizer state and training bookkeeping left out) in {folder}."
    )
    yield InstallStep("done", 1.0, "Installed", InstallOutcome(True, info, message))


def _check_copy(path: Path, original: Mapping[str, Any]) -> None:
    copy = read_checkpoint(path)
    spec = validate_checkpoint(copy, path)
    if set(copy) != {"model"} or set(spec) != set(original):
        raise InstallError(f"{path}: the written copy does not have the official layout")
    sd, ref = spec["sd"], original["sd"]
    if set(sd) != set(ref) or not all(torch.equal(sd[k], ref[k]) for k in ref):
        raise InstallError(f"{path}: the written copy differs from the download")


def _install_as_user_model(
    src: Path, official: OfficialFile, size: int, why: str, should_stop: StopCheck
) -> Iterator[InstallStep]:
    yield InstallStep("read", 0.45, "Not the published file; checking it as a LIIF checkpoint…")
    try:
        load_checkpoint(src)
    except CheckpointError as exc:
        reason = str(exc).removeprefix(f"{src}: ")
        if size < official.size:
            raise InstallError(
                f"{src.name} looks incomplete: {size:,} of the published file's "
                f"{official.size:,} bytes, and it cannot be read: {reason}. Download it again. "
                "Nothing was copied."
            ) from exc
        raise InstallError(
            f"{src.name} is not the authors' {official.file_name} ({why}) and cannot be used: "
            f"{reason}. Nothing was copied."
        ) from exc
    steps = add_user_checkpoint_steps(src, should_stop, validated=True)
    while True:
        try:
            done = next(steps)
        except StopIteration as stop:
            info: ModelInfo = stop.value
            break
        yield InstallStep("copy", 0.5 + 0.5 * done, "Copying it to your model folder…")
    message = (
        f"{src.name} is NOT the authors' published {official.file_name} ({why}). It is a "
        f"valid LIIF checkpoint, so it was added as your own model “{info.name}”; the paper's "
        "figures do not apply to it."
    )
    yield InstallStep("done", 1.0, "Added as a user model", InstallOutcome(False, info, message))


def install_download(
    path: str | Path,
    should_stop: StopCheck = None,
    official: OfficialFile | None = None,
) -> Iterator[InstallStep]:
    """Recognise a downloaded checkpoint and install it, yielding progress.

    Parameters
    ----------
    path
        The downloaded file (left untouched).
    should_stop
        Polled between chunks (a :class:`~liif_desktop.render.cancel.CancelToken`).
    official
        The published file to recognise (default :data:`OFFICIAL_RDN`).

    Yields
    ------
    InstallStep
        Progress; the last step (``'done'``) carries the :class:`InstallOutcome`: the official
        model installed, or, for any other valid checkpoint, a user model added.

    Raises
    ------
    InstallError
        Not a usable checkpoint (e.g. a truncated download); nothing is copied.
    liif_desktop.model.stop.Cancelled
        When cancelled; nothing is left behind.
    """
    official = OFFICIAL_RDN if official is None else official
    src = Path(path).expanduser()
    if not src.is_file():
        raise InstallError(f"{src}: no such file")
    size = src.stat().st_size
    if size == official.size:
        digest = None
        for done, found in sha256_steps(src, should_stop):
            digest = found or digest
            yield InstallStep("hash", 0.4 * done, "Checking the sha256…")
        if digest == official.sha256:
            yield from _install_official(src, official, should_stop)
            return
        why = "its size matches but its sha256 differs: a damaged download or another file"
    else:
        why = f"{size:,} bytes, the published file is {official.size:,}"
    yield from _install_as_user_model(src, official, size, why, should_stop)


def run_install(path: str | Path, official: OfficialFile | None = None) -> InstallOutcome:
    """Run :func:`install_download` to the end and return its outcome."""
    outcome = None
    for step in install_download(path, official=official):
        outcome = step.outcome or outcome
    if outcome is None:  # pragma: no cover - the generator always ends with 'done'
        raise InstallError(f"{path}: the install did not finish")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m liif_desktop.official",
        description=f"Install the authors' {OFFICIAL_RDN.file_name} (download it from "
        f"{OFFICIAL_RDN.page}).",
    )
    parser.add_argument("path", type=Path, help=f"the downloaded {OFFICIAL_RDN.file_name}")
    args = parser.parse_args(argv)
    try:
        outcome = run_install(args.path)
    except (InstallError, CheckpointError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        print("cancelled; nothing was installed", file=sys.stderr)
        return 130
    print(outcome.message)
    return 0


__all__ = [
    "OFFICIAL_RDN",
    "InstallError",
    "InstallOutcome",
    "InstallStep",
    "OfficialFile",
    "install_download",
    "installed_model",
    "installed_models",
    "not_installed_hint",
    "official_dir",
    "run_install",
    "superseded_ids",
]

if __name__ == "__main__":
    raise SystemExit(main())

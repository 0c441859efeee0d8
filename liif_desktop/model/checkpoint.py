"""Reading and writing checkpoints in the official LIIF format.

The format is ``{'model': {'name': 'liif', 'args': {...}, 'sd': state_dict}, ...}``. Files are
read with ``torch.load(weights_only=True)``: the unpickler accepts only tensors and plain
containers, so a file that tries to run code on load is refused and never executed.

Nothing big is allocated on a file's word: the archive's record sizes are checked before
anything is read (:func:`check_archive`), the model is first built on the ``meta`` device (no
memory) with a budget of one parameter per tensor in the file, and only when every name and
shape matches are real tensors created.
"""

from __future__ import annotations

import pickle
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_parameter_registration_hook

from liif_desktop.model.liif import LIIF, build_liif


class CheckpointError(Exception):
    """A checkpoint file cannot be used; the message says which file and why."""


#: Largest tensor record accepted, uncompressed (the biggest tensor of the official models is
#: a few MB; a whole LIIF-RDN training save, weights plus Adam state, is 268 MB).
MAX_RECORD_BYTES = 1 << 30
#: Largest pickle record (the nested dictionaries; a few KB in real checkpoints).
MAX_PICKLE_BYTES = 16 << 20
#: Largest sum of all records, uncompressed.
MAX_TOTAL_BYTES = 2 << 30
#: ``torch.save`` stores records uncompressed; compressed ones may expand the file's size at
#: most this many times (plus :data:`_EXPANSION_SLACK`), which stops zip bombs.
MAX_EXPANSION = 4
_EXPANSION_SLACK = 64 << 20


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def check_archive(path: Path) -> None:
    """Refuse a checkpoint archive whose records would take too much memory to read.

    Only the zip directory is read; no record is decompressed.

    Raises
    ------
    CheckpointError
        A record above :data:`MAX_RECORD_BYTES` (:data:`MAX_PICKLE_BYTES` for the pickle),
        records that add up to more than :data:`MAX_TOTAL_BYTES`, or compressed records that
        would expand the file more than :data:`MAX_EXPANSION` times.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: the file is truncated or corrupt ({exc})") from exc
    total = 0
    for record in records:
        limit = MAX_PICKLE_BYTES if record.filename.endswith(".pkl") else MAX_RECORD_BYTES
        if record.file_size > limit:
            raise CheckpointError(
                f"{path}: refused: record {record.filename!r} would take "
                f"{_mib(record.file_size)} of memory (at most {_mib(limit)} is accepted)"
            )
        total += record.file_size
    file_size = path.stat().st_size
    if total > MAX_TOTAL_BYTES:
        raise CheckpointError(
            f"{path}: refused: its records add up to {_mib(total)} "
            f"(at most {_mib(MAX_TOTAL_BYTES)} is accepted)"
        )
    if total > MAX_EXPANSION * file_size + _EXPANSION_SLACK:
        raise CheckpointError(
            f"{path}: refused: compressed records would expand a {_mib(file_size)} file to "
            f"{_mib(total)}"
        )


def _read(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    with path.open("rb") as fh:
        looks_zip = fh.read(4) == b"PK\x03\x04"
    if looks_zip and not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: the file is truncated or corrupt (incomplete archive)")
    if not looks_zip:
        # The legacy format declares its storage sizes inside the pickle, so they cannot be
        # bounded before loading; PyTorch has not written it since version 1.6 (2020).
        raise CheckpointError(
            f"{path}: not a PyTorch zip archive (files in the pre-1.6 legacy format are not "
            "accepted: load and re-save it with a current PyTorch)"
        )
    check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused: the file holds Python objects other than tensors and plain "
            f"data, which could run code when loaded ({str(exc).splitlines()[0]})"
        ) from exc
    except (EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path}: the file is truncated or corrupt ({exc})") from exc
    except RuntimeError as exc:
        text = str(exc)
        if "zip archive" in text or "central directory" in text or "corrupt" in text:
            raise CheckpointError(f"{path}: the file is truncated or corrupt") from exc
        raise CheckpointError(f"{path}: cannot be read as a PyTorch checkpoint: {text}") from exc
    except Exception as exc:  # any other decoding failure means a bad file
        raise CheckpointError(f"{path}: cannot be read as a PyTorch checkpoint: {exc}") from exc


def read_checkpoint(path: str | Path) -> Any:
    """Unpickle a checkpoint file safely (tensors and plain containers only), unvalidated.

    Raises
    ------
    CheckpointError
        Missing, empty, truncated or corrupt file, or a pickle that would run code.
    """
    return _read(Path(path))


def validate_checkpoint(obj: Any, path: Path | str = "<checkpoint>") -> dict[str, Any]:
    """Check the layout of a loaded checkpoint and return its ``model`` entry.

    Raises
    ------
    CheckpointError
        If the object is not an official-format LIIF checkpoint.
    """
    if not isinstance(obj, Mapping) or "model" not in obj:
        raise CheckpointError(
            f"{path}: not a LIIF checkpoint (expected a dictionary with a 'model' entry)"
        )
    spec = obj["model"]
    if not isinstance(spec, Mapping) or not {"name", "args", "sd"} <= set(spec):
        raise CheckpointError(f"{path}: not a LIIF checkpoint ('model' lacks name/args/sd)")
    if spec["name"] != "liif":
        raise CheckpointError(
            f"{path}: model {spec['name']!r} is not supported (only 'liif' models are)"
        )
    if not isinstance(spec["args"], Mapping) or not isinstance(spec["sd"], Mapping):
        raise CheckpointError(f"{path}: 'args' and 'sd' must be dictionaries")
    for key, value in spec["sd"].items():
        if not isinstance(key, str):
            raise CheckpointError(f"{path}: weight names must be strings, got {key!r}")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{path}: weight {key!r} is a {type(value).__name__}, not a tensor"
            )
        if not value.is_floating_point():
            raise CheckpointError(f"{path}: weight {key!r} has type {value.dtype}, not floats")
    return dict(spec)


def _state_dict_problems(model: LIIF, sd: Mapping[str, Any]) -> list[str]:
    expected = model.state_dict()
    problems: list[str] = []
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    if missing:
        problems.append(f"missing keys {missing[:4]}" + (" …" if len(missing) > 4 else ""))
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:4]}" + (" …" if len(unexpected) > 4 else ""))
    mismatched = [
        f"{k}: file {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in sd and isinstance(sd[k], torch.Tensor) and sd[k].shape != v.shape
    ]
    if mismatched:
        problems.append("shape mismatch " + "; ".join(mismatched[:4]))
    return problems


class _OverBudget(Exception):
    pass


class _ParameterBudget:
    """Counts parameters created by this thread and stops a build that goes over ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.thread = threading.get_ident()

    def __call__(self, module: nn.Module, name: str, param: Any) -> None:
        if param is not None and threading.get_ident() == self.thread:
            self.count += 1
            if self.count > self.limit:
                raise _OverBudget


def _skeleton(args: Mapping[str, Any], n_weights: int, path: Path | str) -> LIIF:
    """The model of ``args`` on the ``meta`` device: names and shapes, no memory.

    A valid file has one tensor per parameter, so building stops once the args ask for far
    more parameters than the file holds (an ``n_resblocks`` of millions costs nothing). The
    slack lets a moderately wrong spec build, so the error can name the missing keys.
    """
    budget = _ParameterBudget(2 * n_weights + 512)
    hook = register_module_parameter_registration_hook(budget)
    try:
        with torch.device("meta"):
            return build_liif(dict(args))
    except _OverBudget:
        raise CheckpointError(
            f"{path}: weights do not match the architecture in its args: the args describe "
            f"more than the {n_weights} tensors the file holds"
        ) from None
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    except Exception as exc:  # odd values (strings, negative sizes) in a spec
        raise CheckpointError(
            f"{path}: unusable model arguments ({exc.__class__.__name__}: {exc})"
        ) from exc
    finally:
        hook.remove()


def _smoke_test(model: LIIF, path: Path | str) -> None:
    """Run the model once on a tiny input: catches what shapes cannot (odd arguments)."""
    image = torch.full((1, 3, 8, 8), 0.5)
    coord = torch.zeros(1, 4, 2)
    cell = torch.full((1, 4, 2), 2 / 16)
    try:
        with torch.no_grad():
            out = model(image, coord, cell)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: the model fails on a test input ({exc.__class__.__name__}: {exc})"
        ) from exc
    if out.shape != (1, 4, 3) or not bool(torch.isfinite(out).all()):
        raise CheckpointError(f"{path}: the model gives non-finite or misshaped output")


def check_weights_fit(spec: Mapping[str, Any], path: Path | str = "<checkpoint>") -> LIIF:
    """Check that a validated ``model`` entry's weights fit the architecture its args name.

    The model is built on the ``meta`` device (no real tensor is allocated), with a budget of
    parameters set by the number of weights in the file.

    Returns
    -------
    LIIF
        The ``meta``-device model (names and shapes only).

    Raises
    ------
    CheckpointError
        Unknown architecture, odd argument values, args asking for far more parameters than
        the file holds, or missing, unexpected or mis-shaped weights (the first named).
    """
    sd = spec["sd"]
    skeleton = _skeleton(spec["args"], len(sd), path)
    problems = _state_dict_problems(skeleton, sd)
    if problems:
        raise CheckpointError(
            f"{path}: weights do not match the architecture in its args "
            f"({spec['args'].get('encoder_spec', {}).get('name')!r}): " + "; ".join(problems)
        )
    return skeleton


def model_from_spec(spec: Mapping[str, Any], path: Path | str = "<checkpoint>") -> LIIF:
    """Build a model from a validated ``model`` entry and load its weights (as float32).

    The names and shapes of the weights are checked against a ``meta``-device build of the
    args (:func:`check_weights_fit`) before any real tensor is created.
    """
    sd = spec["sd"]
    skeleton = check_weights_fit(spec, path)
    for key, value in sd.items():
        if not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path}: weight {key!r} holds NaN or infinite values")
    model = skeleton.to_empty(device="cpu")
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    model.eval()
    _smoke_test(model, path)
    return model


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> LIIF:
    """Load an official-format LIIF checkpoint safely.

    Parameters
    ----------
    path
        The ``.pth`` file.
    device
        Where to put the model.

    Returns
    -------
    LIIF
        The model in eval mode, float32, on ``device``.

    Raises
    ------
    CheckpointError
        Not a file, not a LIIF checkpoint, unknown encoder, weights that do not fit the
        architecture (the first keys are named), a truncated file, a pickle that would run
        code, records too large to read safely, or a model that fails on a test input.
    """
    path = Path(path)
    spec = validate_checkpoint(_read(path), path)
    return model_from_spec(spec, path).to(device)


def save_checkpoint(
    path: str | Path,
    model: LIIF,
    args: Mapping[str, Any],
    half: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write ``model`` in the official format, atomically.

    Parameters
    ----------
    path
        Destination file.
    model
        The model whose state dict is saved.
    args
        The model's spec (``encoder_spec``, ``imnet_spec``, ...), as :func:`build_liif` takes.
    half
        Store floating tensors as float16 (half the size; loaded back as float32).
    extra
        Other top-level entries, such as ``{'epoch': 10}``.
    """
    sd = {
        k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    payload: dict[str, Any] = {"model": {"name": "liif", "args": dict(args), "sd": sd}}
    payload.update(extra or {})
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    tmp.replace(path)

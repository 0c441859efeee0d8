"""Reading and writing checkpoints in the official LIIF format.

The format is ``{'model': {'name': 'liif', 'args': {...}, 'sd': state_dict}, ...}``. Files are
read with ``torch.load(weights_only=True)``: the unpickler accepts only tensors and plain
containers, so a file that tries to run code on load is refused and never executed.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from liif_desktop.model.liif import LIIF, build_liif


class CheckpointError(Exception):
    """A checkpoint file cannot be used; the message says which file and why."""


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


def check_weights_fit(spec: Mapping[str, Any], path: Path | str = "<checkpoint>") -> None:
    """Check that a validated ``model`` entry's weights fit the architecture its args name.

    The model is built on the ``meta`` device, so no real tensor is allocated.

    Raises
    ------
    CheckpointError
        Unknown architecture, or missing, unexpected or mis-shaped weights (the first named).
    """
    try:
        with torch.device("meta"):
            model = build_liif(dict(spec["args"]))
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    problems = _state_dict_problems(model, spec["sd"])
    if problems:
        raise CheckpointError(
            f"{path}: weights do not match the architecture in its args "
            f"({spec['args'].get('encoder_spec', {}).get('name')!r}): " + "; ".join(problems)
        )


def model_from_spec(spec: Mapping[str, Any], path: Path | str = "<checkpoint>") -> LIIF:
    """Build a model from a validated ``model`` entry and load its weights (as float32)."""
    try:
        model = build_liif(dict(spec["args"]))
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    sd = spec["sd"]
    problems = _state_dict_problems(model, sd)
    if problems:
        raise CheckpointError(
            f"{path}: weights do not match the architecture in its args "
            f"({spec['args'].get('encoder_spec', {}).get('name')!r}): " + "; ".join(problems)
        )
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model.eval()


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
        architecture (the first keys are named), a truncated file, or a pickle that would run
        code.
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

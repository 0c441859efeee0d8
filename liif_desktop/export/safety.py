"""Writing outputs without ever leaving a partial file or overwriting an input.

An output is written to a temporary file in the target folder (created before any rendering,
so an unwritable folder fails at once) and moved into place only when complete. Cancel or
failure deletes the temporary file; temporary files of ours that a killed process left behind
are removed, once they are a day old, the next time a job writes to that folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import BinaryIO

#: Prefix and suffix of the temporary files (hidden, and easy to recognise if a crash leaves one).
TEMP_PREFIX = ".liif-"
TEMP_SUFFIX = ".part"
#: Names :func:`tempfile.mkstemp` gives our temporary files (8 random characters).
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
#: Age after which a leftover temporary file cannot belong to a running job.
STALE_AFTER_S = 24 * 3600
#: Free space kept in reserve beyond the estimated output size.
DISK_MARGIN_BYTES = 16 << 20


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Temporary files are created private (0600); finished outputs get the usual permissions.
_FILE_MODE = 0o666 & ~_read_umask()


class ExportError(Exception):
    """An export cannot be completed; the message says which file and why."""


class OverwritePolicy(str, Enum):
    """What to do when the output file already exists."""

    SKIP = "skip"
    RENAME = "rename"
    OVERWRITE = "overwrite"


def describe_os_error(exc: OSError, path: Path) -> str:
    """A short human reason for an I/O failure on ``path``."""
    code = exc.errno
    if code == errno.ENOSPC:
        return f"{path}: the disk is full"
    if code == errno.EROFS:
        return f"{path}: the folder is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return f"{path}: permission denied (the folder is not writable)"
    if code == errno.ENOENT:
        return f"{path}: the folder does not exist"
    if code == errno.ENOTDIR:
        return f"{path}: a part of the path is not a folder"
    return f"{path}: {exc.strerror or exc}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def is_protected(path: Path, protected: Iterable[Path]) -> bool:
    """Whether ``path`` is (or resolves to) one of the ``protected`` files."""
    return any(_same_file(path, p) for p in protected)


def free_name(path: Path, protected: Iterable[Path] = ()) -> Path:
    """``path`` or the first ``stem-N.suffix`` beside it that does not exist yet."""
    protected = list(protected)
    candidate = path
    n = 1
    while candidate.exists() or candidate.is_symlink() or is_protected(candidate, protected):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def resolve_target(
    target: Path, policy: OverwritePolicy, protected: Iterable[Path] = ()
) -> Path | None:
    """The path to write ``target`` to under ``policy``; None means skip it.

    Raises
    ------
    ExportError
        The target is one of the ``protected`` inputs and the policy is overwrite, or the
        target is a folder.
    """
    protected = list(protected)
    policy = OverwritePolicy(policy)
    if target.is_dir():
        raise ExportError(f"{target}: is a folder; cannot write the output there")
    hits_input = is_protected(target, protected)
    exists = hits_input or target.exists() or target.is_symlink()
    if not exists:
        return target
    if policy is OverwritePolicy.SKIP:
        return None
    if policy is OverwritePolicy.RENAME:
        return free_name(target, protected)
    if hits_input:
        raise ExportError(
            f"{target}: refusing to overwrite an input image; choose another output folder "
            "or name pattern"
        )
    return target


_swept: set[Path] = set()
_swept_lock = threading.Lock()


def remove_stale_temp_files(folder: Path, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete our temporary files in ``folder`` older than ``max_age_s``; return them.

    Only plain files named as :class:`PendingFile` names them, owned by this user, are
    touched (never links, folders or other people's files). Errors are ignored: this is
    housekeeping.
    """
    removed: list[Path] = []
    now = time.time()
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False):
                continue
            if uid is not None and info.st_uid != uid:
                continue
            if now - info.st_mtime < max_age_s:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def sweep_once(folder: Path) -> None:
    """:func:`remove_stale_temp_files` the first time this process writes to ``folder``."""
    key = folder.absolute()
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    remove_stale_temp_files(folder)


def estimated_file_bytes(out_size: tuple[int, int], channels: int, itemsize: int, fmt: str) -> int:
    """A generous estimate of the size of an output file (worst case for the format).

    PNG and TIFF are counted uncompressed (noise does not compress); JPEG and WebP at half
    that, which even quality 100 on noise stays below.
    """
    raw = out_size[0] * out_size[1] * channels * itemsize
    return raw // 2 if fmt in ("JPEG", "WEBP") else raw


def check_free_space(folder: Path, needed: int) -> None:
    """Raise :class:`ExportError` when ``folder``'s disk has less than ``needed`` bytes free.

    Checked before rendering, so a full disk is reported before minutes of work, in the same
    words as a write that fails for lack of space.
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell (some network file systems): the write will report it
    if free < needed + DISK_MARGIN_BYTES:
        raise ExportError(
            f"{folder}: the disk is full (the output needs up to {needed / 1e6:,.0f} MB, "
            f"{free / 1e6:,.0f} MB is free)"
        )


class PendingFile:
    """A temporary file beside ``target`` that becomes ``target`` on :meth:`commit`.

    Parameters
    ----------
    target
        Final path. Its folder is created if missing.

    Raises
    ------
    ExportError
        The folder cannot be created or written to.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            sweep_once(folder)
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
        except OSError as exc:
            raise ExportError(describe_os_error(exc, folder)) from exc
        self.temp_path = Path(name)
        handle: BinaryIO | None = None
        try:
            handle = os.fdopen(fd, "wb")
            with contextlib.suppress(OSError):
                os.chmod(self.temp_path, _FILE_MODE)
        except BaseException:  # e.g. SIGTERM raised here: the caller never gets the object
            with contextlib.suppress(OSError):
                if handle is not None:
                    handle.close()
                else:
                    os.close(fd)
            with contextlib.suppress(OSError):
                self.temp_path.unlink()
            raise
        self.handle: BinaryIO = handle

    def commit(self, overwrite: bool) -> Path:
        """Flush, close and move the file into place; return where it went.

        Without ``overwrite`` an existing file is never replaced: the output is renamed
        (``stem-N``) if one appeared meanwhile.
        """
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            final = self.target
            if overwrite:
                os.replace(self.temp_path, final)
            else:
                final = self._link_without_clobber(final)
        except OSError as exc:
            self.discard()
            raise ExportError(describe_os_error(exc, self.target)) from exc
        return final

    def _link_without_clobber(self, final: Path) -> Path:
        while True:
            try:
                os.link(self.temp_path, final)
            except FileExistsError:
                final = free_name(final)
                continue
            except OSError:  # no hard links here (e.g. FAT): check, then rename
                final = free_name(final)
                os.replace(self.temp_path, final)
                return final
            self.temp_path.unlink()
            return final

    def discard(self) -> None:
        """Close and delete the temporary file (safe to call more than once)."""
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


__all__ = [
    "STALE_AFTER_S",
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "ExportError",
    "OverwritePolicy",
    "PendingFile",
    "check_free_space",
    "describe_os_error",
    "estimated_file_bytes",
    "free_name",
    "is_protected",
    "remove_stale_temp_files",
    "resolve_target",
    "sweep_once",
]

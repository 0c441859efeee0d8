"""Copying and writing large files atomically, in chunks, with progress and cancellation.

A file appears under its final name only once it is complete: the bytes go to ``NAME.part``
beside it, which is renamed at the end and removed if the copy is cancelled or fails.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from liif_desktop.model.stop import check

CHUNK = 8 << 20


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def write_chunks_atomically(
    chunks: Iterator[bytes],
    dest: Path,
    total: int,
    should_stop: Callable[[], bool] | None = None,
    digest: hashlib._Hash | None = None,
) -> Iterator[float]:
    """Write ``chunks`` to ``dest`` atomically, yielding the fraction of ``total`` bytes done.

    Parameters
    ----------
    chunks
        The bytes to write, in pieces.
    dest
        Final path; replaced only when everything is written and flushed to disk.
    total
        Expected byte count (for the fractions).
    should_stop
        Polled before each chunk; when it returns True, :class:`~liif_desktop.model.stop.
        Cancelled` is raised and nothing is left behind.
    digest
        Updated with every byte written (e.g. ``hashlib.sha256()``).
    """
    part = _part_path(dest)
    done = 0
    try:
        with part.open("wb") as fh:
            for chunk in chunks:
                check(should_stop)
                fh.write(chunk)
                if digest is not None:
                    digest.update(chunk)
                done += len(chunk)
                yield min(1.0, done / total) if total else 1.0
            check(should_stop)
            fh.flush()
            os.fsync(fh.fileno())
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def read_chunks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    """The bytes of ``path`` in pieces of ``size``."""
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(size), b"")


def copy_file_steps(
    src: Path, dest: Path, should_stop: Callable[[], bool] | None = None
) -> Iterator[float]:
    """Copy ``src`` to ``dest`` atomically, yielding the fraction copied (see
    :func:`write_chunks_atomically`)."""
    yield from write_chunks_atomically(read_chunks(src), dest, src.stat().st_size, should_stop)


def sha256_steps(
    path: Path, should_stop: Callable[[], bool] | None = None
) -> Iterator[tuple[float, str | None]]:
    """Hash ``path``, yielding ``(fraction, None)`` per chunk and finally ``(1.0, hexdigest)``."""
    total = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    for chunk in read_chunks(path):
        check(should_stop)
        digest.update(chunk)
        done += len(chunk)
        yield (done / total if total else 1.0), None
    yield 1.0, digest.hexdigest()

"""Output pixels kept in a temporary file instead of memory, for very large PNG exports.

Whole-image renders go through vertical strips (:func:`liif_desktop.render.full.render_image`),
so no row of the output is finished until the last strip is: the encoder needs every tile
before it can write the first row. Holding those pixels in memory costs 3 bytes per output
pixel (0.9 GiB for an 81 MP image at ×2). :class:`SpilledPixels` keeps them in a file beside
the output instead, written tile by tile and read back a band of rows at a time by the PNG
writer, so the process's memory stays about the same whatever the output size. Plain file
I/O, not ``mmap``: pages of a mapped file would count as the process's own.

On POSIX systems the file is unlinked as soon as it is open, so nothing is left behind even
after ``kill -9``; elsewhere it carries the export's temporary-file name, which the next job
in that folder sweeps away (:func:`liif_desktop.export.safety.sweep_once`).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from liif_desktop.export.safety import TEMP_PREFIX, TEMP_SUFFIX, ExportError, describe_os_error

#: Outputs with more raw bytes than this are spilled to disk when their format allows it.
SPILL_BYTES = 256 << 20


class SpilledPixels:
    """An (H, W, C) array of samples stored in a temporary file.

    Writes take any rectangle (``pixels[r0:r1, c0:c1] = block``); reads take whole rows
    (``pixels[r0:r1]``), which is what a row-by-row encoder needs.

    Parameters
    ----------
    shape
        (height, width, channels).
    dtype
        Sample type (``np.uint8`` or ``np.uint16``).
    folder
        Where the file goes (the output's folder, whose free space the export checks).

    Raises
    ------
    ExportError
        The file cannot be created or written (the disk is full ...).
    """

    def __init__(self, shape: tuple[int, int, int], dtype: type, folder: Path) -> None:
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.dtype = np.dtype(dtype)
        self.ndim = 3
        self._row_bytes = self.shape[1] * self.shape[2] * self.dtype.itemsize
        self._folder = folder
        try:
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
        except OSError as exc:
            raise ExportError(describe_os_error(exc, folder)) from exc
        self._file: io.FileIO | None = io.FileIO(fd, "r+")
        self._path: Path | None = Path(name)
        try:
            os.unlink(name)  # POSIX: the open descriptor keeps the data; nothing to clean up
            self._path = None
        except OSError:
            pass  # Windows: removed in close(), or swept by the next job in this folder

    def _handle(self) -> io.FileIO:
        if self._file is None:
            raise ValueError("the spilled pixels are closed")
        return self._file

    def __setitem__(self, key: tuple[slice, slice], block: np.ndarray) -> None:
        rows, cols = key
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        data = np.ascontiguousarray(block, dtype=self.dtype)
        if data.shape != (r1 - r0, c1 - c0, self.shape[2]):
            raise ValueError(f"block of shape {data.shape} does not fit rows {rows}, cols {cols}")
        fh = self._handle()
        item = self.shape[2] * self.dtype.itemsize
        try:
            if c0 == 0 and c1 == self.shape[1]:
                fh.seek(r0 * self._row_bytes)
                fh.write(data.data)
                return
            for i in range(data.shape[0]):
                fh.seek((r0 + i) * self._row_bytes + c0 * item)
                fh.write(data[i].data)
        except OSError as exc:  # a disk that filled up since the check, a removed drive
            raise ExportError(describe_os_error(exc, self._folder)) from exc

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice):
            raise TypeError("spilled pixels are read a band of whole rows at a time")
        r0, r1, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("spilled pixels are read as contiguous rows")
        count = max(0, r1 - r0)
        out = np.zeros((count, *self.shape[1:]), dtype=self.dtype)  # unwritten rows read as 0
        view = out.reshape(-1).view(np.uint8).data
        fh = self._handle()
        fh.seek(r0 * self._row_bytes)
        got = 0
        while got < len(view):
            n = fh.readinto(view[got:])
            if not n:
                break
            got += n
        return out

    def close(self) -> None:
        """Close the file and remove it (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._path = None

    def __enter__(self) -> SpilledPixels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def should_spill(out_size: tuple[int, int], channels: int, itemsize: int, fmt: str) -> bool:
    """Whether an export of this size and format keeps its pixels on disk.

    Only PNG is written a band of rows at a time (our own encoder); the other formats go
    through Pillow, which needs the whole image in memory anyway.
    """
    return fmt == "PNG" and out_size[0] * out_size[1] * channels * itemsize > SPILL_BYTES


__all__ = ["SPILL_BYTES", "SpilledPixels", "should_spill"]

"""Dropping oversized metadata (text) chunks from a PNG file so its pixels can still be read.

Pillow refuses a PNG whose text chunks are too large (``PngImagePlugin.MAX_TEXT_CHUNK`` once
decompressed, ``MAX_TEXT_MEMORY`` in all): a sound guard against memory bombs, but it throws
the pixels away with the metadata. Text chunks carry nothing the upscaler needs, so the file
is re-read without them. Only chunk headers are read to find them; their content never is.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import PngImagePlugin

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})


@dataclass(frozen=True)
class Chunk:
    """One chunk of a PNG file: its type, where it starts (its length field) and data size."""

    kind: bytes
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + 12 + self.length  # length, type, data, CRC


def read_chunks(path: Path) -> list[Chunk] | None:
    """The chunks of a PNG file up to IEND (or a damaged header), or None if not a PNG."""
    chunks: list[Chunk] = []
    with path.open("rb") as fh:
        if fh.read(8) != PNG_SIGNATURE:
            return None
        offset = 8
        while True:
            header = fh.read(8)
            if len(header) < 8:
                break
            length, kind = struct.unpack(">I4s", header)
            chunks.append(Chunk(kind, offset, length))
            offset += 12 + length
            if kind == b"IEND":
                break
            fh.seek(offset)
    return chunks


def text_chunk_too_large(chunk: Chunk) -> bool:
    """A text chunk whose stored size alone is above Pillow's limit for one chunk."""
    return chunk.kind in TEXT_CHUNKS and chunk.length > PngImagePlugin.MAX_TEXT_CHUNK


def without_chunks(path: Path, drop: Callable[[Chunk], bool]) -> tuple[bytes, list[Chunk]] | None:
    """The file's bytes without the chunks ``drop`` selects, and those chunks.

    Returns None when the file is not a PNG or no chunk is selected.
    """
    chunks = read_chunks(path)
    if not chunks:
        return None
    dropped = [c for c in chunks if drop(c)]
    if not dropped:
        return None
    parts = [PNG_SIGNATURE]
    with path.open("rb") as fh:
        for chunk in chunks:
            if chunk in dropped:
                continue
            fh.seek(chunk.offset)
            parts.append(fh.read(chunk.end - chunk.offset))
    return b"".join(parts), dropped


def describe_dropped(dropped: list[Chunk]) -> str:
    """A warning naming the dropped chunks, e.g. ``'a metadata chunk too large …'``."""
    total = sum(c.length for c in dropped)
    kinds = ", ".join(sorted({c.kind.decode("ascii", "replace") for c in dropped}))
    amount = f"{total / 1e6:.1f} MB" if total >= 100_000 else f"{total} bytes"
    what = "a metadata chunk" if len(dropped) == 1 else f"{len(dropped)} metadata chunks"
    return f"{what} too large to read ({kinds}, {amount}) dropped; the pixels are intact"


__all__ = [
    "PNG_SIGNATURE",
    "TEXT_CHUNKS",
    "Chunk",
    "describe_dropped",
    "read_chunks",
    "text_chunk_too_large",
    "without_chunks",
]

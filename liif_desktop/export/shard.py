"""``--shard I/N``: split one job's work items among N independent runs.

Each (input, page) goes to the shard picked by a hash of its name relative to the input folder
given on the command line and its page, not by its position in the list: shards started at
different times, on machines that mount the storage at different paths, still agree on who
does what, and a file added to the folder between two shards' starts is done once (by its
shard), never twice. The shards of a job together hold every item exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liif_desktop.export.manifest import item_page

if TYPE_CHECKING:
    from liif_desktop.export.batch import BatchItem


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as ``--shard 1/4`` … ``4/4``)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(
                f"shard {self.index}/{self.count}: need 1 <= I <= N (e.g. --shard 1/4 … 4/4)"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``'2/8'`` → ``Shard(2, 8)``; raises ValueError for anything else."""
        parts = text.split("/")
        try:
            index, count = (int(p) for p in parts)
        except ValueError:
            raise ValueError(f"expected --shard I/N such as 1/4, got {text!r}") from None
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_key(item: BatchItem) -> str:
    """The text an item is hashed by: its path under the input folder, and its page."""
    relative = (item.subfolder / item.source.name).as_posix()
    return f"{relative}#{item_page(item)}"


def shard_of(item: BatchItem, count: int) -> int:
    """The 1-based shard of ``count`` that ``item`` belongs to."""
    digest = hashlib.sha256(shard_key(item).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(items: Sequence[BatchItem], shard: Shard) -> list[BatchItem]:
    """The items of ``shard``, in their original order."""
    return [item for item in items if shard_of(item, shard.count) == shard.index]


__all__ = ["Shard", "select_shard", "shard_key", "shard_of"]

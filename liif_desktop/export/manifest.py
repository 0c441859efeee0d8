"""The job manifest: one JSON line per work item, next to the outputs, for ``--resume``.

A batch written to a folder appends a row to ``liif-manifest.jsonl`` in that folder as each
(input, page) finishes: its output, status, the reason of a failure, the seconds it took, the
model and precision, and the sha256 of the output. The file is a log: a resumed job appends
more rows and the last row of an item wins. Shards of one job (``--shard I/N``) each write
their own ``liif-manifest.shard-I-of-N.jsonl`` (appends from several machines to one file on a
network filesystem can interleave); every ``liif-manifest*.jsonl`` in the folder is read back.

An item counts as complete when its last row says ``done`` and its output still exists with
the recorded sha256. Outputs are moved into place only when complete (see
:mod:`liif_desktop.export.safety`), so a crash leaves either no output or a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # kept light: the CLI reads its options before torch is imported
    from liif_desktop.export.batch import BatchEvent, BatchItem

MANIFEST_NAME = "liif-manifest.jsonl"
MANIFEST_GLOB = "liif-manifest*.jsonl"

Status = Literal["done", "skipped", "failed"]
#: (absolute input path, page): what a manifest row is about.
ItemKey = tuple[str, int]


def item_page(item: BatchItem) -> int:
    """The page of ``item`` (1-based), or 0 for the whole file (a single image).

    Items of PDFs and multi-page TIFFs carry ``pages``; one page per item is the unit of
    work. Several pages bound into one output file count as the whole file.
    """
    pages = getattr(item, "pages", None)
    return int(pages[0]) if pages is not None and len(pages) == 1 else 0


def item_key(item: BatchItem) -> ItemKey:
    """The manifest key of ``item``: its absolute input path and page."""
    return str(item.source.absolute()), item_page(item)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ManifestRow:
    """What happened to one (input, page).

    Attributes
    ----------
    input
        Absolute path of the input file.
    page
        Page of the input (0 for single images).
    output
        The file written (``done``) or found (``skipped``); empty when it failed.
    status
        ``'done'``, ``'skipped'`` (the output existed and the policy is skip) or ``'failed'``.
    reason
        Why it failed (or its warnings when done).
    seconds
        Wall seconds spent on the item.
    model
        Model id or checkpoint path.
    precision
        Precision the model ran at.
    sha256
        Of the output file; empty when there is none.
    host
        Machine that processed it.
    cpu_seconds
        CPU seconds of the process that exported it (all its threads), for cost accounting.
    """

    input: str
    page: int
    output: str
    status: Status
    reason: str
    seconds: float
    model: str
    precision: str
    sha256: str
    host: str = ""
    cpu_seconds: float = 0.0

    @property
    def key(self) -> ItemKey:
        return self.input, self.page

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> ManifestRow:
        data = json.loads(line)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def manifest_name(shard: tuple[int, int] | None = None) -> str:
    """The manifest file name for an unsharded job or for shard ``(index, count)``."""
    if shard is None:
        return MANIFEST_NAME
    return f"liif-manifest.shard-{shard[0]}-of-{shard[1]}.jsonl"


def read_rows(folder: Path) -> list[ManifestRow]:
    """Every row of every manifest in ``folder``, file by file; unreadable lines are skipped.

    A crash can cut the last line short; such a line is ignored (its item is redone).
    """
    rows: list[ManifestRow] = []
    for path in sorted(folder.glob(MANIFEST_GLOB)):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rows.append(ManifestRow.from_json(line))
                except (ValueError, TypeError):
                    continue
    return rows


def latest_rows(rows: Iterable[ManifestRow]) -> dict[ItemKey, ManifestRow]:
    """The last row of each item."""
    return {row.key: row for row in rows}


def is_complete(row: ManifestRow, verify: bool = True) -> bool:
    """Whether ``row`` records a finished output that is still there, unchanged."""
    if row.status != "done" or not row.output:
        return False
    output = Path(row.output)
    if not output.is_file():
        return False
    return not verify or file_sha256(output) == row.sha256


class ResumeMismatch(ValueError):
    """The manifest was written with another model or precision than the resumed job."""


@dataclass(frozen=True)
class ResumePlan:
    """Items still to do after reading a folder's manifests.

    Attributes
    ----------
    todo
        Items without a complete output, in their original order.
    done
        Number of items already complete.
    """

    todo: list[BatchItem]
    done: int


def plan_resume(
    items: Sequence[BatchItem], folder: Path, model: str, precision: str, verify: bool = True
) -> ResumePlan:
    """Drop the items whose outputs in ``folder`` are complete and recorded.

    Parameters
    ----------
    items
        The whole job's items.
    folder
        The output folder holding the manifests.
    model, precision
        The resumed job's; complete rows made with others raise :class:`ResumeMismatch`
        (mixing two models in one output folder is never what was meant).
    verify
        Check each recorded output's sha256 (reads every output once).
    """
    latest = latest_rows(read_rows(folder))
    todo: list[BatchItem] = []
    done = 0
    for item in items:
        row = latest.get(item_key(item))
        if row is not None and is_complete(row, verify):
            if (row.model, row.precision) != (model, precision):
                raise ResumeMismatch(
                    f"{folder} holds outputs made with model {row.model} at {row.precision}; "
                    f"resume with the same --model and --precision, or use another output folder"
                )
            done += 1
        else:
            todo.append(item)
    return ResumePlan(todo, done)


class ManifestWriter:
    """Appends rows to a manifest file, each line flushed and synced as it is written.

    Parameters
    ----------
    path
        The manifest file (created with its folder if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def write(self, row: ManifestRow) -> None:
        self._fh.write(row.to_json() + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def row_for_event(
    ev: BatchEvent,
    item: BatchItem,
    seconds: float,
    model: str,
    precision: str,
    cpu_seconds: float = 0.0,
) -> ManifestRow | None:
    """The manifest row for a batch's ``file_done`` / ``file_skipped`` / ``file_failed`` event."""
    status: Status
    if ev.kind == "file_done":
        status = "done"
    elif ev.kind == "file_skipped":
        status = "skipped"
    elif ev.kind == "file_failed":
        status = "failed"
    else:
        return None
    output = ev.output if status != "failed" else None
    return ManifestRow(
        input=item_key(item)[0],
        page=item_page(item),
        output=str(output.absolute()) if output is not None else "",
        status=status,
        reason=ev.message,
        seconds=round(seconds, 3),
        model=model,
        precision=precision,
        sha256=file_sha256(output) if status == "done" and output is not None else "",
        host=socket.gethostname(),
        cpu_seconds=round(cpu_seconds, 3),
    )


def recorded(
    events: Iterable[BatchEvent],
    items: Sequence[BatchItem],
    write: Callable[[ManifestRow], None],
    model: str,
    precision: str,
) -> Iterator[BatchEvent]:
    """Pass a single-machine batch's events through, writing a manifest row per finished item.

    ``items`` are the ones given to :func:`~liif_desktop.export.batch.run_batch` (an event's
    ``index`` points into them).
    """
    started: dict[int, tuple[float, float]] = {}
    for ev in events:
        if ev.kind == "file_started":
            started[ev.index] = (time.monotonic(), time.process_time())
        elif ev.kind in ("file_done", "file_skipped", "file_failed"):
            wall, cpu = started.pop(ev.index, (time.monotonic(), time.process_time()))
            seconds, cpu_seconds = time.monotonic() - wall, time.process_time() - cpu
            row = row_for_event(ev, items[ev.index], seconds, model, precision, cpu_seconds)
            if row is not None:
                write(row)
        yield ev


__all__ = [
    "MANIFEST_GLOB",
    "MANIFEST_NAME",
    "ItemKey",
    "ManifestRow",
    "ManifestWriter",
    "ResumeMismatch",
    "ResumePlan",
    "file_sha256",
    "is_complete",
    "item_key",
    "item_page",
    "latest_rows",
    "manifest_name",
    "plan_resume",
    "read_rows",
    "recorded",
    "row_for_event",
]

"""Work items exported by remote workers, results gathered by a driver; no Ray in here.

:class:`ItemWorker` is what each worker holds: one loaded model at one precision (pinned by the
driver) and the batch settings. It exports one (input, page) at a time through
:func:`~liif_desktop.export.batch.run_batch`, the same core as the single-machine path (same
pixels, metadata, atomic writes), and answers with a manifest row. :func:`gather` is the
driver's side: it turns rows arriving in any order into the same
:class:`~liif_desktop.export.batch.BatchEvent` stream as a local batch, writing the manifest as
it goes. :mod:`liif_desktop.export.ray_executor` joins the two with Ray Data; tests join them
with a plain loop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from liif_desktop.export.batch import (
    BatchEvent,
    BatchEventKind,
    BatchItem,
    BatchSettings,
    BatchSummary,
    run_batch,
)
from liif_desktop.export.manifest import ManifestRow, item_key, item_page, recorded
from liif_desktop.model.liif import LIIF

#: Status of a row from a worker that was cancelled before finishing its item (not recorded).
CANCELLED = "cancelled"


_PATH_FIELDS = ("source", "subfolder", "target")


def item_record(item: BatchItem, index: int) -> dict[str, Any]:
    """A work item as a plain row (what travels to the workers): index, source, page, item.

    ``item`` is the :class:`BatchItem` as JSON, every field of it (paths as text, tuples as
    lists), so fields added to it later travel too.
    """
    fields = {}
    for f in dataclasses.fields(BatchItem):
        value = getattr(item, f.name)
        if f.name in _PATH_FIELDS and value is not None:
            value = str(value.absolute()) if f.name != "subfolder" else value.as_posix()
        fields[f.name] = list(value) if isinstance(value, tuple) else value
    return {
        "index": index,
        "source": str(item.source.absolute()),
        "page": item_page(item),
        "item": json.dumps(fields),
    }


def record_item(record: dict[str, Any]) -> BatchItem:
    """The :class:`BatchItem` of a row made by :func:`item_record`."""
    fields = json.loads(record["item"])
    for name, value in fields.items():
        if name in _PATH_FIELDS and value is not None:
            fields[name] = Path(value)
        elif isinstance(value, list):
            fields[name] = tuple(value)
    return BatchItem(**fields)


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs besides its model.

    Attributes
    ----------
    settings
        The batch's settings, the precision already pinned to one value.
    model_id
        Model id or checkpoint path (recorded in the manifest).
    device
        ``'cpu'`` or ``'cuda'``.
    threads
        Torch threads per worker on CPU (None: leave torch's default).
    """

    settings: BatchSettings
    model_id: str
    device: str = "cpu"
    threads: int | None = None


def _missing_input_row(item: BatchItem, spec: WorkerSpec, host: str) -> ManifestRow:
    reason = (
        f"{item.source}: not found on worker {host}; inputs and outputs must be on storage "
        "every node mounts at the same path"
    )
    return ManifestRow(
        input=item_key(item)[0],
        page=item_page(item),
        output="",
        status="failed",
        reason=reason,
        seconds=0.0,
        model=spec.model_id,
        precision=spec.settings.export.precision,
        sha256="",
        host=host,
    )


class ItemWorker:
    """One model held by one worker; exports items one at a time.

    Parameters
    ----------
    model
        The model the driver loaded (moved to ``spec.device`` here).
    spec
        Settings, model id, device and threads.
    should_stop
        Polled between tiles; a cancelled item leaves no file and answers ``'cancelled'``.
    """

    def __init__(
        self, model: LIIF, spec: WorkerSpec, should_stop: Callable[[], bool] | None = None
    ) -> None:
        if spec.device == "cpu" and spec.threads is not None:
            torch.set_num_threads(spec.threads)
        self.model = model.to(spec.device).eval()
        self.spec = spec
        self.should_stop = should_stop
        self.host = socket.gethostname()

    def export(self, item: BatchItem) -> dict[str, Any]:
        """Export ``item``; a manifest row as a dict (plus ``too_large``), or a cancelled mark."""
        if not os.path.lexists(item.source):
            row = _missing_input_row(item, self.spec, self.host)
            return {**asdict(row), "too_large": False}
        rows: list[ManifestRow] = []
        summary: BatchSummary | None = None
        precision = self.spec.settings.export.precision
        events = run_batch([item], self.model, self.spec.settings, self.should_stop)
        for ev in recorded(events, [item], rows.append, self.spec.model_id, precision):
            if ev.summary is not None:
                summary = ev.summary
        if not rows:
            key = item_key(item)
            return {"input": key[0], "page": key[1], "status": CANCELLED}
        row = dataclasses.replace(rows[0], host=self.host)
        too_large = summary is not None and bool(summary.too_large)
        return {**asdict(row), "too_large": too_large}

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Ray Data's batch call: columns of work rows in, columns of result rows out."""
        count = len(batch["item"])
        results = []
        for i in range(count):
            record = {name: batch[name][i] for name in batch}
            item = record_item(record)
            if self.should_stop is not None and self.should_stop():
                key = item_key(item)
                result: dict[str, Any] = {"input": key[0], "page": key[1], "status": CANCELLED}
            else:
                result = self.export(item)
            result["index"] = int(record["index"])
            results.append(_full_result(result))
        return {name: [r[name] for r in results] for name in RESULT_COLUMNS}


#: Columns of a worker's answer (every row has all of them, for Ray Data's tables).
RESULT_COLUMNS = (
    *(f.name for f in dataclasses.fields(ManifestRow)),
    "too_large",
    "index",
)
_EMPTY_RESULT: dict[str, Any] = {
    "output": "",
    "reason": "",
    "seconds": 0.0,
    "model": "",
    "precision": "",
    "sha256": "",
    "host": "",
    "cpu_seconds": 0.0,
    "too_large": False,
}


def _full_result(result: dict[str, Any]) -> dict[str, Any]:
    return {**_EMPTY_RESULT, **result}


def result_row(result: dict[str, Any]) -> ManifestRow:
    """The manifest row in a worker's answer."""
    names = {f.name for f in dataclasses.fields(ManifestRow)}
    values = {k: v for k, v in result.items() if k in names}
    values["page"] = int(values["page"])
    values["seconds"] = float(values["seconds"])
    values["cpu_seconds"] = float(values.get("cpu_seconds", 0.0))
    return ManifestRow(**values)


_KINDS: dict[str, BatchEventKind] = {
    "done": "file_done",
    "skipped": "file_skipped",
    "failed": "file_failed",
}


def _in_input_order(summary: BatchSummary, items: Sequence[BatchItem]) -> None:
    """Sort the summary's lists as a local batch has them (answers come in any order)."""
    position = {item.source: i for i, item in enumerate(items)}
    for entries in (summary.written, summary.skipped, summary.failed, summary.warnings):
        entries.sort(key=lambda entry: position.get(entry[0], len(position)))
    summary.too_large.sort(key=lambda source: position.get(source, len(position)))


def gather(
    items: Sequence[BatchItem],
    results: Iterable[dict[str, Any]],
    write: Callable[[ManifestRow], None],
    should_stop: Callable[[], bool] | None = None,
    cancel: Callable[[], None] | None = None,
) -> Iterator[BatchEvent]:
    """The driver: worker answers (any order) → manifest rows and batch events.

    Parameters
    ----------
    items
        The work items sent (a result's ``index`` points into them).
    results
        Worker answers as they arrive.
    write
        Called with each finished item's manifest row.
    should_stop
        Polled between answers; once it says stop, ``cancel`` is called (the workers are
        told) and the remaining answers are drained so that no finished file goes unrecorded.
    cancel
        Tells the workers to stop.

    Yields
    ------
    BatchEvent
        ``'file_done'`` / ``'file_skipped'`` / ``'file_failed'`` and a ``'progress'`` per item
        in the order they finish (``index`` counts finished items), then ``'finished'`` with
        the summary, as :func:`~liif_desktop.export.batch.run_batch` does.
    """
    start = time.monotonic()
    summary = BatchSummary()
    total = len(items)
    finished = 0
    for result in results:
        if should_stop is not None and not summary.cancelled and should_stop():
            summary.cancelled = True
            if cancel is not None:
                cancel()
        if result["status"] == CANCELLED:
            summary.cancelled = True
            continue
        row = result_row(result)
        write(row)
        item = items[int(result["index"])]
        output = Path(row.output) if row.output else None
        if row.status == "done":
            assert output is not None
            summary.written.append((item.source, output))
            if row.reason:
                summary.warnings.append((item.source, row.reason))
        elif row.status == "skipped":
            assert output is not None
            summary.skipped.append((item.source, output))
        else:
            summary.failed.append((item.source, row.reason))
            if result.get("too_large"):
                summary.too_large.append(item.source)
        finished += 1
        elapsed = time.monotonic() - start
        overall = finished / total if total else 1.0
        eta = elapsed / overall * (1 - overall)
        for kind in (_KINDS[row.status], "progress"):
            yield BatchEvent(
                kind,
                finished - 1,
                total,
                item.source,
                output,
                row.reason,
                file_fraction=1.0,
                overall_fraction=overall,
                eta=eta,
                elapsed=elapsed,
            )
    if finished < total and should_stop is not None and should_stop():
        summary.cancelled = True
    _in_input_order(summary, items)
    summary.elapsed = time.monotonic() - start
    yield BatchEvent.finished(total, summary)


def run_in_process(
    items: Sequence[BatchItem],
    model: LIIF,
    spec: WorkerSpec,
    write: Callable[[ManifestRow], None],
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[BatchEvent]:
    """The distributed path with one in-process worker (what Ray runs, without Ray)."""
    worker = ItemWorker(model, spec, should_stop)

    def answers() -> Iterator[dict[str, Any]]:
        for index, item in enumerate(items):
            record = item_record(item, index)
            batch = {name: [value] for name, value in record.items()}
            out = worker(batch)
            yield {name: out[name][0] for name in out}

    return gather(items, answers(), write, should_stop)


__all__ = [
    "CANCELLED",
    "RESULT_COLUMNS",
    "ItemWorker",
    "WorkerSpec",
    "gather",
    "item_record",
    "record_item",
    "result_row",
    "run_in_process",
]

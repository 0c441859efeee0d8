"""Export of several pages from the export dialog, as one export's progress.

Pages go through the batch core (:func:`liif_desktop.export.batch.run_batch`): one file per
page (``name_p2.png`` …), or all of them in one multi-page PDF / TIFF. The batch's events are
reported as :class:`~liif_desktop.export.job.ExportProgress` steps over all pages, so the
export dialog shows them like a single export; the first failed page stops the export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from liif_desktop.export.batch import BatchItem, BatchSettings, run_batch
from liif_desktop.export.job import ExportProgress, ExportSettings
from liif_desktop.export.safety import ExportError
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF

_STEPS = 1000


def page_target(target: Path, page: int, page_count: int) -> Path:
    """``out.png`` → ``out_p03.png`` for page 3 of 12."""
    return target.with_name(f"{target.stem}_p{page:0{len(str(page_count))}d}{target.suffix}")


def export_page_selection(
    source: Path,
    pages: Sequence[int],
    page_count: int,
    model: LIIF,
    target: Path,
    settings: ExportSettings,
    combine: bool,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[ExportProgress]:
    """Export ``pages`` of ``source``: one file per page, or one multi-page ``target``.

    Parameters
    ----------
    target
        With ``combine``, the multi-page file (``.pdf``, ``.tif``); otherwise the name each
        page's file is derived from (:func:`page_target`).

    Yields
    ------
    ExportProgress
        ``'render'`` steps (``done``/``total`` in thousandths of the whole job), then one
        ``'done'`` naming the (last) file written.

    Raises
    ------
    ExportError
        The first page (or file) that failed; files already written stay.
    """
    if combine:
        items = [BatchItem(source, target=target, pages=tuple(pages), page_count=page_count)]
    else:
        items = [
            BatchItem(source, target=page_target(target, p, page_count), pages=(p,)) for p in pages
        ]
    batch = BatchSettings(settings, target.parent, allow_huge=True)
    for event in run_batch(items, model, batch, should_stop):
        if event.kind == "file_failed":
            raise ExportError(event.message)
        if event.kind == "progress":
            done = round(event.overall_fraction * _STEPS)
            yield ExportProgress("render", done, _STEPS, event.elapsed, event.eta, event.output)
        if event.summary is not None:
            summary = event.summary
            if summary.cancelled:
                raise Cancelled
            written = [out for _, out in summary.written]
            if not written and summary.skipped:
                skipped = summary.skipped[-1][1]
                yield ExportProgress("skipped", 0, _STEPS, event.elapsed, 0.0, skipped)
                return
            notes = tuple(w for _, w in summary.warnings)
            if len(written) > 1:
                notes = (f"{len(written)} pages written, {written[0].name} … {written[-1].name}",)
                notes += tuple(w for _, w in summary.warnings)
            yield ExportProgress(
                "done", _STEPS, _STEPS, event.elapsed, 0.0, written[-1], None, notes
            )


__all__ = ["export_page_selection", "page_target"]

"""Batches: many inputs through the export core, going on after a failed file."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from liif_desktop.export.imageio import ImageLoadError, ImageTooLarge, load_image
from liif_desktop.export.job import ExportProgress, ExportSettings, export_image
from liif_desktop.export.multipage import export_pages, multipage_format
from liif_desktop.export.naming import DEFAULT_PATTERN, output_name, validate_pattern
from liif_desktop.export.pages import INPUT_SUFFIXES, is_pdf, load_page, open_pages
from liif_desktop.export.safety import ExportError, free_name
from liif_desktop.model.decoder import Cancelled
from liif_desktop.model.liif import LIIF


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch.

    Attributes
    ----------
    source
        The input file.
    subfolder
        Folder under the output folder to write to (keeps a recursive tree's layout).
    target
        A fixed output path (single-file exports); None: named by the batch's pattern.
    pages
        Pages (1-based) of a PDF or multi-page TIFF: one page per item, or several bound into
        one multi-page ``target`` (``.pdf`` / ``.tif``). None: the file as a single image.
    page_count
        The source's page count (pads ``{page}`` in output names).
    """

    source: Path
    subfolder: Path = Path()
    target: Path | None = None
    pages: tuple[int, ...] | None = None
    page_count: int = 1


def _looks_like_image(path: Path) -> bool:
    return path.suffix.lower() in INPUT_SUFFIXES and not path.name.startswith(".")


def collect_inputs(paths: Iterable[str | Path], recursive: bool = False) -> list[BatchItem]:
    """Expand files and folders into batch items, in a stable order.

    A file given by name is always included (a bad one is reported when processed). In a
    folder, entries with an image suffix are included, links to missing files too (they are
    reported, not silently dropped); sub-folders only with ``recursive``. Duplicates are
    dropped.
    """
    items: list[BatchItem] = []
    seen: set[Path] = set()

    def add(path: Path, subfolder: Path) -> None:
        key = path.absolute()
        if key not in seen:
            seen.add(key)
            items.append(BatchItem(path, subfolder))

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path, Path())
            continue
        entries = path.rglob("*") if recursive else path.iterdir()
        for entry in sorted(entries):
            if entry.is_dir() or not _looks_like_image(entry):
                continue
            rel = entry.parent.relative_to(path)
            if any(part.startswith(".") for part in rel.parts):
                continue
            add(entry, rel)
    return items


@dataclass(frozen=True)
class BatchSettings:
    """How a batch is written.

    Attributes
    ----------
    export
        Size, format, quality, overwrite policy, precision.
    output_dir
        Folder the outputs go to (created if missing).
    pattern
        Output name pattern (see :mod:`liif_desktop.export.naming`).
    allow_huge
        Accept inputs above the decompression-bomb pixel limit.
    """

    export: ExportSettings
    output_dir: Path
    pattern: str = DEFAULT_PATTERN
    allow_huge: bool = False

    def __post_init__(self) -> None:
        validate_pattern(self.pattern)


@dataclass
class BatchSummary:
    """What a batch did.

    Attributes
    ----------
    written
        (input, output) of each file written.
    skipped
        (input, existing output) of each file skipped.
    failed
        (input, reason) of each file that failed.
    too_large
        Inputs that failed only because they exceed the pixel limit.
    cancelled
        True if the batch was cancelled (the rest was not processed).
    """

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, Path]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    too_large: list[Path] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    elapsed: float = 0.0

    def describe(self) -> str:
        """One line: ``'16 written, 0 skipped, 4 failed in 3.2 s'``."""
        text = (
            f"{len(self.written)} written, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed in {self.elapsed:.1f} s"
        )
        return text + (" (cancelled)" if self.cancelled else "")


BatchEventKind = Literal[
    "file_started", "progress", "file_done", "file_skipped", "file_failed", "finished"
]


@dataclass(frozen=True)
class BatchEvent:
    """One step of a batch.

    Attributes
    ----------
    kind
        ``'file_started'``, ``'progress'`` (within the file), ``'file_done'``,
        ``'file_skipped'``, ``'file_failed'`` (``message`` is the reason), ``'finished'``.
    index, total
        The current file's position and the number of files.
    source, output
        The current input and its output path (when known).
    message
        Failure reason, or the file's warnings joined.
    file_fraction, overall_fraction
        Progress of this file and of the batch, 0–1.
    eta
        Estimated seconds left for the batch (None until measurable).
    elapsed
        Seconds since the batch started.
    summary
        Filled in on ``'finished'``.
    """

    kind: BatchEventKind
    index: int
    total: int
    source: Path | None = None
    output: Path | None = None
    message: str = ""
    file_fraction: float = 0.0
    overall_fraction: float = 0.0
    eta: float | None = None
    file_eta: float | None = None
    elapsed: float = 0.0
    summary: BatchSummary | None = None

    @classmethod
    def finished(cls, total: int, summary: BatchSummary) -> BatchEvent:
        """The batch's last event: everything accounted for, with the summary."""
        return cls(
            "finished",
            total,
            total,
            overall_fraction=1.0,
            eta=0.0,
            elapsed=summary.elapsed,
            summary=summary,
            message=summary.describe(),
        )


def _namer(
    item: BatchItem, settings: BatchSettings, produced: set[Path]
) -> Callable[[tuple[int, int], tuple[int, int], str], Path]:
    def name(in_size: tuple[int, int], out_size: tuple[int, int], fmt: str) -> Path:
        if item.target is not None:
            return item.target
        folder = settings.output_dir / item.subfolder
        page = item.pages[0] if item.pages is not None and len(item.pages) == 1 else None
        name = output_name(
            settings.pattern, item.source, in_size, out_size, fmt, page, item.page_count
        )
        path = folder / name
        if path.absolute() in produced:  # two inputs named alike: never overwrite our own
            path = free_name(path, produced)
        return path

    return name


def _export_steps(
    item: BatchItem,
    model: LIIF,
    settings: BatchSettings,
    produced: set[Path],
    should_stop: Callable[[], bool] | None,
    protected: tuple[Path, ...],
) -> Iterator[ExportProgress]:
    """The export generator for one item (loading errors are raised here, not later)."""
    pages, target = item.pages, item.target
    if pages and target is not None and multipage_format(target):
        if len(pages) > 1 or multipage_format(target) == "PDF":
            source = open_pages(item.source)
            return export_pages(
                source, pages, model, target, settings.export, should_stop, protected,
                settings.allow_huge,
            )  # fmt: skip
    if pages is not None or is_pdf(item.source):
        image = load_page(item.source, pages[0] if pages else 1, settings.allow_huge)
    else:
        image = load_image(item.source, allow_huge=settings.allow_huge, compact=True)
    namer = _namer(item, settings, produced)
    return export_image(image, model, namer, settings.export, should_stop, protected)


def batch_eta(elapsed: float, overall: float, file_eta: float | None) -> float | None:
    """Seconds left for the whole batch: the pace so far, but never less than what the
    current file alone still needs (files differ in size, so the pace can undershoot)."""
    if overall <= 0:
        return file_eta
    eta = elapsed / overall * (1 - overall)
    return eta if file_eta is None else max(eta, file_eta)


def run_batch(
    items: list[BatchItem],
    model: LIIF,
    settings: BatchSettings,
    should_stop: Callable[[], bool] | None = None,
) -> Generator[BatchEvent, None, None]:
    """Export every item, yielding events; a failed file is reported and the batch goes on.

    Parameters
    ----------
    items
        Inputs (see :func:`collect_inputs`).
    model
        LIIF model in eval mode.
    settings
        Output folder, pattern and export settings.
    should_stop
        Cancel check; a cancelled batch stops after cleaning up the current file.

    Yields
    ------
    BatchEvent
        Ending with one ``'finished'`` event that carries the :class:`BatchSummary`.
    """
    start = time.monotonic()
    summary = BatchSummary()
    protected = tuple(item.source for item in items)
    produced: set[Path] = set()
    total = len(items)

    def event(
        kind: BatchEventKind,
        index: int,
        source: Path | None = None,
        output: Path | None = None,
        message: str = "",
        file_fraction: float = 0.0,
        file_eta: float | None = None,
    ) -> BatchEvent:
        overall = (index + file_fraction) / total if total else 1.0
        if kind in ("file_done", "file_skipped", "file_failed"):
            overall = (index + 1) / total
        elapsed = time.monotonic() - start
        return BatchEvent(
            kind,
            index,
            total,
            source,
            output,
            message,
            file_fraction,
            overall,
            eta=batch_eta(elapsed, overall, file_eta),
            file_eta=file_eta,
            elapsed=elapsed,
        )

    for index, item in enumerate(items):
        if should_stop is not None and should_stop():
            summary.cancelled = True
            break
        yield event("file_started", index, source=item.source)
        try:
            last = None
            for progress in _export_steps(item, model, settings, produced, should_stop, protected):
                last = progress
                if progress.phase in ("render", "write"):
                    yield event(
                        "progress",
                        index,
                        source=item.source,
                        output=progress.output,
                        file_fraction=progress.fraction,
                        file_eta=progress.eta,
                    )
            assert last is not None
            if last.phase == "skipped":
                assert last.output is not None
                summary.skipped.append((item.source, last.output))
                yield event("file_skipped", index, source=item.source, output=last.output)
                continue
            assert last.output is not None
            produced.add(last.output.absolute())
            summary.written.append((item.source, last.output))
            summary.warnings += [(item.source, w) for w in last.warnings]
            yield event(
                "file_done",
                index,
                source=item.source,
                output=last.output,
                message="; ".join(last.warnings),
            )
        except Cancelled:
            summary.cancelled = True
            break
        except (ImageLoadError, ExportError) as e:
            if isinstance(e, ImageTooLarge):
                summary.too_large.append(item.source)
            reason = str(e)
            summary.failed.append((item.source, reason))
            yield event("file_failed", index, source=item.source, message=reason)
        except MemoryError:
            reason = f"{item.source}: not enough memory"
            summary.failed.append((item.source, reason))
            yield event("file_failed", index, source=item.source, message=reason)
        except Exception as e:  # a batch goes on after any single file's failure
            reason = f"{item.source}: {e.__class__.__name__}: {e}"
            summary.failed.append((item.source, reason))
            yield event("file_failed", index, source=item.source, message=reason)
    summary.elapsed = time.monotonic() - start
    yield BatchEvent.finished(total, summary)


__all__ = [
    "BatchEvent",
    "BatchItem",
    "BatchSettings",
    "BatchSummary",
    "collect_inputs",
    "run_batch",
]

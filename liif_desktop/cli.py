"""``liif-upscale``: upscale image files from the command line (no Qt).

The rules all options follow (units of work, ``-o``, output, precision, exit codes) are in
:data:`liif_desktop.cli_rules.RULES`. torch is imported only once the arguments are read, so
``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from liif_desktop import __version__
from liif_desktop.cli_rules import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    RULES,
    exit_code_for,
    stop_on_signals,
)
from liif_desktop.export.imagewrite import FORMAT_SUFFIXES, format_for_suffix, normalise_format
from liif_desktop.export.job_options import JobOptions, add_job_arguments, positive_int
from liif_desktop.export.naming import (
    DEFAULT_PATTERN,
    PATTERN_FIELDS,
    format_duration,
    validate_pattern,
)
from liif_desktop.export.safety import OverwritePolicy

if TYPE_CHECKING:  # torch is imported only after the arguments are read
    from liif_desktop.export.batch import BatchEvent, BatchItem, BatchSettings, BatchSummary
    from liif_desktop.export.job import OutputSize
    from liif_desktop.model.liif import LIIF

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


class UsageError(Exception):
    """Arguments that cannot work together; reported with exit code 2."""

    show_usage = True


class BadModelFile(UsageError):
    """A model file that cannot be used: one line says which and why (exit code 2)."""

    show_usage = False


class MissingModel(UsageError):
    """A known model that is not installed: one line says how to get it (exit code 2)."""

    show_usage = False


def _size_arg(text: str) -> tuple[int, int, bool]:
    """``'1000x700'`` → (1000, 700, True): fit inside; ``'1000x700!'`` → exactly (ImageMagick)."""
    exact = text.endswith("!")
    parts = text.removesuffix("!").lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        msg = f"expected WIDTHxHEIGHT such as 1920x1080 (or 1920x1080! for exactly), got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return width, height, not exact


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"the scale must be a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``liif-upscale`` argument parser."""
    fields = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
    parser = argparse.ArgumentParser(
        prog="liif-upscale",
        description="Upscale images to any size with LIIF (Local Implicit Image Function).",
        epilog=RULES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="images, PDFs or folders")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("-s", "--scale", type=_positive_float, help="scale factor, e.g. 2 or 3.5")
    size.add_argument(
        "--size",
        type=_size_arg,
        metavar="WxH[!]",
        help="fit inside WxH keeping the aspect ratio; WxH! for exactly WxH (x and y scales "
        "may then differ)",
    )
    size.add_argument("--width", type=positive_int, metavar="W", help="output width")
    size.add_argument("--height", type=positive_int, metavar="H", help="output height")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="output file for one unit of work; a folder for several (see the rules below)",
    )
    parser.add_argument("--model", help="model id or checkpoint path (default: best available)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="auto (default): measured once per machine, bf16 where it is faster than fp32 "
        "here, else fp32; fp32 is exact (reproducible results)",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="look for images in sub-folders too"
    )
    parser.add_argument(
        "--format",
        type=str.lower,
        choices=["png", "jpeg", "jpg", "tiff", "tif", "webp"],
        help="output format (default: from -o's suffix, else the input's format, else PNG)",
    )
    parser.add_argument("--quality", type=positive_int, default=92, help="JPEG/WebP quality")
    parser.add_argument(
        "--pattern", default=DEFAULT_PATTERN, help=f"output name pattern; fields: {fields}"
    )
    parser.add_argument(
        "--overwrite",
        default="rename",
        choices=[p.value for p in OverwritePolicy],
        help="when an output exists: skip it, rename the new one (default), or overwrite",
    )
    parser.add_argument(
        "--allow-huge",
        action="store_true",
        help="accept images above the decompression-bomb pixel limit",
    )
    parser.add_argument(
        "--pages",
        metavar="RANGE",
        help="pages of PDFs and multi-page TIFFs, e.g. 2-4,7 or 5- (default: all); one "
        "output per page ({page} in --pattern), or all in one file with -o OUT.pdf / OUT.tif",
    )
    parser.add_argument(
        "--invention-map",
        action="store_true",
        help="also write a greyscale map of where the model invented detail (NAME.invented.png)",
    )
    parser.add_argument("--tile", type=positive_int, default=256, help=argparse.SUPPRESS)
    add_job_arguments(parser)
    return parser


def _output_size(args: argparse.Namespace) -> OutputSize:
    from liif_desktop.export.job import OutputSize

    if args.scale is not None:
        return OutputSize(scale=args.scale)
    if args.size is not None:
        width, height, fit = args.size
        return OutputSize(width=width, height=height, keep_aspect=fit)
    return OutputSize(width=args.width, height=args.height)


def _skipped_subfolders(inputs: Sequence[str]) -> list[str]:
    """A note for each input folder whose sub-folders are left out (no ``-r``)."""
    notes = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            subs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
            if subs:
                notes.append(
                    f"note: {raw}: skipping {len(subs)} sub-folder(s) (use -r to include them)"
                )
    return notes


def _plan(args: argparse.Namespace) -> tuple[list[BatchItem], BatchSettings]:
    """Batch items and settings from the arguments (raises UsageError)."""
    from liif_desktop.export.batch import BatchItem, BatchSettings, collect_inputs
    from liif_desktop.export.job import ExportSettings
    from liif_desktop.export.multipage import multipage_format
    from liif_desktop.export.page_items import expand_pages

    fmt = normalise_format(args.format) if args.format else None
    output = Path(args.output).expanduser()
    as_folder = args.output.endswith(("/", os.sep))
    try:
        validate_pattern(args.pattern)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    many = (
        len(args.inputs) > 1
        or args.recursive
        or any(Path(p).is_dir() for p in args.inputs)
        or output.is_dir()
        or as_folder
    )
    items = collect_inputs(args.inputs, recursive=args.recursive)
    if not items:
        raise UsageError("no input images found in " + ", ".join(args.inputs))
    if not many:
        single_format = format_for_suffix(output.suffix) or multipage_format(output)
        if fmt is None and single_format is None:
            suffixes = ", ".join(FORMAT_SUFFIXES.values())
            raise UsageError(
                f"cannot tell the output format from {output} (use a suffix such as "
                f"{suffixes}, or --format)"
            )
        implied = format_for_suffix(output.suffix)
        if fmt is not None and implied not in (None, fmt):
            raise UsageError(f"-o {output} says {implied} but --format says {fmt}")
        items = [BatchItem(items[0].source, target=output)]
    elif output.exists() and not output.is_dir():
        raise UsageError(f"{output} is a file; with several inputs -o must be a folder")
    elif not output.is_dir() and not as_folder and format_for_suffix(output.suffix) is not None:
        raise UsageError(
            f"-o {args.output} names a file, but {len(items)} inputs need a folder "
            f"(write -o {args.output}{os.sep} if you mean a folder of that name)"
        )
    try:
        items = expand_pages(items, args.pages)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    export = ExportSettings(
        size=_output_size(args),
        format=fmt,
        quality=min(100, args.quality),
        policy=OverwritePolicy(args.overwrite),
        precision=args.precision,
        tile=args.tile,
    )
    settings = BatchSettings(export, output, args.pattern, allow_huge=args.allow_huge)
    return items, settings


class Reporter:
    """Progress on a terminal (a bar redrawn in place), plain messages otherwise."""

    def __init__(self, stream: TextIO, batch: bool) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.batch = batch
        self._line_open = False
        self._started = 0.0

    def _clear(self) -> None:
        if self._line_open:
            self.stream.write("\r\x1b[K")
            self._line_open = False

    def message(self, text: str) -> None:
        self._clear()
        print(text, file=self.stream, flush=True)

    def on_event(self, ev: BatchEvent) -> None:
        if ev.kind == "file_failed":
            self.message(f"error: {ev.message}")
        elif ev.kind == "file_skipped":
            self.message(f"skipped {ev.source}: {ev.output} exists")
        elif ev.kind == "file_done" and ev.message:
            self.message(f"warning: {ev.source}: {ev.message}")
        if ev.kind == "file_started":
            self._started = ev.elapsed
        elif ev.kind == "file_done" and ev.output is not None:
            self._done(ev)
        if self.interactive and ev.kind in ("file_started", "progress"):
            self._draw(ev)

    def _done(self, ev: BatchEvent) -> None:
        """One line per file on a terminal; in a pipe only where the name differs from -o."""
        assert ev.output is not None
        if self.requested is not None and ev.output != self.requested:
            self.message(f"wrote {ev.output} ({self.requested} exists)")
        elif self.interactive:
            seconds = ev.elapsed - self._started
            self.message(f"{ev.source} -> {ev.output} ({format_duration(seconds)})")

    requested: Path | None = None
    """The file -o names when the run has one unit (None: -o is a folder)."""

    def _draw(self, ev: BatchEvent) -> None:
        columns = shutil.get_terminal_size((80, 20)).columns
        name = ev.source.name if ev.source else ""
        head = f"[{ev.index + 1}/{ev.total}] " if self.batch else ""
        tail = f" {ev.file_fraction * 100:3.0f}%  ETA {format_duration(ev.file_eta, '--:--')}"
        if self.batch:
            tail += (
                f"  all {ev.overall_fraction * 100:3.0f}% ETA {format_duration(ev.eta, '--:--')}"
            )
        bar_width = max(10, min(30, columns - len(head) - len(tail) - len(name) - 6))
        filled = int(bar_width * ev.file_fraction)
        line = f"{head}{name} [{'#' * filled}{'.' * (bar_width - filled)}]{tail}"
        self.stream.write("\r\x1b[K" + line[: columns - 1])
        self.stream.flush()
        self._line_open = True

    def summary(self, summary: BatchSummary) -> None:
        self._clear()
        if self.batch or summary.failed:
            self.message(summary.describe())
        for source, reason in summary.failed if self.batch else []:
            self.message(f"  failed: {source}: {reason}")
        if summary.too_large:
            self.message(
                f"{len(summary.too_large)} image(s) exceed the pixel limit that guards against "
                "decompression bombs; if you trust them, rerun with --allow-huge"
            )


def _load_model(args: argparse.Namespace) -> LIIF:
    """The model on the chosen device (raises UsageError)."""
    from liif_desktop.model.checkpoint import CheckpointError
    from liif_desktop.model.device import select_device
    from liif_desktop.weights import (
        ModelNotInstalled,
        WeightsError,
        default_model,
        find_model,
        load_model,
    )

    try:
        # A Ray driver only loads the model to hand it to the workers, which pick their device.
        device = select_device("cpu" if args.executor == "ray" else args.device)
        info = find_model(args.model) if args.model else default_model()
        if info is None:
            raise UsageError(
                "no model is available; run `python -m liif_desktop.weights fetch` or pass "
                "--model PATH"
            )
        return load_model(info, device)
    except ModelNotInstalled as exc:
        raise MissingModel(str(exc)) from exc
    except CheckpointError as exc:
        raise BadModelFile(" ".join(str(exc).splitlines())) from exc
    except (ValueError, WeightsError) as exc:
        raise UsageError(str(exc)) from exc


def _model_id(args: argparse.Namespace) -> str:
    """The id (or checkpoint path) of the model :func:`_load_model` loads."""
    from liif_desktop.weights import default_model, find_model

    info = find_model(args.model) if args.model else default_model()
    return info.id if info is not None else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``liif-upscale``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    reporter = Reporter(sys.stderr, batch=True)
    try:
        items, settings = _plan(args)
        reporter.batch = items[0].target is None
        reporter.requested = items[0].target
        options = JobOptions.from_args(args)
        try:
            options.check(reporter.batch)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if not args.recursive:
            for note in _skipped_subfolders(args.inputs):
                reporter.message(note)
        model = _load_model(args)
        from liif_desktop.render.precision import resolve_precision

        precision = resolve_precision(args.precision, next(model.parameters()).device)
        settings = replace(settings, export=replace(settings.export, precision=precision))
    except UsageError as exc:
        if exc.show_usage:
            parser.print_usage(sys.stderr)
        print(f"liif-upscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from liif_desktop.export.batch import BatchSummary, run_batch
    from liif_desktop.export.invention_map import write_maps_for
    from liif_desktop.export.job_runner import run_job
    from liif_desktop.export.manifest import ResumeMismatch
    from liif_desktop.export.ray_executor import RayJobFailed, RayUnavailable

    summary = BatchSummary(cancelled=True)
    map_failed = False
    if reporter.batch:
        events = run_job(items, model, _model_id(args), settings, options, None, reporter.message)
    else:
        events = run_batch(items, model, settings)
    try:
        with stop_on_signals():
            for ev in events:
                reporter.on_event(ev)
                if args.invention_map and not write_maps_for(
                    ev, model, args.allow_huge, reporter.message
                ):
                    map_failed = True
                if ev.summary is not None:
                    summary = ev.summary
    except KeyboardInterrupt as stop:
        reporter.message("stopped; no partial file was left")
        return exit_code_for(stop)
    except (ResumeMismatch, RayUnavailable) as exc:
        reporter.message(f"liif-upscale: error: {exc}")
        return EXIT_USAGE
    except RayJobFailed as exc:
        reporter.message(f"liif-upscale: error: {exc}")
        return EXIT_FAILED
    reporter.summary(summary)
    return EXIT_FAILED if summary.failed or summary.cancelled or map_failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

"""``liif-upscale``: upscale image files from the command line (no Qt).

Exit codes: 0 everything written (or skipped as asked), 1 some files failed (or the run was
cancelled), 2 usage error (bad arguments, unknown model, no inputs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from liif_desktop.export.batch import (
    BatchEvent,
    BatchItem,
    BatchSettings,
    BatchSummary,
    collect_inputs,
    run_batch,
)
from liif_desktop.export.imagewrite import FORMAT_SUFFIXES, format_for_suffix, normalise_format
from liif_desktop.export.job import ExportSettings, OutputSize
from liif_desktop.export.multipage import multipage_format
from liif_desktop.export.naming import (
    DEFAULT_PATTERN,
    PATTERN_FIELDS,
    format_duration,
    validate_pattern,
)
from liif_desktop.export.page_items import expand_pages
from liif_desktop.export.safety import OverwritePolicy
from liif_desktop.model.checkpoint import CheckpointError
from liif_desktop.model.device import select_device
from liif_desktop.model.liif import LIIF
from liif_desktop.weights import (
    ModelNotInstalled,
    WeightsError,
    default_model,
    find_model,
    load_model,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Arguments that cannot work together; reported with exit code 2."""

    show_usage = True


class MissingModel(UsageError):
    """A known model that is not installed: one line says how to get it (exit code 2)."""

    show_usage = False


def _size_arg(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        msg = f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return width, height


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"the scale must be a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``liif-upscale`` argument parser."""
    fields = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
    parser = argparse.ArgumentParser(
        prog="liif-upscale",
        description="Upscale images to any size with LIIF (Local Implicit Image Function).",
        epilog="Exit codes: 0 ok, 1 some files failed, 2 usage error.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="images, PDFs or folders")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("-s", "--scale", type=_positive_float, help="scale factor, e.g. 2 or 3.5")
    size.add_argument(
        "--size", type=_size_arg, metavar="WxH", help="fit inside WxH, keeping the aspect ratio"
    )
    size.add_argument("--width", type=_positive_int, metavar="W", help="output width")
    size.add_argument("--height", type=_positive_int, metavar="H", help="output height")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="output file for a single input; output folder for several inputs or -r",
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
    parser.add_argument("--quality", type=_positive_int, default=92, help="JPEG/WebP quality")
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
    parser.add_argument("--tile", type=_positive_int, default=256, help=argparse.SUPPRESS)
    return parser


def _output_size(args: argparse.Namespace) -> OutputSize:
    if args.scale is not None:
        return OutputSize(scale=args.scale)
    if args.size is not None:
        return OutputSize(width=args.size[0], height=args.size[1], keep_aspect=True)
    return OutputSize(width=args.width, height=args.height)


def _plan(args: argparse.Namespace) -> tuple[list[BatchItem], BatchSettings]:
    """Batch items and settings from the arguments (raises UsageError)."""
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
        if self.interactive and ev.kind in ("file_started", "progress"):
            self._draw(ev)

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
    try:
        device = select_device(args.device)
        info = find_model(args.model) if args.model else default_model()
        if info is None:
            raise UsageError(
                "no model is available; run `python -m liif_desktop.weights fetch` or pass "
                "--model PATH"
            )
        return load_model(info, device)
    except ModelNotInstalled as exc:
        raise MissingModel(str(exc)) from exc
    except (ValueError, WeightsError, CheckpointError) as exc:
        raise UsageError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``liif-upscale``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    reporter = Reporter(sys.stderr, batch=True)
    try:
        items, settings = _plan(args)
        reporter.batch = items[0].target is None
        model = _load_model(args)
        from liif_desktop.render.precision import resolve_precision

        precision = resolve_precision(args.precision, next(model.parameters()).device)
        settings = replace(settings, export=replace(settings.export, precision=precision))
    except UsageError as exc:
        if exc.show_usage:
            parser.print_usage(sys.stderr)
        print(f"liif-upscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary = BatchSummary(cancelled=True)
    try:
        for ev in run_batch(items, model, settings):
            reporter.on_event(ev)
            if ev.summary is not None:
                summary = ev.summary
    except KeyboardInterrupt:
        reporter.message("cancelled; no partial file was left")
        return 130
    reporter.summary(summary)
    return EXIT_FAILED if summary.failed or summary.cancelled else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

"""The large-job options of ``liif-upscale``: ``--resume``, ``--shard``, ``--executor``, Ray's.

Kept free of torch (the CLI builds its parser before importing it); :mod:`job_runner` runs
them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from liif_desktop.export.shard import Shard


def _shard_arg(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (shared with the CLI's own options)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--resume``, ``--shard``, ``--executor`` and the Ray options to ``parser``."""
    group = parser.add_argument_group(
        "large jobs", "resume, split or distribute a batch written to an output folder"
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs whose output the folder's manifest records as complete",
    )
    group.add_argument(
        "--shard",
        type=_shard_arg,
        metavar="I/N",
        help="do only shard I of N of the inputs (e.g. a Slurm array task); 1 <= I <= N",
    )
    group.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray"],
        help="run here (default) or on a Ray cluster (needs liif-desktop[cluster])",
    )
    group.add_argument(
        "--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)"
    )
    group.add_argument(
        "--workers", type=positive_int, help="Ray actors (default: one per GPU, else per CPU)"
    )
    group.add_argument(
        "--threads-per-worker",
        type=positive_int,
        default=1,
        metavar="T",
        help="torch threads of each Ray actor on CPU (default 1)",
    )


@dataclass(frozen=True)
class JobOptions:
    """The large-job options of one run (see :func:`add_job_arguments`)."""

    resume: bool = False
    shard: Shard | None = None
    executor: str = "local"
    address: str | None = None
    workers: int | None = None
    threads: int = 1
    device: str = "auto"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> JobOptions:
        return cls(
            resume=args.resume,
            shard=args.shard,
            executor=args.executor,
            address=args.address,
            workers=args.workers,
            threads=args.threads_per_worker,
            device=args.device,
        )

    def check(self, batch: bool) -> None:
        """Raise ValueError when these options need a folder output and ``batch`` is False."""
        if batch:
            return
        for name, used in (
            ("--resume", self.resume),
            ("--shard", self.shard is not None),
            ("--executor ray", self.executor == "ray"),
        ):
            if used:
                raise ValueError(f"{name} works on batches written to an output folder (-o DIR/)")


__all__ = ["JobOptions", "add_job_arguments"]

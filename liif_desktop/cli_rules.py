"""The rules every ``liif-upscale`` option follows, and how the CLI stops on a signal.

:data:`RULES` is printed as the epilog of ``liif-upscale --help`` and repeated in the README.
Options added later (pages, shards, resume, executors, maps) follow these rules instead of
inventing their own. No torch and no Qt here: ``--help`` must answer at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

RULES = """\
rules (every option follows them):
  unit of work   One (input file, page) pair. An ordinary image is one page; each page
                 chosen from a multi-page file is a unit of its own. Folders expand to the
                 images in them, sorted by name; sub-folders only with -r (without it the
                 CLI says how many it skips). Units run in that order, inputs as given.
  -o OUT         One unit: OUT is the output file, its suffix picks the format; if OUT is
                 an existing folder or ends in '/', the output goes into it instead.
                 Several units (several inputs, a folder, -r, or several pages of one
                 file): OUT is a folder (existing, ending in '/', or a new name without an
                 image suffix; '-o two.png' is refused). Names come from --pattern, a
                 page's name carries its page number, sub-folders mirror the input's.
                 Inputs are never overwritten. Where the file written is not the one -o
                 names (--overwrite rename), the CLI says which file it wrote.
  output         Images go to files only. On a terminal: a progress bar, one line per
                 file and a summary on stderr. In a pipe: only renames, warnings, errors
                 and (for several units) the summary.
  precision      --precision auto|fp32|bf16: fp32 is the reference arithmetic; bf16 costs
                 at most ~0.01 dB PSNR and is faster only on CPUs with native bf16; auto
                 uses what was measured fastest on this machine.
  exit codes     0 every unit written or skipped as asked; 1 a unit failed or the run was
                 cancelled; 2 usage error (nothing written); 130, 143, 129 stopped by
                 SIGINT (Ctrl+C), SIGTERM, SIGHUP (128 + the signal's number). A stopped or
                 failed unit never leaves a partial file.
"""

_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StoppedBySignal(KeyboardInterrupt):
    """Raised in the main thread when a stop signal arrives; a KeyboardInterrupt, so every
    clean-up that handles Ctrl+C (temporary files removed) handles it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code_for(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP."""
    if isinstance(interrupt, StoppedBySignal):
        return 128 + interrupt.signum
    return 128 + int(signal.SIGINT)


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise StoppedBySignal(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise :class:`StoppedBySignal` (Ctrl+C already raises
    KeyboardInterrupt); the previous handlers come back afterwards."""
    previous = {}
    try:
        for signum in _STOP_SIGNALS:
            previous[signum] = signal.signal(signum, _raise_stopped)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""JobRunner: ``finished`` is only seen once the worker thread has ended (no start refused)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6", reason="the dialogs need PySide6 (pip install '.[gui]')")

from liif_desktop.render.cancel import CancelToken
from liif_desktop.ui.export_dialog import JobRunner

pytestmark = pytest.mark.gui

Job = Callable[[CancelToken], Iterator[object]]


class _SlowToRelease:
    """Freed by the worker thread after its last signal: keeps the thread alive a while."""

    def __init__(self, released: threading.Event) -> None:
        self.released = released

    def __del__(self) -> None:
        time.sleep(0.3)
        self.released.set()


def _lingering_job(released: threading.Event) -> Job:
    holder = _SlowToRelease(released)

    def job(token: CancelToken) -> Iterator[object]:
        assert holder is not None
        yield "item"

    return job


def test_finished_handler_can_start_the_next_job(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = JobRunner()
    released = threading.Event()
    seen: list[tuple[bool, bool]] = []
    second_ran = threading.Event()

    def on_finished() -> None:
        if seen:
            return
        seen.append((runner.is_running(), released.is_set()))
        runner.start(lambda token: iter([second_ran.set()]))  # must not be refused

    runner.finished.connect(on_finished)
    items: list[object] = []
    runner.progressed.connect(items.append)
    runner.start(_lingering_job(released))
    qtbot.waitUntil(lambda: len(seen) == 1 and not runner.is_running(), timeout=30_000)
    assert seen == [(False, True)]  # the first thread had ended when finished was seen
    assert items == ["item", None] and second_ran.is_set()


def test_running_until_finished_is_handled(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = JobRunner()
    gate = threading.Event()

    def job(token: CancelToken) -> Iterator[object]:
        gate.wait(30)
        yield 1

    runner.start(job)
    assert runner.is_running()
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(job)
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        gate.set()
    assert not runner.is_running() and runner.wait(1)

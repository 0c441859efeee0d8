"""Stopping long computations early (cooperative cancellation)."""

from __future__ import annotations

from collections.abc import Callable

StopCheck = Callable[[], bool] | None


class Cancelled(Exception):
    """Raised inside a computation when its ``should_stop`` check says stop."""


def check(should_stop: StopCheck) -> None:
    """Raise :class:`Cancelled` if ``should_stop`` is given and returns True."""
    if should_stop is not None and should_stop():
        raise Cancelled

"""Cancellation shared between a job's owner and the thread that runs it."""

from __future__ import annotations

import threading


class CancelToken:
    """A flag a long job polls between chunks; setting it makes the job stop soon."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        """Polled as a ``should_stop`` callback."""
        return self._event.is_set()

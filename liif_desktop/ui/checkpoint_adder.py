"""Adding a user checkpoint in the background: validating and copying a big file takes time.

Each add runs in its own worker thread (two adds at once are safe: each copy has its own
temporary file, see :func:`liif_desktop.weights.add_user_checkpoint`). Results reach the GUI
thread through queued signals; the worker never touches widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from liif_desktop.weights import ModelInfo, add_user_checkpoint

AddFunction = Callable[[Path], ModelInfo]


class CheckpointAdder(QObject):
    """Validates and copies checkpoints into the user's model folder off the GUI thread.

    Parameters
    ----------
    parent
        Owner (the main window).
    add
        The function doing the work (default :func:`~liif_desktop.weights.add_user_checkpoint`).

    Signals
    -------
    added(object, object)
        (source path, :class:`~liif_desktop.weights.ModelInfo` of the added copy).
    failed(object, str)
        (source path, why it cannot be used), in the words of ``CheckpointError``.
    """

    added = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None, add: AddFunction | None = None) -> None:
        super().__init__(parent)
        self._add = add or add_user_checkpoint
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(self, path: str | Path) -> None:
        """Begin adding ``path``; ``added`` or ``failed`` follows."""
        thread = threading.Thread(target=self._run, args=(Path(path),), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def busy(self) -> bool:
        """Whether an add is still in progress."""
        with self._lock:
            return bool(self._threads)

    def _run(self, path: Path) -> None:
        try:
            info = self._add(path)
        except Exception as exc:  # CheckpointError, OSError, anything odd: shown to the user
            self._emit(self.failed, path, str(exc))
        else:
            self._emit(self.added, path, info)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    @staticmethod
    def _emit(signal: Any, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window was closed meanwhile
            pass


__all__ = ["CheckpointAdder"]

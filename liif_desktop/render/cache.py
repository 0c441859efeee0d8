"""A small thread-safe LRU cache bounded by bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    """Least-recently-used cache whose budget is a number of bytes.

    Parameters
    ----------
    budget_bytes
        Entries are evicted, oldest first, while the total exceeds this.
    size_of
        Returns the size in bytes of a value.
    """

    def __init__(self, budget_bytes: int, size_of: Callable[[V], int]) -> None:
        self._budget = int(budget_bytes)
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def budget_bytes(self) -> int:
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        with self._lock:
            self._budget = int(value)
            self._evict()

    @property
    def used_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> V | None:
        """The value for ``key`` (marking it recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``; a single value larger than the budget is not kept."""
        size = int(self._size_of(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self._budget:
                return
            self._items[key] = (value, size)
            self._bytes += size
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _evict(self) -> None:
        while self._bytes > self._budget and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self._bytes -= size

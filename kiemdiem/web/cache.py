"""Keep the overview's scans between requests until the data changes.

The key includes the data version (`monitor.data_version`, what the audit log holds), so a
cached scan is never stale: the first view after a change reads the database again, and
every view until the next change costs one index lookup. Time-dependent figures (late
counts) are computed from the scan on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class VersionedCache:
    """A small thread-safe LRU map of (key, version) to a computed value.

    A value missing is computed once: requests that miss the same key meanwhile wait for it
    instead of each running the same scan (200 officers opening the overview after a change,
    or a new worker process's first views, would otherwise all scan at once).
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def _hit(self, key: Hashable, version: Hashable) -> tuple[bool, Any]:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == version:
                self._items.move_to_end(key)
                return True, hit[1]
            return False, None

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        found, value = self._hit(key, version)
        if found:
            return value
        with self._lock:
            turn = self._computing.setdefault(key, threading.Lock())
        with turn:
            found, value = self._hit(key, version)  # computed while this request waited
            if found:
                return value
            value = compute()
            with self._lock:
                self._items[key] = (version, value)
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
                self._computing.pop(key, None)
        return value

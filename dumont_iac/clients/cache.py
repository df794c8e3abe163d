"""A small thread-safe cache whose entries expire, for offer searches repeated within a deployment.

A deployment of many resources asks the marketplace the same question many times in a few
seconds, while offer search is limited to about ten calls a minute per address. Answers are
kept for ``ttl`` seconds; offers known to be gone (rented by us, or reported unavailable) are
remembered for as long, so a cached answer does not hand out an offer that was just taken.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TTL = 60.0


class TtlCache(Generic[T]):
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        *,
        max_entries: int = 256,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._now = now
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, T]] = {}

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if self._now() - stored_at >= self.ttl:
                del self._entries[key]
                return None
            return value

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            now = self._now()
            if len(self._entries) >= self.max_entries:
                self._entries = {k: e for k, e in self._entries.items() if now - e[0] < self.ttl}
                while len(self._entries) >= self.max_entries:
                    del self._entries[next(iter(self._entries))]
            self._entries[key] = (now, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class GoneSet:
    """Offer ids recently taken, per marketplace URL, forgotten after ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL, *, now: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._now = now
        self._lock = threading.Lock()
        self._gone: dict[tuple[str, int], float] = {}

    def add(self, base_url: str, offer_id: int) -> None:
        with self._lock:
            self._gone[(base_url, offer_id)] = self._now()

    def ids(self, base_url: str) -> frozenset[int]:
        with self._lock:
            now = self._now()
            self._gone = {k: t for k, t in self._gone.items() if now - t < self.ttl}
            return frozenset(oid for (url, oid) in self._gone if url == base_url)

    def clear(self) -> None:
        with self._lock:
            self._gone.clear()

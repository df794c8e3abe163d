"""Small thread-safe caches whose entries expire: offer searches and instance listings repeated
within a deployment.

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


class SharedListing(Generic[T]):
    """One recent answer per key, fetched once however many threads ask at the same time, and
    dropped whenever the caller changes what it lists.

    Reads of many resources in one deployment each need the tenant's whole instance list, which
    the marketplace serves at one call per second per key: sharing one listing for ``ttl``
    seconds makes refreshing N resources one call instead of N. A listing serves each
    ``reader`` (a resource's logical id) once: a second read of the same resource is a new
    look, not the same refresh, and gets a new listing. ``invalidate`` is called before and
    after each of the process's own writes, and a listing fetched while a write was in flight
    is never kept, so a reader never sees a listing older than its own process's last write
    (a create always sees its own rental).
    """

    def __init__(self, ttl: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._now = now
        self._lock = threading.Lock()  # guards the dicts below, never held while fetching
        self._fetching: dict[Hashable, threading.Lock] = {}
        self._generation: dict[Hashable, int] = {}
        self._entries: dict[Hashable, tuple[float, T, set[Hashable]]] = {}

    def get(self, key: Hashable, fetch: Callable[[], T], reader: Hashable = None) -> T:
        """The listing of ``key`` at most ``ttl`` seconds old and not yet given to ``reader``,
        calling ``fetch`` when there is none; concurrent callers share one fetch."""
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:
            with self._lock:
                entry = self._entries.get(key)
                if (
                    entry is not None
                    and self._now() - entry[0] < self.ttl
                    and (reader is None or reader not in entry[2])
                ):
                    if reader is not None:
                        entry[2].add(reader)
                    return entry[1]
                generation = self._generation.get(key, 0)
                started = self._now()
            value = fetch()
            with self._lock:
                if self._generation.get(key, 0) == generation:
                    self._entries[key] = (started, value, {reader} if reader is not None else set())
            return value

    def invalidate(self, key: Hashable) -> None:
        with self._lock:
            self._generation[key] = self._generation.get(key, 0) + 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation = {k: n + 1 for k, n in self._generation.items()}
            self._entries.clear()

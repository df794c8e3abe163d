"""The control plane's clock: real time unless the caller injects another.

Leases, key grace periods, events and agent ticks read time only from a clock, so the sandbox
can hand its faster clock in and tests can move time exactly. Anything with a ``now()`` returning
epoch seconds fits, such as the sandbox's own ``Clock``.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...


class RealClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to (for tests and simulations)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._lock = threading.Lock()
        self._now = start

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._now += seconds
            return self._now

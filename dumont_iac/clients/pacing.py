"""Client-side rate limiting: wait before a call instead of being refused with 429.

The marketplace limits each endpoint per API key (per address for offer search) to a minimum gap
between calls, and punishes a caller that keeps calling while refused. Waiting on our side is
cheaper than a 429 and its retry, and it must be shared by every thread of the process: four
threads renting at once are still one caller to the marketplace.

Each (base URL, key fingerprint, endpoint) has one ``Pacer``: a reservation-based GCRA (the
generic cell rate algorithm), the same shape as the marketplace's limits: a minimum gap, and
optionally a burst of calls that may pass back to back first. A thread reserves the next free
slot under a lock and sleeps outside it, so waiting threads go in order and never spin.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from dumont_iac.errors import InvalidValue

# The server measures the gap between arrivals; requests leave on time but can arrive unevenly
# (scheduling, a busy server loop), so every gap gets a small safety margin.
RELATIVE_MARGIN = 0.02
ABSOLUTE_MARGIN = 0.025
LEARN_FACTOR = 1.5  # how much wider calls are spaced after each refusal
MAX_LEARNED_FACTOR = 8.0  # never wider than this many documented gaps


class Pacer:
    """Spaces calls at least ``gap`` seconds apart after an initial burst of ``burst`` calls."""

    def __init__(
        self,
        gap: float,
        burst: int = 1,
        *,
        penalty: float = 0.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if gap < 0 or burst < 1 or penalty < 0:
            raise InvalidValue(
                f"gap and penalty must be >= 0 and burst >= 1, got gap={gap!r} burst={burst!r} "
                f"penalty={penalty!r}"
            )
        self.documented = gap
        self.gap = gap
        self.burst = burst
        self.penalty = penalty
        self._now = now
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = 0.0  # theoretical arrival time of the next call if calls came at the rate
        self._widened_at = float("-inf")
        self._refusals = 0  # slots booked before the latest refusal are booked again

    def reserve(self) -> float:
        """Book the next slot; return how long the caller must wait for it."""
        with self._lock:
            now = self._now()
            tat = max(self._tat, now)
            start = max(now, tat - (self.burst - 1) * self.gap)
            self._tat = tat + self.gap
            return start - now

    def wait(self) -> float:
        """Block until this caller's slot; return the seconds waited.

        A refusal while waiting voids the slot (the server's window moved): calling then would
        be refused too, and some servers lock a caller out longer for calling again too soon.
        """
        waited = 0.0
        while True:
            refusals = self._refusals
            delay = self.reserve()
            if delay > 0:
                self._sleep(delay)
                waited += delay
            if self._refusals == refusals:
                return waited

    def refused(self, retry_after: float | None = None) -> None:
        """The server refused a call (429): treat the budget as spent until one gap from now
        (or until its ``Retry-After``), and space later calls wider.

        A server stricter than documented would otherwise refuse every call at the documented
        gap; widening by half finds its real gap in a few refusals. It widens at most once per
        gap: the calls already booked at the old spacing are refused too, and they say nothing
        new. The cap keeps one unlucky burst from slowing a process down for good.
        """
        with self._lock:
            now = self._now()
            self._refusals += 1
            spent = self.burst * self.gap  # the budget counts as used until one gap from now
            if now - self._widened_at >= self.gap:
                self._widened_at = now
                self.gap = min(max(self.gap * LEARN_FACTOR, retry_after or 0.0), self.ceiling)
            # A lock-out for calling again too soon grows with the server's strictness, as
            # far as the widened gap has measured it.
            lockout = self.penalty * (self.gap / self.documented) if self.documented else 0.0
            wait = max(spent, retry_after or 0.0, lockout)
            self._tat = max(self._tat, now + wait)

    @property
    def ceiling(self) -> float:
        return self.documented * MAX_LEARNED_FACTOR


_registry: dict[tuple[str, str, str], Pacer] = {}
_registry_lock = threading.Lock()


def key_fingerprint(key: str | None) -> str:
    """A short, one-way name for a key, so the registry never holds the key itself."""
    if not key:
        return "anonymous"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def pacer_for(
    base_url: str, identity: str, endpoint: str, gap: float, burst: int = 1, penalty: float = 0.0
) -> Pacer | None:
    """The process-wide pacer of one endpoint for one caller; None when there is no gap."""
    if gap <= 0:
        return None
    effective = gap * (1 + RELATIVE_MARGIN) + ABSOLUTE_MARGIN
    key = (base_url, identity, endpoint)
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None or pacer.documented != effective or pacer.burst != burst:
            pacer = Pacer(effective, burst, penalty=penalty)
            _registry[key] = pacer
        return pacer


def forget_all() -> None:
    """Drop every pacer (for tests that restart a server on the same URL)."""
    with _registry_lock:
        _registry.clear()

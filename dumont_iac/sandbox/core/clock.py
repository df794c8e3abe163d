"""The sandbox's clock: real time scaled by a speed factor, plus manual advances.

Lifecycles and billing read time only from here, so tests can run minutes of marketplace time
in a second (``speed``) or jump exactly (``advance``).
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self._lock = threading.Lock()
        self._speed = speed
        self._origin_real = time.monotonic()
        self._origin_sandbox = time.time() if start is None else start
        self._offset = 0.0

    def now(self) -> float:
        """Sandbox time in epoch seconds."""
        with self._lock:
            elapsed = (time.monotonic() - self._origin_real) * self._speed
            return self._origin_sandbox + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        now = self.now()
        with self._lock:
            self._origin_real = time.monotonic()
            self._origin_sandbox = now
            self._offset = 0.0
            self._speed = speed

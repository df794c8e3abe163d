"""What an agent is, and the health record each one keeps (shown by ``GET /health/agents``)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass
class AgentHealth:
    ticks: int = 0
    last_tick_at: float | None = None
    last_tick_ms: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    detail: str = ""


class Agent(ABC):
    """One job done again and again: ``tick(now)`` looks at the store and acts.

    A tick must be bounded (a page of work, not all of it) and must take every action on a GPU
    under that GPU's lease. What it did, or why it did nothing, goes to the event log.
    """

    name: str
    description: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._health = AgentHealth()

    @abstractmethod
    def tick(self, now: float) -> str:
        """Do one round of work; returns a one-line summary for the health report."""

    def health(self) -> dict[str, Any]:
        with self._lock:
            h = self._health
            return {
                "name": self.name,
                "description": self.description,
                "ticks": h.ticks,
                "last_tick_at": h.last_tick_at,
                "last_tick_ms": h.last_tick_ms,
                "last_error": h.last_error,
                "last_error_at": h.last_error_at,
                "detail": h.detail,
            }

    def record_tick(self, at: float, ms: float, detail: str) -> None:
        with self._lock:
            self._health.ticks += 1
            self._health.last_tick_at = at
            self._health.last_tick_ms = ms
            self._health.detail = detail

    def record_error(self, at: float, error: str) -> None:
        with self._lock:
            self._health.last_error = error
            self._health.last_error_at = at

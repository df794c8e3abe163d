"""The tick loop: every agent ticks once per ``tick_seconds`` of the control plane's clock.

The loop polls the clock in short real-time steps, so a faster clock (the sandbox's) makes the
agents tick more often in real time, and a manual clock makes them tick only when moved. An
agent whose tick raises is recorded (last error) and ticks again next round; the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.metrics import AgentMetrics

log = logging.getLogger(__name__)

# Real seconds between two looks at the clock.
POLL_SECONDS = 0.05


class AgentRunner:
    def __init__(
        self,
        agents: Sequence[Agent],
        clock: Clock,
        tick_seconds: float,
        metrics: AgentMetrics | None = None,
    ) -> None:
        if tick_seconds <= 0:
            raise ValueError(f"tick_seconds must be > 0, got {tick_seconds!r}")
        self.agents = list(agents)
        self._metrics = metrics
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick_once(self) -> None:
        """One round: each agent ticks once (for tests and the loop alike)."""
        for agent in self.agents:
            if self._stop.is_set():
                return
            at = self._clock.now()
            started = time.monotonic()
            try:
                detail = agent.tick(at)
            except Exception as exc:
                log.exception("agent %s failed its tick", agent.name)
                agent.record_error(at, f"{type(exc).__name__}: {exc}")
                detail = "the last tick failed"
            agent.record_tick(at, (time.monotonic() - started) * 1000, detail)
            if self._metrics is not None:
                self._metrics.ticks.labels(agent=agent.name).inc()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="control-plane-agents", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        next_tick = self._clock.now()
        while not self._stop.is_set():
            if self._clock.now() >= next_tick:
                self.tick_once()
                next_tick = self._clock.now() + self._tick_seconds
            self._stop.wait(POLL_SECONDS)

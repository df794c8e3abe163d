"""The tick loops: every agent ticks once per ``tick_seconds`` of the control plane's clock.

Each agent has its own loop (thread), so a long tick of one (a failover that rents a new GPU
and waits for it to boot) never delays another's (the health checks that detect the next
failure). A loop polls the clock in short real-time steps, so a faster clock (the sandbox's)
makes its agent tick more often in real time, and a manual clock only when moved. An agent
whose tick raises is recorded (last error) and ticks again next round; the others go on.
``tick_once`` ticks every agent in turn, for tests.
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
        self._threads: list[threading.Thread] = []

    def tick_once(self) -> None:
        """One round: each agent ticks once, in turn."""
        for agent in self.agents:
            if self._stop.is_set():
                return
            self._tick(agent)

    def _tick(self, agent: Agent) -> None:
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
        if self._threads:
            return
        self._threads = [
            threading.Thread(
                target=self._run, args=(agent,), name=f"agent-{agent.name}", daemon=True
            )  # fmt: skip
            for agent in self.agents
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _run(self, agent: Agent) -> None:
        next_tick = self._clock.now()
        while not self._stop.is_set():
            if self._clock.now() >= next_tick:
                self._tick(agent)
                next_tick = self._clock.now() + self._tick_seconds
            self._stop.wait(POLL_SECONDS)

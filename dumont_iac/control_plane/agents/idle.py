"""Agents whose policies are declared and stored but not acted on yet.

They tick, so ``/health/agents`` shows them alive, and say in their detail what they watch;
each will take its actions under GPU leases like the standby manager does.
"""

from __future__ import annotations

from dumont_iac.control_plane.agents.base import Agent


class WatchingAgent(Agent):
    """Ticks and reports; takes no action yet."""

    kind: str

    def tick(self, now: float) -> str:
        return f"watching; acting on {self.kind} is not implemented yet"


class AutoHibernation(WatchingAgent):
    name = "auto_hibernation"
    description = "Pauses idle GPUs and destroys long-paused ones, per hibernation policy."
    kind = "hibernation policies"


class PeriodicSnapshots(WatchingAgent):
    name = "periodic_snapshots"
    description = "Takes snapshots on schedule and prunes them per retention policy."
    kind = "retention policies"

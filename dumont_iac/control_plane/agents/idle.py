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


class BudgetWatch(WatchingAgent):
    name = "budgets"
    description = "Accrues spend against each budget and alerts or stops at its threshold."
    kind = "budgets"

"""Acting on one GPU under its lease, for agents that walk their policies each tick.

with under_lease(leases, events, user_id, gpu_id, seconds) as lease:
    if lease is None:
        continue          # another replica is acting on this GPU
    ...                   # renewed in the background while this runs
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.leases import Lease, LeaseKeeper, Leases
from dumont_iac.control_plane.store import Store


@contextmanager
def under_lease(
    leases: Leases, events: EventLog, user_id: int, gpu_id: str, seconds: float
) -> Iterator[Lease | None]:
    lease = leases.acquire(user_id, gpu_id, events.replica, seconds)
    if lease is None:
        yield None
        return
    if lease.took_over_from is not None:
        events.record(
            "lease.taken_over",
            f"took over the lease left by {lease.took_over_from} (expired)",
            user_id=user_id,
            gpu_id=gpu_id,
            data={"previous_holder": lease.took_over_from, "token": lease.token},
        )
    try:
        with LeaseKeeper(leases, lease, seconds, seconds / 3):
            yield lease
    finally:
        leases.release(lease)


class LeasedAgent(Agent):
    """An agent that walks its policies each tick and acts on each GPU under its lease."""

    def __init__(
        self, store: Store, leases: Leases, events: EventLog, *, lease_seconds: float
    ) -> None:
        super().__init__()
        self._store = store
        self._leases = leases
        self._events = events
        self._lease_seconds = lease_seconds

    def leased(self, user_id: int, gpu_id: str) -> Any:
        """``under_lease`` for this agent's GPU: yields None when another replica has it."""
        return under_lease(self._leases, self._events, user_id, gpu_id, self._lease_seconds)

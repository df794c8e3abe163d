"""Acting on one GPU under its lease, for agents that walk their policies each tick.

with under_lease(leases, events, user_id, gpu_id, seconds) as lease:
    if lease is None:
        continue          # another replica is acting on this GPU
    ...                   # renewed in the background while this runs
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.leases import Lease, LeaseKeeper, Leases


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

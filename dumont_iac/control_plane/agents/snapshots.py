"""The periodic snapshot agent: each GPU whose snapshot policy is due gets a snapshot of its
current contract's workspace, then its old snapshots are pruned per retention.

A GPU that is paused or hibernated (its hibernation state is not awake) is skipped: the
snapshot taken when it was paused stays its newest. A failure
(S3 down or throttled, the marketplace unreachable) is recorded in the GPU's snapshot status and
as a ``snapshot.failed`` event, and the GPU is still due at the next tick.
"""

from __future__ import annotations

import logging

from dumont_iac.control_plane.agents.leased import LeasedAgent
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.models.hibernation import HibernationState
from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec
from dumont_iac.control_plane.snapshots import Snapshots
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import HIBERNATION_STATE, SNAPSHOT_POLICY

log = logging.getLogger(__name__)

SNAPSHOTS_PER_TICK = 10  # a tick stays bounded however many GPUs are due


class PeriodicSnapshots(LeasedAgent):
    name = "periodic_snapshots"
    description = "Takes snapshots on schedule and prunes them per retention policy."

    def __init__(
        self,
        store: Store,
        leases: Leases,
        events: EventLog,
        snapshots: Snapshots,
        *,
        lease_seconds: float,
    ) -> None:
        super().__init__(store, leases, events, lease_seconds=lease_seconds)
        self._snapshots = snapshots

    def tick(self, now: float) -> str:
        taken = failed = 0
        for user_id, gpu_id, body in self._store.documents.all_of_kind(SNAPSHOT_POLICY):
            if taken + failed >= SNAPSHOTS_PER_TICK:
                break
            policy = SnapshotPolicySpec.model_validate(body)
            if not self._snapshots.is_due(user_id, gpu_id, policy, now):
                continue
            if not self._awake(user_id, gpu_id):
                continue
            with self.leased(user_id, gpu_id) as lease:
                if lease is None:
                    continue
                try:
                    self._snapshots.take(user_id, gpu_id, policy)
                    taken += 1
                except Exception as exc:  # recorded by take(); the GPU stays due
                    log.info("snapshot of %s failed: %s", gpu_id, exc)
                    failed += 1
        return f"took {taken} snapshot(s), {failed} failed" if taken or failed else "none due"

    def _awake(self, user_id: int, gpu_id: str) -> bool:
        body = self._store.documents.get(user_id, HIBERNATION_STATE, gpu_id)
        return HibernationState.model_validate(body or {}).state == "awake"

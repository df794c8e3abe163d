"""The auto-hibernation agent: each tick, every GPU with a hibernation policy is looked at once
under its lease. Idle (utilisation under the threshold) for ``idle_minutes``: snapshot, then
stop (paused). Paused for ``destroy_after_minutes``: destroyed, its last snapshot kept
(hibernated). A failure (the snapshot could not be written, the marketplace did not answer) is
recorded and the GPU is looked at again next tick; it is never stopped without its snapshot.
"""

from __future__ import annotations

import logging

from dumont_iac.control_plane.agents.leased import LeasedAgent
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.hibernation import Hibernation
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.models.hibernation import HibernationPolicySpec
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import HIBERNATION_POLICY

log = logging.getLogger(__name__)

GPUS_PER_TICK = 50


class AutoHibernation(LeasedAgent):
    name = "auto_hibernation"
    description = "Pauses idle GPUs and destroys long-paused ones, per hibernation policy."

    def __init__(
        self,
        store: Store,
        leases: Leases,
        events: EventLog,
        hibernation: Hibernation,
        *,
        lease_seconds: float,
    ) -> None:
        super().__init__(store, leases, events, lease_seconds=lease_seconds)
        self._hibernation = hibernation

    def tick(self, now: float) -> str:
        done: list[str] = []
        policies = self._store.documents.all_of_kind(HIBERNATION_POLICY)[:GPUS_PER_TICK]
        for user_id, gpu_id, body in policies:
            policy = HibernationPolicySpec.model_validate(body)
            with self.leased(user_id, gpu_id) as lease:
                if lease is None:
                    continue
                try:
                    did = self._hibernation.observe(user_id, gpu_id, policy)
                except Exception as exc:  # recorded; looked at again next tick
                    log.info("hibernation of %s failed: %s", gpu_id, exc)
                    self._hibernation.record_error(user_id, gpu_id, f"{type(exc).__name__}: {exc}")
                    did = "failed"
                if did:
                    done.append(f"{gpu_id} {did}")
        return "; ".join(done) if done else f"watching {len(policies)} GPU(s)"

"""Hibernation of idle GPUs: pause (snapshot, then stop), destroy after a while paused (its
last snapshot kept), and wake (rent anew under the GPU's spec, restore the last snapshot).

Each GPU's state is its ``hibernation_state`` document, exactly
``{state: "awake" | "paused" | "hibernated", since, snapshot_key, reason}`` (no document:
awake); readers outside the control plane rely on that shape. Since when a GPU has been seen
idle is kept apart (``hibernation_idle``), so the state changes only when the GPU does.

Every step here runs under the GPU's lease, taken by the caller (the agent, the wake route).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.control_plane.agents.restart import STOPPED, NoContract, carries, current_contract
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.models.hibernation import (
    HibernationPolicySpec,
    HibernationState,
    HibernationStateName,
    WakeOut,
)
from dumont_iac.control_plane.snapshots import Snapshots
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import (
    HIBERNATION_IDLE,
    HIBERNATION_POLICY,
    HIBERNATION_STATE,
)
from dumont_iac.errors import DumontError
from dumont_iac.provider.labels import rental_label
from dumont_iac.provider.rentals import destroy_after_failure
from dumont_iac.provider.renting import rent_cheapest, settle

log = logging.getLogger(__name__)


class Hibernation:
    def __init__(
        self,
        store: Store,
        events: EventLog,
        marketplace: Callable[[], MarketplaceClient],
        snapshots: Snapshots,
    ) -> None:
        self._store = store
        self._events = events
        self._marketplace = marketplace
        self._snapshots = snapshots

    @property
    def now(self) -> float:
        return self._store.clock.now()

    # --- documents ---------------------------------------------------------------------

    def policy(self, user_id: int, gpu_id: str) -> HibernationPolicySpec | None:
        body = self._store.documents.get(user_id, HIBERNATION_POLICY, gpu_id)
        return HibernationPolicySpec.model_validate(body) if body else None

    def state(self, user_id: int, gpu_id: str) -> HibernationState:
        body = self._store.documents.get(user_id, HIBERNATION_STATE, gpu_id)
        return HibernationState.model_validate(body or {})

    def _set(
        self,
        user_id: int,
        gpu_id: str,
        state: HibernationStateName,
        reason: str,
        snapshot_key: str | None,
    ) -> None:
        body = {"state": state, "since": self.now, "snapshot_key": snapshot_key, "reason": reason}
        self._store.documents.put(user_id, HIBERNATION_STATE, body, key=gpu_id)

    def last_error(self, user_id: int, gpu_id: str) -> str | None:
        body = self._store.documents.get(user_id, HIBERNATION_IDLE, gpu_id) or {}
        return body.get("last_error")

    def _idle(self, user_id: int, gpu_id: str) -> dict[str, Any]:
        return self._store.documents.get(user_id, HIBERNATION_IDLE, gpu_id) or {}

    def _set_idle(self, user_id: int, gpu_id: str, **values: Any) -> None:
        body = {**self._idle(user_id, gpu_id), **values}
        self._store.documents.put(user_id, HIBERNATION_IDLE, body, key=gpu_id)

    def forget(self, user_id: int, gpu_id: str) -> None:
        """The policy is gone: so are the GPU's state and bookkeeping. The GPU is the stack's
        again: a paused one is started by the next ``up``, a hibernated one rented anew (its
        snapshots stay in the bucket)."""
        self._store.documents.delete(user_id, HIBERNATION_IDLE, gpu_id)
        self._store.documents.delete(user_id, HIBERNATION_STATE, gpu_id)

    # --- the agent's step ------------------------------------------------------------------

    def observe(self, user_id: int, gpu_id: str, policy: HibernationPolicySpec) -> str | None:
        """Look at the GPU once and act if its policy says so; what was done, if anything."""
        state = self.state(user_id, gpu_id)
        if state.state == "hibernated":
            return None
        market = self._marketplace()
        if state.state == "paused":
            # The contract it paused, not the newest carrying the marker: a wake that failed
            # may have left one on its way out.
            paused_id = self._idle(user_id, gpu_id).get("paused_contract_id")
            paused = market.instance(int(paused_id)) if paused_id else None
            if paused is None:
                return None
            return self._maybe_destroy(user_id, gpu_id, policy, state, paused)
        try:
            contract = current_contract(market, gpu_id)
        except NoContract:
            return None  # not rented (yet): nothing to watch
        return self._maybe_pause(user_id, gpu_id, policy, contract)

    def _maybe_pause(
        self, user_id: int, gpu_id: str, policy: HibernationPolicySpec, contract: Instance
    ) -> str | None:
        util = contract.gpu_util
        running = contract.actual_status == "running" and contract.intended_status == "running"
        if not running or util is None or util >= policy.idle_threshold_percent:
            # Busy, not running, or not measured: an unknown is never taken for idle.
            if self._idle(user_id, gpu_id).get("idle_since") is not None:
                self._set_idle(user_id, gpu_id, idle_since=None)
            return None
        idle_since = self._idle(user_id, gpu_id).get("idle_since")
        if idle_since is None:
            self._set_idle(user_id, gpu_id, idle_since=self.now)
            return None
        if self.now - idle_since < policy.idle_minutes * 60:
            return None
        reason = (
            f"GPU utilisation under {policy.idle_threshold_percent:g}% for "
            f"{policy.idle_minutes} min"
        )
        self.pause(user_id, gpu_id, contract, reason)
        return "paused"

    def pause(self, user_id: int, gpu_id: str, contract: Instance, reason: str) -> str:
        """Snapshot the workspace, then stop the contract; the snapshot's key. A failed
        snapshot leaves the GPU running (its data is not safe yet): raised, retried next tick."""
        snapshot_policy = self._snapshots.policy(user_id, gpu_id)
        if snapshot_policy is None:
            raise DumontError(
                f"GPU {gpu_id} has no snapshot policy: declare a SnapshotPolicy for it, so "
                "hibernation has somewhere to keep its data"
            )
        key = self._snapshots.take(user_id, gpu_id, snapshot_policy)
        self._marketplace().stop(contract.id)
        self._set(user_id, gpu_id, "paused", reason, key)
        self._set_idle(
            user_id, gpu_id, idle_since=None, last_error=None, paused_contract_id=contract.id
        )
        self._events.record(
            "hibernation.paused",
            f"paused contract {contract.id} ({reason}); snapshot {key}",
            user_id=user_id,
            gpu_id=gpu_id,
            data={"contract_id": contract.id, "snapshot_key": key, "reason": reason},
        )
        return key

    def _maybe_destroy(
        self,
        user_id: int,
        gpu_id: str,
        policy: HibernationPolicySpec,
        state: HibernationState,
        contract: Instance,
    ) -> str | None:
        if (contract.intended_status or "") not in STOPPED:
            # Started again from outside (the user, a deploy): it is awake.
            self._set(user_id, gpu_id, "awake", "started outside hibernation", state.snapshot_key)
            return "awake"
        if policy.destroy_after_minutes == 0 or state.since is None:
            return None
        if self.now - state.since < policy.destroy_after_minutes * 60:
            return None
        market = self._marketplace()
        doomed = [i for i in market.instances() if carries(i.label, gpu_id)]
        for instance in doomed:
            market.destroy(instance.id)
        reason = f"paused for {policy.destroy_after_minutes} min"
        self._set(user_id, gpu_id, "hibernated", reason, state.snapshot_key)
        self._events.record(
            "hibernation.destroyed",
            f"destroyed contract(s) {[i.id for i in doomed]} ({reason}); snapshot "
            f"{state.snapshot_key} kept for wake",
            user_id=user_id,
            gpu_id=gpu_id,
            data={"contract_ids": [i.id for i in doomed], "snapshot_key": state.snapshot_key},
        )
        return "hibernated"

    def record_error(self, user_id: int, gpu_id: str, error: str) -> None:
        self._set_idle(user_id, gpu_id, last_error=error)
        self._events.record("hibernation.failed", error, user_id=user_id, gpu_id=gpu_id)

    # --- wake ----------------------------------------------------------------------------

    def wake(self, user_id: int, gpu_id: str, policy: HibernationPolicySpec) -> WakeOut:
        """Rent a new contract under the GPU's spec and marker, restore the newest snapshot
        into it, then destroy the paused contract if there is one. Whatever fails after the
        rental destroys the new contract again: nothing is left billing."""
        started = self.now
        market = self._marketplace()
        try:
            previous: Instance | None = current_contract(market, gpu_id)
        except NoContract:
            previous = None
        args = policy.gpu_spec.args()
        label = rental_label(gpu_id, policy.gpu_spec.label)
        contract_id = rent_cheapest(market, args, label, target_state="running")
        try:
            settle(market, contract_id, "running", args.create_timeout_seconds, "wake")
            restored = self._snapshots.restore_latest(user_id, gpu_id, contract_id)
        except Exception as exc:
            destroy_after_failure(market, contract_id, gpu_id, exc)
            raise
        if previous is not None:
            market.destroy(previous.id)
        key, files = restored if restored is not None else (None, 0)
        self._set(user_id, gpu_id, "awake", "woken", key)
        self._set_idle(user_id, gpu_id, idle_since=None, last_error=None, paused_contract_id=None)
        seconds = self.now - started
        self._events.record(
            "hibernation.woken",
            f"woke on contract {contract_id} (was {previous.id if previous else 'none'}); "
            f"restored {key or 'no snapshot'}",
            user_id=user_id,
            gpu_id=gpu_id,
            duration_ms=seconds * 1000,
            data={"contract_id": contract_id, "snapshot_key": key, "files": files},
        )
        return WakeOut(
            gpu_id=gpu_id,
            contract_id=contract_id,
            previous_contract_id=previous.id if previous else None,
            snapshot_key=key,
            restored_files=files,
            seconds=round(seconds, 3),
        )

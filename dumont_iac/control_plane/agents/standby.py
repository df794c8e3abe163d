"""The standby manager: executes requested failover actions, each under its GPU's lease.

Per tick it looks for GPUs with open actions whose lease is free or expired, takes the lease,
claims the oldest action, checks the GPU's safeguards (failovers per day, seconds between),
runs it (``restart``, or ``failover``: see ``control_plane.failover``) while a ``LeaseKeeper``
renews the lease, records the outcome with the same lease token, and releases the lease.
Two replicas ticking together never both claim an action: the lease upsert lets exactly one
of them in. A replica killed mid-action leaves its lease to expire; the next tick of another
replica takes it over (``lease.taken_over``) and runs the action again, so actions must be
safe to repeat (``restart`` is; ``failover`` looks where the GPU's marker is before moving).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from dumont_iac.clients.aws.session import AwsAccess
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.agents.restart import NoContract, restart
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.failover.context import CannotFailOver, GpuContext
from dumont_iac.control_plane.failover.execute import failover
from dumont_iac.control_plane.leases import Lease, LeaseKeeper, Leases
from dumont_iac.control_plane.metrics import AgentMetrics
from dumont_iac.control_plane.policy import hold_refusal, safeguard_refusal
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.actions import Action
from dumont_iac.errors import DumontError

log = logging.getLogger(__name__)

# GPUs looked at per tick: a tick stays bounded however many actions wait.
GPUS_PER_TICK = 20

ActionHandler = Callable[[GpuContext], dict[str, Any]]
HANDLERS: dict[str, ActionHandler] = {"restart": restart, "failover": failover}


class StandbyManager(Agent):
    name = "standby_manager"
    description = "Executes requested failover actions, one replica per GPU (under its lease)."

    def __init__(
        self,
        store: Store,
        leases: Leases,
        events: EventLog,
        marketplace: Callable[[], MarketplaceClient],
        *,
        lease_seconds: float,
        metrics: AgentMetrics | None = None,
        aws: AwsAccess | None = None,
    ) -> None:
        super().__init__()
        self._metrics = metrics
        self._store = store
        self._leases = leases
        self._events = events
        self._marketplace = marketplace
        self._lease_seconds = lease_seconds
        self._aws = aws

    @property
    def replica(self) -> str:
        return self._events.replica

    def tick(self, now: float) -> str:
        done = 0
        for user_id, gpu_id in self._store.actions.gpus_with_open_actions(GPUS_PER_TICK):
            lease = self._leases.acquire(user_id, gpu_id, self.replica, self._lease_seconds)
            if lease is None:
                continue  # another replica got there first
            self._count_acquired(lease)
            if lease.took_over_from is not None:
                self._events.record(
                    "lease.taken_over",
                    f"took over the lease left by {lease.took_over_from} (expired)",
                    user_id=user_id,
                    gpu_id=gpu_id,
                    data={"previous_holder": lease.took_over_from, "token": lease.token},
                )
            try:
                done += self._run_open_actions(lease)
            finally:
                self._leases.release(lease)
                if self._metrics is not None:
                    self._metrics.leases_held.dec()
        return f"executed {done} action(s)" if done else "no actions waiting"

    def _count_acquired(self, lease: Lease) -> None:
        if self._metrics is None:
            return
        self._metrics.leases_acquired.inc()
        self._metrics.leases_held.inc()
        if lease.took_over_from is not None:
            self._metrics.leases_taken_over.inc()

    def _count_action(self, action: Action, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.actions.labels(kind=action.kind, outcome=outcome).inc()

    def _run_open_actions(self, lease: Lease) -> int:
        done = 0
        with LeaseKeeper(self._leases, lease, self._lease_seconds, self._lease_seconds / 3):
            while (
                action := self._store.actions.claim_next(
                    lease.user_id, lease.gpu_id, self.replica, lease.token
                )
            ) is not None:
                self._execute(action, lease)
                done += 1
        return done

    def _execute(self, action: Action, lease: Lease) -> None:
        self._events.record(
            "action.started",
            f"{action.kind} started (attempt {action.attempts})",
            data={"action_id": action.id, "attempt": action.attempts, "token": lease.token},
            user_id=action.user_id,
            gpu_id=action.gpu_id,
        )
        started = time.monotonic()
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            error = hold_refusal(self._store, action.user_id, action.gpu_id) or safeguard_refusal(
                self._store, action.user_id, action.gpu_id
            )
            if error is None:
                ctx = GpuContext(self._store, self._events, self._marketplace(),
                                 action.user_id, action.gpu_id, self._aws)  # fmt: skip
                result = HANDLERS[action.kind](ctx)
        except (NoContract, CannotFailOver, DumontError) as exc:
            error = str(exc)
        except Exception as exc:  # unexpected: fail the action rather than retry it forever
            error = f"{type(exc).__name__}: {exc}"
            log.exception("action %d (%s) failed unexpectedly", action.id, action.kind)
        elapsed_ms = (time.monotonic() - started) * 1000
        recorded = self._store.actions.finish(
            action, self.replica, lease.token, result=result, error=error
        )
        if not recorded:
            self._count_action(action, "abandoned")
            self._events.record(
                "action.abandoned",
                f"{action.kind}: the lease was lost before the outcome could be recorded; "
                "the new holder runs it again",
                duration_ms=elapsed_ms,
                data={"action_id": action.id},
                user_id=action.user_id,
                gpu_id=action.gpu_id,
            )
            return
        kind, message = (
            ("action.failed", f"{action.kind} failed: {error}")
            if error
            else ("action.succeeded", f"{action.kind} done")
        )
        self._count_action(action, "failed" if error else "succeeded")
        self._events.record(
            kind,
            message,
            duration_ms=elapsed_ms,
            data={"action_id": action.id, "result": result, "queued_ms": _queued_ms(action)},
            user_id=action.user_id,
            gpu_id=action.gpu_id,
        )


def _queued_ms(action: Action) -> float | None:
    if action.started_at is None:
        return None
    return round((action.started_at - action.requested_at) * 1000, 3)

"""The market monitor: health-checks every GPU that has a failover mechanism, and syncs CPU
standbys.

Per tick it lists the marketplace's rentals once and, for each GPU with a warm pool or a
standby association, looks at the contract carrying its marker every
``health_check_interval_seconds``. A check that fails is counted; ``failure_threshold`` failures
in a row (or one, for a contract that exited and can never serve again) request a ``failover``
action, which the standby manager executes under the GPU's
lease and safeguards. An outbid GPU is first re-bid (``rebid_before_failover``) when its price
cap allows a winning bid. The request id names the failure's first check, so replicas that
see the same failure request one action between them.

GPUs a policy stopped on purpose (a budget's hold, hibernation) are left alone, and so are GPUs
whose failover is already under way or whose lease a replica holds (it is acting on them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.control_plane import policy
from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.failover import cpu_standby
from dumont_iac.control_plane.failover.context import GpuContext, current_contracts
from dumont_iac.control_plane.failover.health import Health, check
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.actions import OPEN
from dumont_iac.control_plane.store.documents import (
    FAILOVER_STATE,
    GPU_HEALTH,
    GPU_HOLD,
    HIBERNATION_STATE,
    STANDBY,
    STANDBY_COPY,
    STANDBY_STATE,
    WARM_POOL,
    WARM_POOL_STATE,
)
from dumont_iac.errors import DumontError

log = logging.getLogger(__name__)

GPUS_PER_TICK = 200
# What the failover agents keep per GPU; it lives only as long as the GPU's registrations.
RUNTIME_KINDS = (FAILOVER_STATE, GPU_HEALTH, STANDBY_STATE, STANDBY_COPY, WARM_POOL_STATE)
BUSY_PHASES = frozenset({"failover", "recovering", "standby_active"})
ASLEEP = frozenset({"paused", "hibernated"})
BID_STEP = 0.001


class MarketMonitor(Agent):
    name = "market_monitor"
    description = "Health-checks GPUs with a failover mechanism, re-bids or requests failover."

    def __init__(
        self,
        store: Store,
        events: EventLog,
        leases: Leases,
        marketplace: Callable[[], MarketplaceClient],
    ) -> None:
        super().__init__()
        self._store = store
        self._leases = leases
        self._events = events
        self._marketplace = marketplace

    def tick(self, now: float) -> str:
        gpus = _protected(self._store)
        _forget_unprotected(self._store, set(gpus))
        if not gpus:
            return "no GPU has a failover mechanism"
        market = self._marketplace()
        current = current_contracts(market.instances())
        failing = 0
        for user_id, gpu_id in gpus[:GPUS_PER_TICK]:
            ctx = GpuContext(self._store, self._events, market, user_id, gpu_id)
            try:
                failing += self._look_at(ctx, current.get(gpu_id), now)
            except DumontError as exc:  # one GPU's trouble must not stop the others' checks
                ctx.record("health.error", f"health check failed: {exc}")
        return f"checked {len(gpus)} GPU(s), {failing} failing"

    def _look_at(self, ctx: GpuContext, contract: Instance | None, now: float) -> int:
        if _left_alone(ctx) or self._leases.current(ctx.user_id, ctx.gpu_id) is not None:
            return 0  # a policy has it, or a replica is acting on it right now
        limits = policy.limits(ctx.store, ctx.user_id, ctx.gpu_id)
        health = ctx.doc(GPU_HEALTH) or {}
        if now - health.get("last_check_at", -1e18) < limits.health_check_interval_seconds:
            return int(health.get("failed_checks", 0) > 0)
        verdict = check(contract)
        if verdict.healthy:
            ctx.merge(GPU_HEALTH, last_check_at=now, failed_checks=0, first_failed_at=None)
            if contract is not None:
                self._sync(ctx, contract, now)
            return 0
        failed = int(health.get("failed_checks", 0)) + 1
        first = health.get("first_failed_at") or now
        ctx.merge(GPU_HEALTH, last_check_at=now, failed_checks=failed, first_failed_at=first,
                  reason=verdict.reason)  # fmt: skip
        if failed < limits.failure_threshold and not verdict.final:
            return 1
        if verdict.outbid_by is not None and limits.rebid_before_failover:
            if self._rebid(ctx, contract, verdict):
                ctx.merge(GPU_HEALTH, failed_checks=0, first_failed_at=None)
                return 0
        self._request_failover(ctx, first, verdict, failed)
        return 1

    def _request_failover(
        self, ctx: GpuContext, first: float, verdict: Health, failed: int
    ) -> None:
        if any(a.state in OPEN for a in ctx.store.actions.of_gpu(ctx.user_id, ctx.gpu_id, 5)):
            return
        refusal = policy.safeguard_refusal(ctx.store, ctx.user_id, ctx.gpu_id)
        if refusal is not None:
            health = ctx.doc(GPU_HEALTH) or {}
            if health.get("refused_for") != first:  # once per failure, not once per check
                ctx.merge(GPU_HEALTH, refused_for=first)
                ctx.record("failover.refused", refusal, reason=verdict.reason)
            return
        action, new = ctx.store.actions.request(
            ctx.user_id, ctx.gpu_id, "failover", f"auto:{ctx.gpu_id}:{first:.3f}"
        )
        if new:
            ctx.record(
                "failover.detected",
                f"{failed} failed health checks: {verdict.reason}",
                action_id=action.id,
                reason=verdict.reason,
                first_failed_at=first,
            )

    def _rebid(self, ctx: GpuContext, contract: Instance | None, verdict: Health) -> bool:
        """Win the GPU back with a higher bid when its price cap allows one."""
        spec = _spec_of(ctx)
        cap = spec.args().max_price_per_hour if spec else None
        if contract is None or cap is None or verdict.outbid_by is None:
            return False
        bid = round(verdict.outbid_by + BID_STEP, 4)
        if bid > cap:
            ctx.record("failover.rebid_refused", f"winning needs {bid} $/h, above the cap {cap}")
            return False
        ctx.market.change_bid(contract.id, bid)
        ctx.record("failover.rebid", f"re-bid {bid} $/h (cap {cap}) on contract {contract.id}",
                   contract_id=contract.id, bid=bid)  # fmt: skip
        return True

    def _sync(self, ctx: GpuContext, contract: Instance, now: float) -> None:
        association = ctx.doc(STANDBY)
        if not association or not association.get("sync_enabled", True):
            return
        state = ctx.doc(STANDBY_STATE) or {}
        interval = association.get("sync_interval_seconds", 30)
        if now - state.get("last_sync_at", -1e18) < interval or contract.actual_status != "running":
            return
        try:
            cpu_standby.sync(ctx, contract)
        except DumontError as exc:
            ctx.merge(STANDBY_STATE, sync_error=str(exc))


def _protected(store: Store) -> list[tuple[int, str]]:
    """Every (user, GPU) with a warm pool or a standby association."""
    docs = store.documents
    found = {(u, k) for kind in (WARM_POOL, STANDBY) for u, k, _ in docs.all_of_kind(kind)}
    return sorted(found)


def _forget_unprotected(store: Store, protected: set[tuple[int, str]]) -> None:
    """Runtime state of GPUs whose warm pool and standby were both deregistered (destroyed)
    goes with them; a write that raced the deregistration is caught on the next tick."""
    for kind in RUNTIME_KINDS:
        for user_id, gpu_id, _ in store.documents.all_of_kind(kind):
            if (user_id, gpu_id) not in protected:
                store.documents.delete(user_id, kind, gpu_id)


def _left_alone(ctx: GpuContext) -> bool:
    if ctx.doc(GPU_HOLD):
        return True
    if (ctx.doc(HIBERNATION_STATE) or {}).get("state") in ASLEEP:
        return True
    return (ctx.doc(FAILOVER_STATE) or {}).get("phase") in BUSY_PHASES


def _spec_of(ctx: GpuContext) -> GpuSpec | None:
    for kind in (WARM_POOL, STANDBY):
        found: dict[str, Any] | None = ctx.doc(kind)
        if found and found.get("gpu"):
            return GpuSpec.model_validate(found["gpu"])
    return None

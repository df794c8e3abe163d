"""A GPU's effective failover policy: its own override merged over the user's global settings.

One place computes it, for the settings, readiness and warm-pool endpoints alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dumont_iac.control_plane.models.failover import GlobalFailoverSettings, GpuFailoverSettings
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.actions import SUCCEEDED
from dumont_iac.control_plane.store.documents import (
    FAILOVER_GLOBAL,
    FAILOVER_GPU,
    GPU_HOLD,
    STANDBY,
)

DAY = 86_400.0
# Actions that move or restart a GPU, and so count against the safeguards.
FAILOVER_KINDS = frozenset({"restart", "failover"})


@dataclass(frozen=True)
class Limits:
    """Everything that decides when and how one GPU fails over."""

    strategy: str
    health_check_interval_seconds: int
    failure_threshold: int
    max_failovers_per_day: int
    min_seconds_between_failovers: int
    rebid_before_failover: bool
    failover_timeout: int


def limits(store: Store, user_id: int, gpu_id: str) -> Limits:
    """The GPU's own policy (FailoverPolicy) over its standby association's settings over the
    user's global settings."""
    base = global_settings(store, user_id)
    own = gpu_override(store, user_id, gpu_id)
    if own.use_global_settings:
        own = GpuFailoverSettings()
    association = store.documents.get(user_id, STANDBY, gpu_id) or {}

    def pick(mine: Any, *fallbacks: Any) -> Any:
        return next(v for v in (mine, *fallbacks) if v is not None)

    return Limits(
        strategy=effective(store, user_id, gpu_id)["effective_strategy"],
        health_check_interval_seconds=pick(
            own.health_check_interval_seconds,
            association.get("health_check_interval_seconds"),
            base.warm_pool.health_check_interval_seconds,
        ),
        failure_threshold=pick(
            own.failure_threshold,
            association.get("failure_threshold"),
            base.cpu_standby.failover_threshold,
        ),
        max_failovers_per_day=pick(own.max_failovers_per_day, base.max_failovers_per_day),
        min_seconds_between_failovers=pick(
            own.min_seconds_between_failovers, base.min_seconds_between_failovers
        ),
        rebid_before_failover=pick(own.rebid_before_failover, True),
        failover_timeout=base.warm_pool.failover_timeout_seconds,
    )


def global_settings(store: Store, user_id: int) -> GlobalFailoverSettings:
    body = store.documents.get(user_id, FAILOVER_GLOBAL)
    return GlobalFailoverSettings.model_validate(body) if body else GlobalFailoverSettings()


def gpu_override(store: Store, user_id: int, gpu_id: str) -> GpuFailoverSettings:
    body = store.documents.get(user_id, FAILOVER_GPU, gpu_id)
    return GpuFailoverSettings.model_validate(body) if body else GpuFailoverSettings()


def effective(store: Store, user_id: int, gpu_id: str) -> dict[str, Any]:
    """``{gpu_id, use_global_settings, effective_strategy, warm_pool, cpu_standby, stats}``."""
    base = global_settings(store, user_id)
    own = gpu_override(store, user_id, gpu_id)
    strategy = base.strategy
    warm = base.warm_pool.enabled
    cpu = base.cpu_standby.enabled
    if not own.use_global_settings:
        strategy = own.strategy or strategy
        warm = warm if own.warm_pool_enabled is None else own.warm_pool_enabled
        cpu = cpu if own.cpu_standby_enabled is None else own.cpu_standby_enabled
    # A strategy that leaves a mechanism out disables it, whatever its own switch says.
    warm = warm and strategy in ("warm_pool", "both")
    cpu = cpu and strategy in ("cpu_standby", "both")
    return {
        "gpu_id": gpu_id,
        "use_global_settings": own.use_global_settings,
        "effective_strategy": strategy,
        "warm_pool": {"enabled": warm},
        "cpu_standby": {"enabled": cpu},
        "stats": failover_stats(store, user_id, gpu_id),
    }


def failover_stats(store: Store, user_id: int, gpu_id: str) -> dict[str, Any]:
    done = [
        a
        for a in store.actions.of_gpu(user_id, gpu_id, limit=200)
        if a.state == SUCCEEDED and a.kind in FAILOVER_KINDS
    ]
    now = store.clock.now()
    last = max((a.finished_at or 0.0 for a in done), default=None)
    return {
        "failovers_total": len(done),
        "failovers_last_24h": sum(1 for a in done if now - (a.finished_at or 0.0) < DAY),
        "last_failover_at": last,
    }


def safeguard_refusal(store: Store, user_id: int, gpu_id: str) -> str | None:
    """Why another failover of this GPU must wait, per the user's safeguards; None: it may go.

    The safeguards stop a failover loop (a GPU that fails again right after each failover
    would otherwise churn through rentals): at most N per 24 hours, at least S seconds apart.
    """
    limit = limits(store, user_id, gpu_id)
    stats = failover_stats(store, user_id, gpu_id)
    last = stats["last_failover_at"]
    if last is not None and store.clock.now() - last < limit.min_seconds_between_failovers:
        return (
            f"safeguard: the last failover of {gpu_id} was {store.clock.now() - last:.0f} s ago; "
            f"min_seconds_between_failovers={limit.min_seconds_between_failovers}"
        )
    if stats["failovers_last_24h"] >= limit.max_failovers_per_day:
        return (
            f"safeguard: {stats['failovers_last_24h']} failover(s) of {gpu_id} in the last 24 "
            f"hours reach max_failovers_per_day={limit.max_failovers_per_day}"
        )
    return None


def hold_refusal(store: Store, user_id: int, gpu_id: str) -> str | None:
    """Why no action may start this GPU again: a policy holds it stopped or destroyed (a
    budget at its limit writes a ``gpu_hold`` document); None: nothing holds it."""
    held = store.documents.get(user_id, GPU_HOLD, gpu_id)
    if not held:
        return None
    return (
        f"held: {held.get('reason')} {held.get('budget_id', '')} keeps {gpu_id} "
        f"{'stopped' if held.get('action') == 'stop' else 'destroyed'} since "
        f"{held.get('since')}; raise or delete the budget to release it"
    ).replace("  ", " ")

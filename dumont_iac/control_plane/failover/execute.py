"""The ``failover`` action: move the logical GPU to whatever its strategy offers.

``both`` tries the warm pool first (seconds, no copy) and falls back to the CPU standby (a new
GPU elsewhere, the workspace restored from the standby's copy) when the pool cannot take over:
its machine is gone, or another tenant took its standbys' GPUs. A strategy names what may be
used; what is registered for the GPU (a warm pool, a standby association) is what can be.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.failover import cpu_standby, warm_pool
from dumont_iac.control_plane.failover.context import CannotFailOver, GpuContext
from dumont_iac.control_plane.failover.health import check
from dumont_iac.control_plane.store.documents import (
    FAILOVER_STATE,
    STANDBY,
    WARM_POOL,
    WARM_POOL_STATE,
)


def failover(ctx: GpuContext) -> dict[str, Any]:
    limits = policy.limits(ctx.store, ctx.user_id, ctx.gpu_id)
    strategy = limits.strategy
    if strategy == "disabled":
        raise CannotFailOver("failover is disabled for this GPU (strategy 'disabled')")
    has_pool = ctx.doc(WARM_POOL) is not None
    has_standby = ctx.doc(STANDBY) is not None
    failed = ctx.current()
    reason = check(failed).reason or "failover requested"
    ctx.merge(FAILOVER_STATE, phase="failover", since=ctx.now(), reason=reason, error=None)
    tried: list[str] = []
    try:
        if strategy in ("warm_pool", "both") and has_pool:
            try:
                return _done(ctx, warm_pool.promote(ctx, failed, limits.failover_timeout))
            except CannotFailOver as exc:
                tried.append(str(exc))
        if strategy in ("cpu_standby", "both") and has_standby:
            result = cpu_standby.activate(ctx, failed, reason)
            if has_pool:
                result |= _pool_left(ctx, "; ".join(tried) or "warm pool not allowed")
            if not cpu_standby.association(ctx).get("auto_recovery", True):
                ctx.merge(FAILOVER_STATE, phase="standby_active")
                return {**result, "tried": tried}
            ctx.merge(FAILOVER_STATE, phase="recovering")
            return _done(ctx, {**result, **cpu_standby.recover(ctx), "tried": tried})
        if not tried:
            tried.append(f"strategy {strategy!r} has nothing registered to fail over to")
        raise CannotFailOver("; ".join(tried))
    except Exception as exc:
        ctx.merge(FAILOVER_STATE, phase="failed", error=str(exc), finished_at=ctx.now())
        raise


def _done(ctx: GpuContext, result: dict[str, Any]) -> dict[str, Any]:
    ctx.merge(FAILOVER_STATE, phase=None, error=None, finished_at=ctx.now(),
              last_strategy=result.get("strategy"))  # fmt: skip
    return result


def _pool_left(ctx: GpuContext, why: str) -> dict[str, Any]:
    """The GPU leaves the pool's host for the CPU standby's new GPU: standbys on the old host
    (and its volume, local to it) can no longer serve it, so they stop billing."""
    for _, standby in warm_pool.standbys(ctx):
        ctx.market.destroy(standby.id)
    reason = (
        f"the pool could not take over ({why}); the GPU moved off its host through the CPU "
        "standby, without same-host standbys: redeploy the pool to get them back"
    )
    ctx.merge(WARM_POOL_STATE, state="degraded", error_message=reason)
    return {"warm_pool": "degraded"}

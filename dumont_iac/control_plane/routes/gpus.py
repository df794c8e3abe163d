"""``/gpus/{gpu_id}/state``: what the control plane is doing with a GPU, asked by refresh.

A provider whose GPU's marker is on no running contract asks here before it concludes the GPU
is gone: a GPU in mid-failover, on its CPU standby, paused or destroyed by hibernation, or
held by a budget is the policy's doing, not drift, and must be neither dropped nor rented
again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, GpuIdPath, answers
from dumont_iac.control_plane.models.responses import GpuStateOut
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.documents import (
    FAILOVER_STATE,
    GPU_HOLD,
    HIBERNATION_STATE,
    STANDBY,
    WARM_POOL,
)

router = APIRouter(prefix="/gpus", tags=["gpus"])

STATE_EXAMPLE = {
    "gpu_id": GPU_ID_EXAMPLE,
    "phase": "recovering",
    "since": 1_800_000_000.0,
    "reason": "its machine 17 is offline",
    "error": None,
    "managed": True,
    "failovers_last_24h": 1,
    "last_failover_at": 1_799_999_950.0,
}


def phase_of(store: Any, user_id: int, gpu_id: str) -> dict[str, Any]:
    """``{phase, since, reason, error}``: the first of failover, hibernation, budget hold."""
    docs = store.documents
    failover = docs.get(user_id, FAILOVER_STATE, gpu_id) or {}
    if failover.get("phase") in ("failover", "recovering", "standby_active", "failed"):
        return {k: failover.get(k) for k in ("phase", "since", "reason", "error")}
    sleep = docs.get(user_id, HIBERNATION_STATE, gpu_id) or {}
    if sleep.get("state") in ("paused", "hibernated"):
        return {"phase": sleep["state"], "since": sleep.get("since"),
                "reason": sleep.get("reason"), "error": None}  # fmt: skip
    hold = docs.get(user_id, GPU_HOLD, gpu_id)
    if hold:
        return {"phase": "held", "since": hold.get("since"),
                "reason": f"budget {hold.get('budget_id')}: {hold.get('action')}",
                "error": None}  # fmt: skip
    return {"phase": "normal", "since": None, "reason": None, "error": None}


@router.get(
    "/{gpu_id}/state",
    response_model=GpuStateOut,
    summary="What the control plane is doing with the GPU: normal, failover, recovering, "
    "standby_active, failed, paused, hibernated or held",
    responses=answers(STATE_EXAMPLE),
)
def gpu_state(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    stats = policy.failover_stats(store, caller.user_id, gpu_id)
    managed = any(
        store.documents.get(caller.user_id, kind, gpu_id) is not None
        for kind in (WARM_POOL, STANDBY, HIBERNATION_STATE)
    )
    return {
        "gpu_id": gpu_id,
        **phase_of(store, caller.user_id, gpu_id),
        "managed": managed,
        "failovers_last_24h": stats["failovers_last_24h"],
        "last_failover_at": stats["last_failover_at"],
    }

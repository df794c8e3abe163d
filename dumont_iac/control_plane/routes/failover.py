"""``/failover``: request an action on a GPU, and follow it (readiness, status, one action)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.errors import ApiError, NotFound
from dumont_iac.control_plane.models.common import (
    GPU_ID_EXAMPLE,
    GpuIdPath,
    RowIdPath,
    answers,
)
from dumont_iac.control_plane.models.failover import ACTION_EXAMPLE, ExecuteRequest
from dumont_iac.control_plane.models.responses import ActionOut, ReadinessOut, StatusOut
from dumont_iac.control_plane.routes.deps import CallerDep, EventsDep, LeasesDep, StoreDep
from dumont_iac.control_plane.store.actions import OPEN
from dumont_iac.control_plane.store.documents import STANDBY

router = APIRouter(prefix="/failover", tags=["failover"])

REQUESTED_EXAMPLE = {
    **ACTION_EXAMPLE,
    "state": "requested",
    "attempts": 0,
    "started_at": None,
    "finished_at": None,
    "executed_by": None,
    "result": None,
}
READINESS_EXAMPLE = {
    "gpu_id": GPU_ID_EXAMPLE,
    "ready": True,
    "effective_strategy": "both",
    "warm_pool_ready": False,
    "cpu_standby_ready": True,
    "reasons": ["warm pool: no standby GPU provisioned on the host yet"],
}
STATUS_EXAMPLE = {
    "gpu_id": GPU_ID_EXAMPLE,
    "in_progress": False,
    "lease_holder": None,
    "current": None,
    "last": ACTION_EXAMPLE,
    "recent": [ACTION_EXAMPLE],
}


@router.post(
    "/execute",
    response_model=ActionOut,
    status_code=202,
    summary="Request an action on a GPU; the replica holding its lease executes it once",
    responses=answers(REQUESTED_EXAMPLE, 202, 409),
)
def execute(
    body: ExecuteRequest, store: StoreDep, events: EventsDep, caller: CallerDep
) -> dict[str, Any]:
    action, new = store.actions.request(caller.user_id, body.gpu_id, body.kind, body.request_id)
    if not new and (action.gpu_id, action.kind) != (body.gpu_id, body.kind):
        raise ApiError(
            f"request_id {body.request_id!r} was used for {action.kind} on {action.gpu_id}; "
            "choose a new request id for a different request.",
            status=409,
        )
    if new:
        events.record(
            "action.requested",
            f"{body.kind} requested",
            user_id=caller.user_id,
            gpu_id=body.gpu_id,
            data={"action_id": action.id, "request_id": body.request_id},
        )
    return action.public()


@router.get(
    "/actions/{action_id}",
    response_model=ActionOut,
    summary="One requested action and its outcome",
    responses=answers(ACTION_EXAMPLE, 200, 404),
)
def get_action(action_id: RowIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    action = store.actions.get(caller.user_id, action_id)
    if action is None:
        raise NotFound(f"No action {action_id}.")
    return action.public()


@router.get(
    "/readiness/{gpu_id}",
    response_model=ReadinessOut,
    summary="Whether the GPU's failover strategy could take over now, and why not",
    responses=answers(READINESS_EXAMPLE),
)
def readiness(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    settings = policy.effective(store, caller.user_id, gpu_id)
    reasons: list[str] = []
    warm_ready = False  # warm pools are not provisioned by this version
    if settings["warm_pool"]["enabled"]:
        reasons.append("warm pool: no standby GPU provisioned on the host yet")
    cpu_ready = False
    if settings["cpu_standby"]["enabled"]:
        association = store.documents.get(caller.user_id, STANDBY, gpu_id)
        if association is None:
            reasons.append("cpu standby: no standby VM associated with this GPU")
        elif not association.get("sync_enabled", False):
            reasons.append("cpu standby: data sync is disabled")
        else:
            cpu_ready = True
    if settings["effective_strategy"] == "disabled":
        reasons.append("failover is disabled for this GPU")
    return {
        "gpu_id": gpu_id,
        "ready": warm_ready or cpu_ready,
        "effective_strategy": settings["effective_strategy"],
        "warm_pool_ready": warm_ready,
        "cpu_standby_ready": cpu_ready,
        "reasons": reasons,
    }


@router.get(
    "/status/{gpu_id}",
    response_model=StatusOut,
    summary="The GPU's action in progress (if any), its last action and recent ones",
    responses=answers(STATUS_EXAMPLE),
)
def status(
    gpu_id: GpuIdPath, store: StoreDep, leases: LeasesDep, caller: CallerDep
) -> dict[str, Any]:
    recent = store.actions.of_gpu(caller.user_id, gpu_id, limit=20)
    current = next((a for a in reversed(recent) if a.state in OPEN), None)
    last = next((a for a in recent if a.state not in OPEN), None)
    lease = leases.current(caller.user_id, gpu_id)
    return {
        "gpu_id": gpu_id,
        "in_progress": current is not None,
        "lease_holder": lease.holder if lease else None,
        "current": current.public() if current else None,
        "last": last.public() if last else None,
        "recent": [a.public() for a in recent],
    }

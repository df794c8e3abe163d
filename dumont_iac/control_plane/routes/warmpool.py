"""``/warmpool``: the warm pools deployments register, and each GPU's warm-pool status.

A deployment registers a pool (``PUT /warmpool/pools/{gpu_id}``) once its primary and stopped
standbys run on one machine with their shared volume; the failover agent keeps its own view of
the pool in a ``warm_pool_state`` document. The status renders both: the registration says
where the pool lives, the agent's document what it is doing (absent: ``active``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.errors import NotFound
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, GpuIdPath, answers
from dumont_iac.control_plane.models.responses import GpuDeleted, WarmPoolOut, WarmPoolStatus
from dumont_iac.control_plane.models.warm_pools import (
    REGISTRATION_EXAMPLE,
    WarmPoolRegistration,
    WarmPoolRuntime,
)
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import WARM_POOL, WARM_POOL_STATE
from dumont_iac.provider.labels import standby_id

router = APIRouter(prefix="/warmpool", tags=["warm pool"])

STATUS_EXAMPLE = {
    "gpu_id": "pool-3f9a1c0e7b2d",
    "state": "active",
    "host_machine_id": 1042,
    "volume_id": 35000001,
    "primary_gpu_id": "pool-3f9a1c0e7b2d",
    "standby_gpu_id": "pool-3f9a1c0e7b2d.standby-1",
    "standby_state": "stopped",
    "failover_count": 0,
    "last_failover_at": None,
    "error_message": None,
    "registered": True,
    "standbys": 1,
    "primary_contract_id": None,
    "standby_contract_ids": [],
}
POOL_EXAMPLE = {"gpu_id": "pool-3f9a1c0e7b2d", **REGISTRATION_EXAMPLE}


@router.get(
    "/status/{gpu_id}",
    response_model=WarmPoolStatus,
    summary="The GPU's warm pool: where it lives and what the failover agent is doing with it",
    responses=answers(STATUS_EXAMPLE),
)
def warm_pool_status(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    registered = store.documents.get(caller.user_id, WARM_POOL, gpu_id)
    if registered is not None:
        return _registered_status(store, caller.user_id, gpu_id, registered)
    settings = policy.effective(store, caller.user_id, gpu_id)
    enabled = settings["warm_pool"]["enabled"]
    stats = settings["stats"]
    return {
        "gpu_id": gpu_id,
        # No deployment registered a pool for this GPU: an enabled strategy is still looking
        # for a host with room for one.
        "state": "searching" if enabled else "disabled",
        "host_machine_id": None,
        "volume_id": None,
        "primary_gpu_id": gpu_id,
        "standby_gpu_id": None,
        "standby_state": None,
        "failover_count": stats["failovers_total"],
        "last_failover_at": stats["last_failover_at"],
        "error_message": None,
    }


def _registered_status(
    store: Store, user_id: int, gpu_id: str, registered: dict[str, Any]
) -> dict[str, Any]:
    found = store.documents.get(user_id, WARM_POOL_STATE, gpu_id)
    runtime = WarmPoolRuntime.model_validate(found or {})
    if found is None:  # the agent has not looked at the pool yet: count what the policy did
        stats = policy.effective(store, user_id, gpu_id)["stats"]
        runtime = runtime.model_copy(
            update={
                "failover_count": stats["failovers_total"],
                "last_failover_at": stats["last_failover_at"],
            }
        )
    return {
        "gpu_id": gpu_id,
        "state": runtime.state,
        "host_machine_id": registered["host_machine_id"],
        "volume_id": registered["volume_id"],
        "primary_gpu_id": gpu_id,
        "standby_gpu_id": standby_id(gpu_id, 1),
        "standby_state": "stopped",  # standbys are kept stopped: only their storage bills
        "failover_count": runtime.failover_count,
        "last_failover_at": runtime.last_failover_at,
        "error_message": runtime.error_message,
        "registered": True,
        "standbys": registered["standbys"],
        "primary_contract_id": runtime.primary_contract_id,
        "standby_contract_ids": runtime.standby_contract_ids,
    }


@router.get(
    "/pools/{gpu_id}",
    response_model=WarmPoolOut,
    summary="One GPU's warm pool as its deployment registered it",
    responses=answers(POOL_EXAMPLE, 200, 404),
)
def get_warm_pool(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    body = store.documents.get(caller.user_id, WARM_POOL, gpu_id)
    if body is None:
        raise NotFound(f"GPU {gpu_id} has no registered warm pool.")
    return {"gpu_id": gpu_id, **body}


@router.put(
    "/pools/{gpu_id}",
    response_model=WarmPoolOut,
    summary="Register (or re-register) a GPU's warm pool: its host, volume and standbys",
    responses=answers(POOL_EXAMPLE),
)
def put_warm_pool(
    gpu_id: GpuIdPath, body: WarmPoolRegistration, store: StoreDep, caller: CallerDep
) -> dict[str, Any]:
    stored = body.model_dump(mode="json")
    store.documents.put(caller.user_id, WARM_POOL, stored, key=gpu_id)
    return {"gpu_id": gpu_id, **stored}


@router.delete(
    "/pools/{gpu_id}",
    response_model=GpuDeleted,
    summary="Forget a GPU's warm pool (and the agent's state of it)",
    responses=answers({"gpu_id": GPU_ID_EXAMPLE, "deleted": True}, 200, 404),
)
def delete_warm_pool(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if not store.documents.delete(caller.user_id, WARM_POOL, key=gpu_id):
        raise NotFound(f"GPU {gpu_id} has no registered warm pool.")
    store.documents.delete(caller.user_id, WARM_POOL_STATE, key=gpu_id)
    return {"gpu_id": gpu_id, "deleted": True}

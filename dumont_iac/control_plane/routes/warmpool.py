"""``/warmpool/status``: a GPU's warm pool, as far as this control plane has built it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, GpuIdPath, answers
from dumont_iac.control_plane.models.responses import WarmPoolStatus
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep

router = APIRouter(prefix="/warmpool", tags=["warm pool"])

STATUS_EXAMPLE = {
    "gpu_id": GPU_ID_EXAMPLE,
    "state": "searching",
    "host_machine_id": None,
    "volume_id": None,
    "primary_gpu_id": GPU_ID_EXAMPLE,
    "standby_gpu_id": None,
    "standby_state": None,
    "failover_count": 0,
    "last_failover_at": None,
    "error_message": None,
}


@router.get(
    "/status/{gpu_id}",
    response_model=WarmPoolStatus,
    summary="The GPU's warm pool: 'disabled' by its strategy, or how far provisioning got",
    responses=answers(STATUS_EXAMPLE),
)
def warm_pool_status(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    settings = policy.effective(store, caller.user_id, gpu_id)
    enabled = settings["warm_pool"]["enabled"]
    stats = settings["stats"]
    return {
        "gpu_id": gpu_id,
        # Provisioning a same-host standby is the standby manager's next job; until it does,
        # an enabled pool is still looking for its host.
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

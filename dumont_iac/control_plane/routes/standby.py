"""``/standby/associations``: which CPU standby VM receives each GPU's data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane.errors import NotFound
from dumont_iac.control_plane.models.common import GpuIdPath, answers
from dumont_iac.control_plane.models.policies import ASSOCIATION_EXAMPLE, StandbyAssociation
from dumont_iac.control_plane.models.responses import AssociationList, AssociationOut, GpuDeleted
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.documents import STANDBY, STANDBY_STATE

router = APIRouter(prefix="/standby/associations", tags=["standby"])


# What the standby agent reports about an association (its ``standby_state`` document).
RUNTIME_FIELDS = ("state", "last_sync_at", "gpu_failed", "failure_reason", "last_failover_at",
                  "failovers_last_24h")  # fmt: skip


def _render(gpu_id: str, body: dict[str, Any], runtime: dict[str, Any] | None) -> dict[str, Any]:
    observed = {k: v for k, v in (runtime or {}).items() if k in RUNTIME_FIELDS}
    merged = {"gpu_id": gpu_id, **body, **observed}
    # Until the agent has reported, a fresh association syncs and has not failed.
    merged["state"] = merged.get("state") or ("syncing" if body.get("sync_enabled") else "disabled")
    merged["gpu_failed"] = bool(merged.get("gpu_failed", False))
    merged.setdefault("failure_reason", None)
    return merged


@router.get(
    "",
    response_model=AssociationList,
    summary="Every standby association of the caller",
    responses=answers({"associations": [ASSOCIATION_EXAMPLE]}),
)
def list_associations(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    found = store.documents.list(caller.user_id, STANDBY)
    runtime = store.documents.list(caller.user_id, STANDBY_STATE)
    return {
        "associations": [
            _render(gpu_id, body, runtime.get(gpu_id)) for gpu_id, body in found.items()
        ]
    }


@router.get(
    "/{gpu_id}",
    response_model=AssociationOut,
    summary="One GPU's standby association",
    responses=answers(ASSOCIATION_EXAMPLE, 200, 404),
)
def get_association(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    body = store.documents.get(caller.user_id, STANDBY, gpu_id)
    if body is None:
        raise NotFound(f"GPU {gpu_id} has no standby association.")
    return _render(gpu_id, body, store.documents.get(caller.user_id, STANDBY_STATE, gpu_id))


@router.put(
    "/{gpu_id}",
    response_model=AssociationOut,
    summary="Associate (or re-associate) a GPU with its CPU standby VM",
    responses=answers(ASSOCIATION_EXAMPLE),
)
def put_association(
    gpu_id: GpuIdPath, body: StandbyAssociation, store: StoreDep, caller: CallerDep
) -> dict[str, Any]:
    stored = body.model_dump(mode="json")
    store.documents.put(caller.user_id, STANDBY, stored, key=gpu_id)
    return _render(gpu_id, stored, store.documents.get(caller.user_id, STANDBY_STATE, gpu_id))


@router.delete(
    "/{gpu_id}",
    response_model=GpuDeleted,
    summary="Remove a GPU's standby association",
    responses=answers({"gpu_id": "gpu-3f9a1c0e7b2d", "deleted": True}, 200, 404),
)
def delete_association(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if not store.documents.delete(caller.user_id, STANDBY, key=gpu_id):
        raise NotFound(f"GPU {gpu_id} has no standby association.")
    # The agent's report dies with the association: a new one starts from what it observes.
    store.documents.delete(caller.user_id, STANDBY_STATE, key=gpu_id)
    return {"gpu_id": gpu_id, "deleted": True}

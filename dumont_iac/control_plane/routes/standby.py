"""``/standby/associations``: which CPU standby VM receives each GPU's data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane.errors import NotFound
from dumont_iac.control_plane.models.common import GpuIdPath, answers
from dumont_iac.control_plane.models.policies import ASSOCIATION_EXAMPLE, StandbyAssociation
from dumont_iac.control_plane.models.responses import AssociationList, AssociationOut, GpuDeleted
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.documents import STANDBY

router = APIRouter(prefix="/standby/associations", tags=["standby"])


def _render(gpu_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "gpu_id": gpu_id,
        **body,
        # The standby manager will move these; a fresh association syncs and has not failed.
        "state": body.get("state") or ("syncing" if body.get("sync_enabled") else "disabled"),
        "gpu_failed": body.get("gpu_failed", False),
        "failure_reason": body.get("failure_reason"),
    }


@router.get(
    "",
    response_model=AssociationList,
    summary="Every standby association of the caller",
    responses=answers({"associations": [ASSOCIATION_EXAMPLE]}),
)
def list_associations(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    found = store.documents.list(caller.user_id, STANDBY)
    return {"associations": [_render(gpu_id, body) for gpu_id, body in found.items()]}


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
    return _render(gpu_id, body)


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
    return _render(gpu_id, stored)


@router.delete(
    "/{gpu_id}",
    response_model=GpuDeleted,
    summary="Remove a GPU's standby association",
    responses=answers({"gpu_id": "gpu-3f9a1c0e7b2d", "deleted": True}, 200, 404),
)
def delete_association(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if not store.documents.delete(caller.user_id, STANDBY, key=gpu_id):
        raise NotFound(f"GPU {gpu_id} has no standby association.")
    return {"gpu_id": gpu_id, "deleted": True}

"""``/hibernation/policies/{gpu_id}``: a GPU's hibernation policy, as the ``HibernationPolicy``
resource registers it, with its hibernation state; ``/hibernation/wake/{gpu_id}``: rent the
GPU anew and restore its last snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane.errors import ApiError, NotFound
from dumont_iac.control_plane.models.common import GpuIdPath, answers
from dumont_iac.control_plane.models.hibernation import (
    HIBERNATION_POLICY_OUT_EXAMPLE,
    WAKE_EXAMPLE,
    HibernationPolicyOut,
    HibernationPolicySpec,
    WakeOut,
)
from dumont_iac.control_plane.models.responses import GpuDeleted
from dumont_iac.control_plane.routes.deps import (
    CallerDep,
    EventsDep,
    HibernationDep,
    LeasesDep,
    StoreDep,
)
from dumont_iac.control_plane.store.documents import HIBERNATION_POLICY
from dumont_iac.errors import DumontError

router = APIRouter(prefix="/hibernation", tags=["hibernation"])

# How long a wake may hold the GPU's lease without renewing it (renting takes minutes).
WAKE_LEASE_SECONDS = 600.0


def _policy_out(hibernation: HibernationDep, user_id: int, gpu_id: str) -> dict[str, Any]:
    policy = hibernation.policy(user_id, gpu_id)
    if policy is None:
        raise NotFound(f"GPU {gpu_id} has no hibernation policy.")
    return {
        "gpu_id": gpu_id,
        **policy.model_dump(mode="json"),
        "hibernation": hibernation.state(user_id, gpu_id).model_dump(),
        "last_error": hibernation.last_error(user_id, gpu_id),
    }


@router.put(
    "/policies/{gpu_id}",
    response_model=HibernationPolicyOut,
    summary="Register (or change) a GPU's hibernation policy",
    responses=answers(HIBERNATION_POLICY_OUT_EXAMPLE),
)
def put_hibernation_policy(
    gpu_id: GpuIdPath,
    body: HibernationPolicySpec,
    store: StoreDep,
    hibernation: HibernationDep,
    caller: CallerDep,
) -> dict[str, Any]:
    stored = body.model_dump(mode="json")
    store.documents.put(caller.user_id, HIBERNATION_POLICY, stored, key=gpu_id)
    return _policy_out(hibernation, caller.user_id, gpu_id)


@router.get(
    "/policies/{gpu_id}",
    response_model=HibernationPolicyOut,
    summary="A GPU's hibernation policy and state",
    responses=answers(HIBERNATION_POLICY_OUT_EXAMPLE, 200, 404),
)
def get_hibernation_policy(
    gpu_id: GpuIdPath, hibernation: HibernationDep, caller: CallerDep
) -> dict[str, Any]:
    return _policy_out(hibernation, caller.user_id, gpu_id)


@router.delete(
    "/policies/{gpu_id}",
    response_model=GpuDeleted,
    summary="Stop hibernating a GPU; its state goes too (the next deploy manages it again)",
    responses=answers({"gpu_id": "gpu-3f9a1c0e7b2d", "deleted": True}, 200, 404),
)
def delete_hibernation_policy(
    gpu_id: GpuIdPath, store: StoreDep, hibernation: HibernationDep, caller: CallerDep
) -> dict[str, Any]:
    if not store.documents.delete(caller.user_id, HIBERNATION_POLICY, key=gpu_id):
        raise NotFound(f"GPU {gpu_id} has no hibernation policy.")
    hibernation.forget(caller.user_id, gpu_id)
    return {"gpu_id": gpu_id, "deleted": True}


@router.post(
    "/wake/{gpu_id}",
    response_model=WakeOut,
    summary="Wake a paused or hibernated GPU: a new contract, its last snapshot restored",
    responses=answers(WAKE_EXAMPLE, 200, 404, 409, 502),
)
def wake(
    gpu_id: GpuIdPath,
    hibernation: HibernationDep,
    leases: LeasesDep,
    events: EventsDep,
    caller: CallerDep,
) -> dict[str, Any]:
    policy = hibernation.policy(caller.user_id, gpu_id)
    if policy is None:
        raise NotFound(f"GPU {gpu_id} has no hibernation policy.")
    lease = leases.acquire(caller.user_id, gpu_id, events.replica, WAKE_LEASE_SECONDS)
    if lease is None:
        raise ApiError(
            f"GPU {gpu_id} is being acted on right now (its lease is held); try again shortly.",
            status=409,
        )
    try:
        if hibernation.state(caller.user_id, gpu_id).state == "awake":
            raise ApiError(f"GPU {gpu_id} is awake: there is nothing to wake.", status=409)
        try:
            return hibernation.wake(caller.user_id, gpu_id, policy).model_dump()
        except DumontError as exc:
            hibernation.record_error(caller.user_id, gpu_id, f"wake failed: {exc}")
            raise ApiError(f"Waking GPU {gpu_id} failed: {exc}", status=502) from exc
    finally:
        leases.release(lease)

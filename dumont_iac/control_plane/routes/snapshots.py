"""``/snapshots/retention-policy``: how long a user's snapshots are kept (globally or per GPU);
``/snapshots/policies/{gpu_id}``: a GPU's snapshot policy (bucket, interval, retention), as the
``SnapshotPolicy`` resource registers it, with what the snapshot agent last did."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dumont_iac.control_plane.errors import NotFound
from dumont_iac.control_plane.models.common import GPU_ID_PATTERN, GpuIdPath, answers
from dumont_iac.control_plane.models.policies import RetentionPolicy
from dumont_iac.control_plane.models.responses import GpuDeleted
from dumont_iac.control_plane.models.snapshots import (
    SNAPSHOT_POLICY_OUT_EXAMPLE,
    SnapshotPolicyOut,
    SnapshotPolicySpec,
)
from dumont_iac.control_plane.routes.deps import CallerDep, SnapshotsDep, StoreDep
from dumont_iac.control_plane.store.documents import RETENTION, SNAPSHOT_POLICY

router = APIRouter(prefix="/snapshots", tags=["snapshots"])

EXAMPLE = RetentionPolicy().model_dump()


@router.get(
    "/retention-policy",
    response_model=RetentionPolicy,
    summary="The retention policy of one GPU (its own, else the caller's global one)",
    responses=answers(EXAMPLE),
)
def get_policy(
    store: StoreDep,
    caller: CallerDep,
    instance_id: Annotated[
        str | None, Query(pattern=GPU_ID_PATTERN, description="A GPU's logical id.")
    ] = None,
) -> dict[str, Any]:
    body = None
    if instance_id is not None:
        body = store.documents.get(caller.user_id, RETENTION, instance_id)
    if body is None:
        body = store.documents.get(caller.user_id, RETENTION, "")
        if body is not None:
            body = {**body, "instance_id": instance_id}
    policy = RetentionPolicy.model_validate(body) if body else RetentionPolicy()
    return policy.model_copy(update={"instance_id": instance_id}).model_dump()


@router.put(
    "/retention-policy",
    response_model=RetentionPolicy,
    summary="Set the caller's global retention policy, or one GPU's (with instance_id)",
    responses=answers(EXAMPLE),
)
def put_policy(body: RetentionPolicy, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    store.documents.put(caller.user_id, RETENTION, body.model_dump(), key=body.instance_id or "")
    return body.model_dump()


def _policy_out(snapshots: SnapshotsDep, user_id: int, gpu_id: str) -> dict[str, Any]:
    policy = snapshots.policy(user_id, gpu_id)
    if policy is None:
        raise NotFound(f"GPU {gpu_id} has no snapshot policy.")
    status = snapshots.status(user_id, gpu_id)
    return {"gpu_id": gpu_id, **policy.model_dump(), "status": status.model_dump()}


@router.put(
    "/policies/{gpu_id}",
    response_model=SnapshotPolicyOut,
    summary="Register (or change) a GPU's snapshot policy",
    responses=answers(SNAPSHOT_POLICY_OUT_EXAMPLE),
)
def put_snapshot_policy(
    gpu_id: GpuIdPath,
    body: SnapshotPolicySpec,
    store: StoreDep,
    snapshots: SnapshotsDep,
    caller: CallerDep,
) -> dict[str, Any]:
    store.documents.put(caller.user_id, SNAPSHOT_POLICY, body.model_dump(mode="json"), key=gpu_id)
    return _policy_out(snapshots, caller.user_id, gpu_id)


@router.get(
    "/policies/{gpu_id}",
    response_model=SnapshotPolicyOut,
    summary="A GPU's snapshot policy and its last snapshot",
    responses=answers(SNAPSHOT_POLICY_OUT_EXAMPLE, 200, 404),
)
def get_snapshot_policy(
    gpu_id: GpuIdPath, snapshots: SnapshotsDep, caller: CallerDep
) -> dict[str, Any]:
    return _policy_out(snapshots, caller.user_id, gpu_id)


@router.delete(
    "/policies/{gpu_id}",
    response_model=GpuDeleted,
    summary="Stop snapshotting a GPU (its snapshots stay in the bucket)",
    responses=answers({"gpu_id": "gpu-3f9a1c0e7b2d", "deleted": True}, 200, 404),
)
def delete_snapshot_policy(
    gpu_id: GpuIdPath, store: StoreDep, snapshots: SnapshotsDep, caller: CallerDep
) -> dict[str, Any]:
    if not store.documents.delete(caller.user_id, SNAPSHOT_POLICY, key=gpu_id):
        raise NotFound(f"GPU {gpu_id} has no snapshot policy.")
    snapshots.forget(caller.user_id, gpu_id)
    return {"gpu_id": gpu_id, "deleted": True}

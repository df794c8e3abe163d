"""``/snapshots/retention-policy``: how long a user's snapshots are kept (globally or per GPU)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dumont_iac.control_plane.models.common import GPU_ID_PATTERN, answers
from dumont_iac.control_plane.models.policies import RetentionPolicy
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.documents import RETENTION

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

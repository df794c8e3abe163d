"""``/keys/rotate``: issue a new key; the one presented stays valid for a grace period."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane.models.common import answers
from dumont_iac.control_plane.models.policies import KeyRotation
from dumont_iac.control_plane.models.responses import RotationOut
from dumont_iac.control_plane.routes.deps import CallerDep, EventsDep, StoreDep

router = APIRouter(prefix="/keys", tags=["keys"])

EXAMPLE = {
    "api_key": "dcp_Xv1f...new-key...",
    "key_id": 3,
    "previous_key_id": 2,
    "previous_key_expires_at": 1_800_003_600.0,
}


@router.post(
    "/rotate",
    response_model=RotationOut,
    summary="Issue a new API key; the key used for this call expires after grace_seconds",
    responses=answers(EXAMPLE),
)
def rotate(
    body: KeyRotation, store: StoreDep, events: EventsDep, caller: CallerDep
) -> dict[str, Any]:
    rotation = store.users.rotate(caller.user_id, caller.key_id, body.grace_seconds)
    events.record(
        "key.rotated",
        f"key {rotation.old_key_id} replaced by key {rotation.key_id}",
        user_id=caller.user_id,
        data={"grace_seconds": body.grace_seconds, "new_key_id": rotation.key_id},
    )
    return {
        "api_key": rotation.key,
        "key_id": rotation.key_id,
        "previous_key_id": rotation.old_key_id,
        "previous_key_expires_at": rotation.old_key_expires_at,
    }

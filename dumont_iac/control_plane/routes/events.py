"""``/events``: the caller's event log (decisions and actions, with their timings)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dumont_iac.control_plane.events import MAX_PAGE
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, GPU_ID_PATTERN, answers
from dumont_iac.control_plane.models.responses import EventList
from dumont_iac.control_plane.routes.deps import CallerDep, EventsDep

router = APIRouter(tags=["events"])

EXAMPLE = {
    "events": [
        {
            "id": 42,
            "kind": "action.succeeded",
            "message": "restart done",
            "at": 1_800_000_001.9,
            "replica": "cp-host-1:4242",
            "gpu_id": GPU_ID_EXAMPLE,
            "duration_ms": 1480.2,
            "data": {"action_id": 7, "result": {"contract_id": 123456, "did": "start"}},
        }
    ]
}


@router.get(
    "/events",
    response_model=EventList,
    summary="The caller's events, oldest first, filtered by GPU, kind and time",
    responses=answers(EXAMPLE),
)
def list_events(
    events: EventsDep,
    caller: CallerDep,
    gpu_id: Annotated[str | None, Query(pattern=GPU_ID_PATTERN)] = None,
    kind: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z_]+(\.[a-z_]+)*[.*]?$",
            description="An event kind ('action.succeeded'), or a prefix ending in '.' or '*'.",
        ),
    ] = None,
    since: Annotated[
        float | None, Query(ge=0, le=1e11, description="Epoch seconds; events at or after.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    found = events.query(caller.user_id, gpu_id=gpu_id, kind=kind, since=since, limit=limit)
    return {"events": [event.public() for event in found]}

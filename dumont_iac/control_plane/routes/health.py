"""``/health`` and ``/health/agents``: open to all, so probes need no key."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from dumont_iac.control_plane.models.common import answers
from dumont_iac.control_plane.models.responses import AgentsOut, HealthOut

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

HEALTH_EXAMPLE = {
    "status": "ok",
    "store": "sqlite",
    "schema_revision": "0003",
    "replica": "host:4242",
}
AGENTS_EXAMPLE = {
    "replica": "host:4242",
    "running": True,
    "agents": [
        {
            "name": "standby_manager",
            "description": "Executes requested failover actions, one replica per GPU.",
            "ticks": 12,
            "last_tick_at": 1_800_000_060.0,
            "last_tick_ms": 3.1,
            "last_error": None,
            "last_error_at": None,
            "detail": "no actions waiting",
        }
    ],
}


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Answers once the service and its database are up",
    responses={
        **answers(HEALTH_EXAMPLE),
        503: {
            "description": "The database does not answer.",
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "store": "postgresql",
                        "replica": "host:4242",
                    }
                }
            },
        },
    },
)
def health(request: Request) -> Any:
    store = request.app.state.store
    replica = request.app.state.settings.replica_id
    try:
        revision = store.revision()
    except SQLAlchemyError as exc:
        # A probe needs a status, not a stack trace: the database is the usual culprit.
        log.warning("health check: the database does not answer: %s", exc)
        body = {"status": "unavailable", "store": store.backend, "replica": replica}
        return JSONResponse(body, status_code=503)
    return {"status": "ok", "store": store.backend, "schema_revision": revision, "replica": replica}


@router.get(
    "/health/agents",
    response_model=AgentsOut,
    summary="Each background agent of this replica: last tick, last error",
    responses=answers(AGENTS_EXAMPLE),
)
def agents(request: Request) -> dict[str, Any]:
    runner = request.app.state.agents
    return {
        "replica": request.app.state.settings.replica_id,
        "running": request.app.state.agents_running,
        "agents": [agent.health() for agent in runner.agents],
    }

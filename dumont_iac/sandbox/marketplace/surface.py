"""The fault-injection surface under ``/_sandbox/``: make the market misbehave on purpose.

Only the key the sandbox was started with may call it. Market events (another tenant takes an
offer, an outbid, a machine failure, image pulls that never finish) change the store; transport
faults (5xx, hang, dropped response) are armed on the fault plan; the clock and the rate limits
can be changed while running.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dumont_iac.sandbox.core.faults import MAX_HANG_SECONDS, FaultKind
from dumont_iac.sandbox.marketplace.deps import get_clock, get_store, require_sandbox_key
from dumont_iac.sandbox.marketplace.store.instances import MAX_STALLS

# Ids are SQLite integers: a larger number can name nothing, and is refused as bad input.
Id = Annotated[int, Path(ge=0, le=2**63 - 1)]

router = APIRouter(
    prefix="/_sandbox", tags=["sandbox faults"], dependencies=[Depends(require_sandbox_key)]
)


def _example(body: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": body}}}}


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH", "*"] = Field(
        description="The HTTP method of the calls to break, or * for any."
    )
    path: str = Field(
        min_length=1,
        max_length=300,
        pattern=r"^/",
        description="A glob on the path (trailing slash ignored), e.g. /api/v0/asks/*",
    )
    kind: FaultKind = Field(
        description="error: answer `status` without running the call; hang: wait `seconds`, "
        "then run it; drop: run it (the change is committed), then break the connection."
    )
    times: int = Field(default=1, ge=1, le=1000, description="How many matching calls break.")
    status: int = Field(default=503, ge=500, le=599, description="The status of an error.")
    seconds: float = Field(
        default=0.0, ge=0, le=MAX_HANG_SECONDS, description="How long a hang lasts."
    )

    @model_validator(mode="after")
    def _hang_needs_seconds(self) -> FaultSpec:
        if self.kind == "hang" and self.seconds <= 0:
            raise ValueError(f"seconds: a hang needs 0 < seconds <= {MAX_HANG_SECONDS:g}")
        return self


FAULT_EXAMPLES = {
    "error": {
        "summary": "The next 2 rentals answer 503",
        "value": {"method": "PUT", "path": "/api/v0/asks/*", "kind": "error", "times": 2},
    },
    "hang": {
        "summary": "The next instance list waits 5 s",
        "value": {"method": "GET", "path": "/api/v0/instances", "kind": "hang", "seconds": 5},
    },
    "drop": {
        "summary": "The next rental is made but its answer is lost",
        "value": {"method": "PUT", "path": "/api/v0/asks/*", "kind": "drop"},
    },
}
FAULT_RESPONSE = {
    "success": True,
    "fault": {
        "id": 1,
        "method": "PUT",
        "path": "/api/v0/asks/*",
        "kind": "drop",
        "remaining": 1,
        "status": 503,
        "seconds": 0.0,
    },
}


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"seconds": 3600}]})
    seconds: float = Field(ge=0, le=10 * 365 * 86400, description="Sandbox seconds to jump.")


class ClockSpeed(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"speed": 60}]})
    speed: float = Field(gt=0, le=1_000_000, description="Sandbox seconds per real second.")


class RateLimitMode(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rate_limits": "0.1"}]}
    )
    rate_limits: str = Field(
        max_length=32, description="'realistic', 'off', or a factor scaling every gap ('0.1')."
    )


class NewUser(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"credit": 50.0, "api_key": "tenant-2"}]}
    )
    credit: float = Field(default=100.0, ge=0, le=1e9, description="Starting credit in $.")
    api_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="The new user's key; generated when absent.",
    )


@router.post(
    "/offers/{ask_id}/take",
    summary="Another tenant rents this offer",
    responses=_example({"success": True, "ask_id": 12000042, "machine_id": 17}),
)
def take_offer(ask_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).take_offer(ask_id)}


@router.post(
    "/instances/{instance_id}/outbid",
    summary="A higher bid takes this interruptible instance's GPUs (it stops, keeping its data)",
    responses=_example({"success": True, "instance_id": 26000001, "winning_bid": 0.3851}),
)
def outbid(instance_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).outbid(instance_id)}


@router.post(
    "/machines/{machine_id}/fail",
    summary="The machine fails: its instances go offline and its offers disappear",
    responses=_example({"success": True, "machine_id": 17, "instances_offline": 1}),
)
def fail_machine(machine_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).fail_machine(machine_id)}


@router.post(
    "/machines/{machine_id}/recover",
    summary="The machine comes back and is offered again",
    responses=_example({"success": True, "machine_id": 17}),
)
def recover_machine(machine_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).recover_machine(machine_id)}


class StallSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"times": 1}]})
    times: int = Field(default=1, ge=1, le=MAX_STALLS, description="How many rentals stall.")


@router.post(
    "/stalls",
    summary="The next rentals stay loading (an image pull that never ends) until released",
    responses=_example({"success": True, "armed": 1}),
)
def stall_rentals(body: StallSpec, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).stall_next_rentals(body.times)}


@router.delete(
    "/stalls",
    summary="Disarm pending stalls and let stalled rentals finish loading",
    responses=_example({"success": True, "released": 1, "disarmed": 0}),
)
def release_stalls(request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).release_stalls()}


@router.post(
    "/faults",
    summary="Break the next calls to an endpoint: answer 5xx, hang, or drop the response",
    responses=_example(FAULT_RESPONSE),
)
def arm_fault(
    request: Request, spec: Annotated[FaultSpec, Body(openapi_examples=FAULT_EXAMPLES)]
) -> dict[str, Any]:
    fault = request.app.state.faults.arm(**spec.model_dump())
    return {"success": True, "fault": vars(fault).copy()}


@router.get(
    "/faults",
    summary="The faults still armed",
    responses=_example({"faults": [FAULT_RESPONSE["fault"]]}),
)
def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": request.app.state.faults.active()}


@router.delete(
    "/faults",
    summary="Disarm every fault",
    responses=_example({"success": True, "cleared": 1}),
)
def clear_faults(request: Request) -> dict[str, Any]:
    return {"success": True, "cleared": request.app.state.faults.clear()}


@router.post(
    "/clock/advance",
    summary="Jump the sandbox clock forward (lifecycles and billing follow)",
    responses=_example({"success": True, "now": 1767225600.0, "speed": 1.0}),
)
def advance_clock(body: ClockAdvance, request: Request) -> dict[str, Any]:
    clock = get_clock(request)
    return {"success": True, "now": clock.advance(body.seconds), "speed": clock.speed}


@router.put(
    "/clock/speed",
    summary="Run the sandbox clock this many times faster than real time",
    responses=_example({"success": True, "now": 1767225600.0, "speed": 60.0}),
)
def set_clock_speed(body: ClockSpeed, request: Request) -> dict[str, Any]:
    clock = get_clock(request)
    clock.set_speed(body.speed)
    return {"success": True, "now": clock.now(), "speed": clock.speed}


@router.put(
    "/rate-limits",
    summary="Change the rate limits: realistic, off, or every gap scaled",
    responses=_example({"success": True, "rate_limits": "0.1"}),
)
def set_rate_limits(body: RateLimitMode, request: Request) -> dict[str, Any]:
    limiter = request.app.state.rate_limiter
    limiter.set_mode(body.rate_limits)
    return {"success": True, "rate_limits": limiter.mode}


@router.post(
    "/users",
    summary="Create another user (tenant) with its own key and credit",
    responses=_example({"success": True, "user_id": 2, "api_key": "tenant-2", "credit": 50.0}),
)
def create_user(body: NewUser, request: Request) -> dict[str, Any]:
    key = body.api_key or secrets.token_urlsafe(24)
    user_id = get_store(request).create_user(key, body.credit)
    return {"success": True, "user_id": user_id, "api_key": key, "credit": body.credit}


@router.post(
    "/reset",
    summary="Disarm every fault, forget rate-limit history, restore the started settings",
    responses=_example({"success": True, "cleared_faults": 0, "rate_limits": "off"}),
)
def reset(request: Request) -> dict[str, Any]:
    state = request.app.state
    cleared = state.faults.clear()
    state.rate_limiter.set_mode(state.settings.rate_limits)
    state.clock.set_speed(state.settings.speed)
    return {"success": True, "cleared_faults": cleared, "rate_limits": state.rate_limiter.mode}


@router.get(
    "/state",
    summary="A summary of the sandbox: clock, limits, armed faults, market counts",
    responses=_example(
        {
            "now": 1767225600.0,
            "speed": 60.0,
            "rate_limits": "off",
            "faults": [],
            "machines": 300,
            "offers": 1843,
            "instances": 2,
            "volumes": 1,
        }
    ),
)
def state_summary(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {
        "now": state.clock.now(),
        "speed": state.clock.speed,
        "rate_limits": state.rate_limiter.mode,
        "faults": state.faults.active(),
        **get_store(request).snapshot_counts(),
    }

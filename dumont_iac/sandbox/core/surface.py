"""The service-neutral part of the ``/_sandbox/`` surface: transport faults, the clock, the
rate limits, a reset, and a summary of the sandbox's state.

Only the key the sandbox was started with may call it. Each service adds its own events to the
same prefix (``marketplace.surface``) and its counts to the summary (``app.state.counts``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dumont_iac.sandbox.core.auth import require_sandbox_key
from dumont_iac.sandbox.core.faults import MAX_HANG_SECONDS, FaultKind

router = APIRouter(
    prefix="/_sandbox", tags=["sandbox faults"], dependencies=[Depends(require_sandbox_key)]
)


def example(body: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
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
    status: int = Field(
        default=503,
        ge=429,
        le=599,
        description="The status of an error: a 5xx, or 429 (refused as too frequent, in the "
        "rate limiter's own form).",
    )
    seconds: float = Field(
        default=0.0, ge=0, le=MAX_HANG_SECONDS, description="How long a hang lasts."
    )

    @model_validator(mode="after")
    def _hang_needs_seconds(self) -> FaultSpec:
        if self.kind == "hang" and self.seconds <= 0:
            raise ValueError(f"seconds: a hang needs 0 < seconds <= {MAX_HANG_SECONDS:g}")
        if 429 < self.status < 500:
            raise ValueError(f"status: an error is 429 or a 5xx (500 to 599), not {self.status}")
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


@router.post(
    "/faults",
    summary="Break the next calls to an endpoint: answer 5xx, hang, or drop the response",
    responses=example(FAULT_RESPONSE),
)
def arm_fault(
    request: Request, spec: Annotated[FaultSpec, Body(openapi_examples=FAULT_EXAMPLES)]
) -> dict[str, Any]:
    fault = request.app.state.faults.arm(**spec.model_dump())
    return {"success": True, "fault": vars(fault).copy()}


@router.get(
    "/faults",
    summary="The faults still armed",
    responses=example({"faults": [FAULT_RESPONSE["fault"]]}),
)
def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": request.app.state.faults.active()}


@router.delete(
    "/faults",
    summary="Disarm every fault",
    responses=example({"success": True, "cleared": 1}),
)
def clear_faults(request: Request) -> dict[str, Any]:
    return {"success": True, "cleared": request.app.state.faults.clear()}


@router.post(
    "/clock/advance",
    summary="Jump the sandbox clock forward (lifecycles and billing follow)",
    responses=example({"success": True, "now": 1767225600.0, "speed": 1.0}),
)
def advance_clock(body: ClockAdvance, request: Request) -> dict[str, Any]:
    clock = request.app.state.clock
    return {"success": True, "now": clock.advance(body.seconds), "speed": clock.speed}


@router.put(
    "/clock/speed",
    summary="Run the sandbox clock this many times faster than real time",
    responses=example({"success": True, "now": 1767225600.0, "speed": 60.0}),
)
def set_clock_speed(body: ClockSpeed, request: Request) -> dict[str, Any]:
    clock = request.app.state.clock
    clock.set_speed(body.speed)
    return {"success": True, "now": clock.now(), "speed": clock.speed}


@router.put(
    "/rate-limits",
    summary="Change the rate limits: realistic, off, or every gap scaled",
    responses=example({"success": True, "rate_limits": "0.1"}),
)
def set_rate_limits(body: RateLimitMode, request: Request) -> dict[str, Any]:
    limiter = request.app.state.rate_limiter
    limiter.set_mode(body.rate_limits)
    return {"success": True, "rate_limits": limiter.mode}


@router.post(
    "/reset",
    summary="Disarm every fault, forget rate-limit history, restore the started settings",
    responses=example({"success": True, "cleared_faults": 0, "rate_limits": "off"}),
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
    responses=example(
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
        **state.counts(),
    }

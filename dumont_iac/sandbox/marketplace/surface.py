"""The marketplace's part of the ``/_sandbox/`` surface: make the market misbehave on purpose.

Only the key the sandbox was started with may call it. Market events (another tenant takes an
offer, an outbid, a machine failure, image pulls that never finish) and other tenants change
the store; an instance's workspace files are written and read here. Transport faults, the clock
and the rate limits are the core's part of the surface (``core.surface``).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from dumont_iac.sandbox.core.auth import require_sandbox_key
from dumont_iac.sandbox.core.surface import example as _example
from dumont_iac.sandbox.marketplace.deps import get_store
from dumont_iac.sandbox.marketplace.store.instances import MAX_STALLS

# Ids are SQLite integers: a larger number can name nothing, and is refused as bad input.
Id = Annotated[int, Path(ge=0, le=2**63 - 1)]

router = APIRouter(
    prefix="/_sandbox", tags=["sandbox faults"], dependencies=[Depends(require_sandbox_key)]
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
    "/users",
    summary="Create another user (tenant) with its own key and credit",
    responses=_example({"success": True, "user_id": 2, "api_key": "tenant-2", "credit": 50.0}),
)
def create_user(body: NewUser, request: Request) -> dict[str, Any]:
    key = body.api_key or secrets.token_urlsafe(24)
    user_id = get_store(request).create_user(key, body.credit)
    return {"success": True, "user_id": user_id, "api_key": key, "credit": body.credit}

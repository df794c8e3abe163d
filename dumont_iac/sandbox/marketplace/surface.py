"""The marketplace's part of the ``/_sandbox/`` surface: make the market misbehave on purpose.

Only the key the sandbox was started with may call it. Market events (another tenant takes an
offer or a stopped instance's GPUs, an outbid, a machine or a container failure, image pulls
that never finish, a GPU utilisation) and other tenants change the store; an EC2 VM of the
world's AWS can be terminated out of band; an instance's workspace files are written and read
here. Transport faults, the clock and the rate limits are the core's part of the surface
(``core.surface``).
"""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from dumont_iac.sandbox.core.auth import require_sandbox_key
from dumont_iac.sandbox.core.surface import example as _example
from dumont_iac.sandbox.marketplace import aws
from dumont_iac.sandbox.marketplace.deps import get_store
from dumont_iac.sandbox.marketplace.errors import InvalidArgs
from dumont_iac.sandbox.marketplace.store.instances import MAX_STALLS
from dumont_iac.sandbox.marketplace.store.workspace import MAX_FILE_BYTES

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


@router.post(
    "/machines/{machine_id}/release",
    summary="Other tenants leave the machine: their leases end and waiting instances start",
    responses=_example({"success": True, "machine_id": 17, "released": 1}),
)
def release_machine(machine_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).release_machine(machine_id)}


@router.post(
    "/instances/{instance_id}/fail",
    summary="The instance's container crashes (its machine stays up): it exits for good",
    responses=_example(
        {"success": True, "instance_id": 26000001, "machine_id": 17, "gpus_out_of_service": 1}
    ),
)
def fail_instance(instance_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).fail_instance(instance_id)}


@router.post(
    "/instances/{instance_id}/take_gpus",
    summary="Another tenant takes the GPUs this stopped instance needs: a start then waits",
    responses=_example(
        {"success": True, "instance_id": 26000001, "machine_id": 17, "gpus_taken": 1}
    ),
)
def take_gpus(instance_id: Id, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).take_gpus(instance_id)}


class Utilization(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"gpu_util": 0.0}]})
    gpu_util: float = Field(ge=0, le=100, description="GPU utilisation in percent.")


@router.put(
    "/instances/{instance_id}/utilization",
    summary="Set what the instance's GPUs report busy (gpu_util), until it stops",
    responses=_example({"success": True, "instance_id": 26000001, "gpu_util": 0.0}),
)
def set_utilization(instance_id: Id, body: Utilization, request: Request) -> dict[str, Any]:
    return {"success": True, **get_store(request).set_utilization(instance_id, body.gpu_util)}


@router.post(
    "/aws/instances/{ec2_instance_id}/terminate",
    summary="An EC2 VM is terminated out of band (on the world's AWS, moto's server)",
    responses=_example(
        {
            "success": True,
            "ec2_instance_id": "i-0123456789abcdef0",
            "region": "us-east-1",
            "previous_state": "running",
            "state": "shutting-down",
        }
    ),
)
def terminate_vm(
    ec2_instance_id: Annotated[str, Path(pattern=r"^i-[0-9a-f]{8,32}$", max_length=34)],
    request: Request,
    region: Annotated[str, Query(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", max_length=30)] = (
        aws.DEFAULT_REGION
    ),
) -> dict[str, Any]:
    endpoint = request.app.state.settings.aws_endpoint_url
    return {"success": True, **aws.terminate_vm(endpoint, ec2_instance_id, region)}


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


# --- workspace files ------------------------------------------------------------------------------


class WorkspaceWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "step=10 loss=0.42\n"}]},
    )
    content: str = Field(
        max_length=2 * MAX_FILE_BYTES,  # base64 of the largest file fits; the store checks bytes
        description=f"The file's content: text, or base64 with encoding=base64; at most "
        f"{MAX_FILE_BYTES} bytes.",
    )
    encoding: Literal["utf-8", "base64"] = Field(
        default="utf-8", description="How `content` is written: utf-8 text, or base64 bytes."
    )

    def data(self) -> bytes:
        if self.encoding == "utf-8":
            return self.content.encode()  # pydantic refused lone surrogates already
        try:
            return base64.b64decode(self.content, validate=True)
        except ValueError:  # binascii.Error, or characters outside ASCII
            raise InvalidArgs(
                f"content: not valid base64 ({_short(self.content)}).", field="content"
            ) from None


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


FILE_EXAMPLE = {"path": "logs/train.log", "size": 18, "updated_at": 1767225600.0}


@router.get(
    "/instances/{instance_id}/workspace/",
    summary="The files in an instance's workspace (path, size, last write), by path",
    responses=_example({"instance_id": 26000001, "files": [FILE_EXAMPLE], "bytes": 18}),
)
def list_workspace(instance_id: Id, request: Request) -> dict[str, Any]:
    return {**get_store(request).list_workspace(instance_id)}


@router.put(
    "/instances/{instance_id}/workspace/{path:path}",
    summary="Write a file into an instance's workspace (replacing one at that path)",
    responses=_example({"success": True, **FILE_EXAMPLE}),
)
def put_workspace_file(
    instance_id: Id, path: str, body: WorkspaceWrite, request: Request
) -> dict[str, Any]:
    written = get_store(request).put_workspace_file(instance_id, path, body.data())
    return {"success": True, **written}


@router.get(
    "/instances/{instance_id}/workspace/{path:path}",
    summary="Read a file of an instance's workspace (utf-8 text, or base64 when binary)",
    responses=_example({**FILE_EXAMPLE, "encoding": "utf-8", "content": "step=10 loss=0.42\n"}),
)
def get_workspace_file(instance_id: Id, path: str, request: Request) -> dict[str, Any]:
    info, data = get_store(request).get_workspace_file(instance_id, path)
    try:
        return {**info, "encoding": "utf-8", "content": data.decode()}
    except UnicodeDecodeError:
        return {**info, "encoding": "base64", "content": base64.b64encode(data).decode()}


@router.delete(
    "/instances/{instance_id}/workspace/{path:path}",
    summary="Delete a file of an instance's workspace",
    responses=_example({"success": True}),
)
def delete_workspace_file(instance_id: Id, path: str, request: Request) -> dict[str, Any]:
    return {**get_store(request).delete_workspace_file(instance_id, path)}

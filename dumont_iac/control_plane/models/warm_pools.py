"""A warm pool as its deployment registers it, and the runtime state the failover agent keeps.

The deployment (the ``WarmPool`` resource) places a primary GPU and its stopped standbys on one
machine, sharing one local volume, then registers them here: the control plane promotes a
standby when the primary fails, and needs to know the host, the volume and what a replacement
standby must satisfy (``gpu``). The agent's own view of the pool (what it is doing, which
contracts it sees) is a separate document, so a redeploy never overwrites it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dumont_iac.control_plane.models.common import Body
from dumont_iac.control_plane.models.gpus import GPU_SPEC_EXAMPLE, GpuSpec

MAX_STANDBYS = 7  # a machine has at most 8 GPUs: one primary and seven standbys
MAX_ROW_ID = 2**63 - 1
MountPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._/-]{0,254}$")]
WarmPoolState = Literal[
    "disabled", "searching", "provisioning", "active", "failover", "recovering", "degraded",
    "error",
]  # fmt: skip
WARM_POOL_STATES: tuple[str, ...] = WarmPoolState.__args__  # type: ignore[attr-defined]

REGISTRATION_EXAMPLE: dict[str, Any] = {
    "host_machine_id": 1042,
    "volume_id": 35000001,
    "standbys": 1,
    "volume_mount_path": "/workspace",
    "gpu": GPU_SPEC_EXAMPLE,
}


class WarmPoolRegistration(Body):
    """Where a warm pool lives and what its GPUs must satisfy (registered by the deployment)."""

    host_machine_id: int = Field(ge=1, le=MAX_ROW_ID, description="The machine of every GPU.")
    volume_id: int = Field(ge=1, le=MAX_ROW_ID, description="The local volume they share.")
    standbys: int = Field(ge=1, le=MAX_STANDBYS, description="Stopped standby GPUs to keep.")
    volume_mount_path: MountPath = Field(description="Where the volume is mounted.")
    gpu: GpuSpec = Field(description="What the primary and every standby satisfy.")

    model_config = ConfigDict(json_schema_extra={"examples": [REGISTRATION_EXAMPLE]})


class WarmPoolRuntime(BaseModel):
    """The ``warm_pool_state`` document the failover agent writes (key: the GPU's id)."""

    model_config = ConfigDict(extra="ignore")

    state: WarmPoolState = "active"
    error_message: str | None = None
    primary_contract_id: int | None = None
    standby_contract_ids: list[int] = Field(default_factory=list)
    failover_count: int = 0
    last_failover_at: float | None = None

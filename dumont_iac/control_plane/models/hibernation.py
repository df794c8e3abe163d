"""A GPU's hibernation policy as the ``HibernationPolicy`` resource registers it, the state the
hibernation agent keeps for it, and what a wake did."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, Body
from dumont_iac.control_plane.models.gpus import GPU_SPEC_EXAMPLE, GpuSpec

HibernationStateName = Literal["awake", "paused", "hibernated"]

POLICY_EXAMPLE: dict[str, Any] = {
    "idle_threshold_percent": 5.0,
    "idle_minutes": 3,
    "destroy_after_minutes": 30,
    "gpu_spec": GPU_SPEC_EXAMPLE,
}


class HibernationPolicySpec(Body):
    """Pause a GPU idle for ``idle_minutes``; destroy it after ``destroy_after_minutes`` paused.

    The GPU must have a snapshot policy: its bucket receives the snapshot taken on pausing."""

    idle_threshold_percent: float = Field(
        default=5.0, ge=0, le=100, description="Under this GPU utilisation (%) the GPU is idle."
    )
    idle_minutes: int = Field(default=3, ge=1, le=10_080)
    destroy_after_minutes: int = Field(
        default=30, ge=0, le=43_200, description="0: a paused GPU is never destroyed."
    )
    gpu_spec: GpuSpec = Field(description="What a GPU rented on wake must satisfy.")

    model_config = ConfigDict(json_schema_extra={"examples": [POLICY_EXAMPLE]})


class HibernationState(BaseModel):
    """The ``hibernation_state`` document of a GPU (awake when there is none)."""

    state: HibernationStateName = "awake"
    since: float | None = None
    snapshot_key: str | None = None
    reason: str | None = None


class HibernationPolicyOut(HibernationPolicySpec):
    model_config = ConfigDict(extra="ignore", strict=False)

    gpu_id: str
    hibernation: HibernationState
    last_error: str | None = None


class WakeOut(BaseModel):
    gpu_id: str
    contract_id: int
    previous_contract_id: int | None
    snapshot_key: str | None
    restored_files: int
    seconds: float = Field(description="On the control plane's clock.")


HIBERNATION_POLICY_OUT_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    **POLICY_EXAMPLE,
    "hibernation": {
        "state": "paused",
        "since": 1_800_000_900.0,
        "snapshot_key": f"{GPU_ID_EXAMPLE}/20270115T080000.000Z.tar.gz",
        "reason": "GPU utilisation under 5% for 3 min",
    },
    "last_error": None,
}
WAKE_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    "contract_id": 26000042,
    "previous_contract_id": 26000001,
    "snapshot_key": f"{GPU_ID_EXAMPLE}/20270115T080000.000Z.tar.gz",
    "restored_files": 12,
    "seconds": 41.5,
}

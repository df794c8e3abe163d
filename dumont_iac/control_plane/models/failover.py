"""Failover settings (a user's global ones, and per-GPU overrides) and failover actions.

Names and defaults follow Dumont's API; ranges bound what a policy can sensibly ask for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, Body, GpuId

Strategy = Literal["warm_pool", "cpu_standby", "both", "disabled"]
ActionKind = Literal["restart", "failover"]
Zone = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}-[a-z]+-[0-9][a-z]?$")]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
MachineType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")]


class WarmPoolSettings(Body):
    enabled: bool = True
    min_gpus_per_host: int = Field(default=2, ge=2, le=16)
    volume_size_gb: int = Field(default=100, ge=10, le=10_000)
    auto_provision_standby: bool = True
    fallback_to_cpu_standby: bool = True
    health_check_interval_seconds: int = Field(default=10, ge=1, le=3_600)
    failover_timeout_seconds: int = Field(default=120, ge=10, le=3_600)
    auto_reprovision_standby: bool = True


class CpuStandbySettings(Body):
    enabled: bool = True
    zone: Zone = "us-east-1a"
    machine_type: MachineType = "t3.medium"
    disk_size_gb: int = Field(default=100, ge=10, le=10_000)
    spot: bool = True
    sync_interval_seconds: int = Field(default=30, ge=5, le=3_600)
    health_check_interval_seconds: int = Field(default=10, ge=1, le=3_600)
    failover_threshold: int = Field(default=3, ge=1, le=100)
    auto_failover: bool = True
    auto_recovery: bool = True
    snapshot_to_cloud: bool = True


GLOBAL_EXAMPLE: dict[str, Any] = {
    "strategy": "both",
    "warm_pool": WarmPoolSettings().model_dump(),
    "cpu_standby": CpuStandbySettings().model_dump(),
    "max_failovers_per_day": 5,
    "min_seconds_between_failovers": 300,
}


class GlobalFailoverSettings(Body):
    """A user's defaults for every GPU without its own settings."""

    strategy: Strategy = "both"
    warm_pool: WarmPoolSettings = Field(default_factory=lambda: WarmPoolSettings())
    cpu_standby: CpuStandbySettings = Field(default_factory=lambda: CpuStandbySettings())
    # Safeguards against a failover loop: at most N per 24 hours, at least S seconds apart.
    max_failovers_per_day: int = Field(default=5, ge=0, le=100)
    min_seconds_between_failovers: int = Field(default=300, ge=0, le=86_400)

    model_config = ConfigDict(json_schema_extra={"examples": [GLOBAL_EXAMPLE]})


class GpuFailoverSettings(Body):
    """One GPU's override; fields left null follow the user's global settings."""

    use_global_settings: bool = True
    strategy: Strategy | None = None
    warm_pool_enabled: bool | None = None
    cpu_standby_enabled: bool | None = None
    # Health checks: every interval, and this many failed in a row start a failover.
    health_check_interval_seconds: int | None = Field(default=None, ge=1, le=3_600)
    failure_threshold: int | None = Field(default=None, ge=1, le=100)
    max_failovers_per_day: int | None = Field(default=None, ge=0, le=100)
    min_seconds_between_failovers: int | None = Field(default=None, ge=0, le=86_400)
    # An outbid interruptible GPU is first re-bid, up to its max_price_per_hour.
    rebid_before_failover: bool | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "use_global_settings": False,
                    "strategy": "cpu_standby",
                    "warm_pool_enabled": False,
                    "cpu_standby_enabled": True,
                }
            ]
        }
    )


GPU_SETTINGS_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    "use_global_settings": False,
    "effective_strategy": "cpu_standby",
    "warm_pool": {"enabled": False},
    "cpu_standby": {"enabled": True},
    "stats": {"failovers_total": 1, "failovers_last_24h": 1, "last_failover_at": 1_800_000_000.0},
}


class ExecuteRequest(Body):
    """Ask the control plane to act on a GPU now.

    ``restart`` starts the GPU's current contract (found by its label marker) when it is
    stopped, and reboots it when it runs. ``failover`` moves the GPU now, by its strategy
    (a manual failover: the current contract is given up even when it is healthy). Whichever
    replica holds the GPU's lease executes it, once; the answer is the recorded request, to
    follow with ``GET /failover/status/{gpu_id}``.
    """

    gpu_id: GpuId
    kind: ActionKind = "restart"
    request_id: RequestId | None = Field(
        default=None,
        description="Optional, chosen by the client: repeating a request with the same id "
        "answers the first action instead of requesting another (safe to retry).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"gpu_id": GPU_ID_EXAMPLE, "kind": "restart", "request_id": "deploy-42"}]
        }
    )


ACTION_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "gpu_id": GPU_ID_EXAMPLE,
    "kind": "restart",
    "state": "succeeded",
    "attempts": 1,
    "requested_at": 1_800_000_000.0,
    "started_at": 1_800_000_000.4,
    "finished_at": 1_800_000_001.9,
    "executed_by": "cp-host-1:4242",
    "result": {"contract_id": 123456, "did": "start", "was": "stopped"},
    "error": None,
    "request_id": "deploy-42",
}

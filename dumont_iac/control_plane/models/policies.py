"""Standby associations, snapshot retention and budgets: a user's other policies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, IPvAnyAddress, StringConstraints, model_validator

from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, Body, GpuId
from dumont_iac.control_plane.models.failover import Zone

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$")]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,190}\.[a-z]{2,}$")
]


class StandbyAssociation(Body):
    """The CPU standby VM that receives a GPU's data (registered by the deployment)."""

    cpu_instance_name: Name
    zone: Zone
    ip: IPvAnyAddress | None = None
    sync_enabled: bool = True

    model_config = ConfigDict(
        strict=False,  # the address arrives as text and is parsed
        json_schema_extra={
            "examples": [
                {
                    "cpu_instance_name": "standby-train-1",
                    "zone": "us-east-1a",
                    "ip": "10.0.3.17",
                    "sync_enabled": True,
                }
            ]
        },
    )

    @model_validator(mode="before")
    @classmethod
    def _types(cls, data: Any) -> Any:
        # Lax mode is on for the address; keep every other field's type strict.
        if isinstance(data, dict):
            for name in ("cpu_instance_name", "zone", "ip"):
                value = data.get(name)
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"{name} must be a string")
            if "sync_enabled" in data and not isinstance(data["sync_enabled"], bool):
                raise ValueError("sync_enabled must be a boolean")
        return data


ASSOCIATION_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    "cpu_instance_name": "standby-train-1",
    "zone": "us-east-1a",
    "ip": "10.0.3.17",
    "sync_enabled": True,
    "state": "syncing",
    "gpu_failed": False,
    "failure_reason": None,
}


class RetentionPolicy(Body):
    """How long snapshots are kept; ``instance_id`` set: that GPU's own policy."""

    retention_days: int = Field(default=7, ge=0, le=365, description="0 keeps snapshots forever.")
    min_snapshots_to_keep: int = Field(default=1, ge=1, le=100)
    max_snapshots_per_instance: int = Field(default=100, ge=1, le=1_000)
    cleanup_enabled: bool = True
    instance_id: GpuId | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "retention_days": 7,
                    "min_snapshots_to_keep": 1,
                    "max_snapshots_per_instance": 100,
                    "cleanup_enabled": True,
                    "instance_id": None,
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _bounds(self) -> RetentionPolicy:
        if self.min_snapshots_to_keep > self.max_snapshots_per_instance:
            raise ValueError("min_snapshots_to_keep must not exceed max_snapshots_per_instance")
        return self


BUDGET_EXAMPLE: dict[str, Any] = {
    "name": "training",
    "gpu_name": "RTX 4090",
    "threshold": 250.0,
    "period": "month",
    "email": "ops@example.com",
    "enabled": True,
    "action": "alert",
}


class Budget(Body):
    """Spend over ``period`` above ``threshold`` dollars triggers ``action``."""

    name: Name
    gpu_name: Name | None = Field(
        default=None, description="Only this GPU model's spend; null: all."
    )
    threshold: float = Field(gt=0, le=10_000_000, description="In dollars.")
    period: Literal["day", "week", "month"] = "month"
    email: Email | None = None
    enabled: bool = True
    action: Literal["alert", "stop"] = Field(
        default="alert", description="'stop' stops the user's GPUs when the threshold is reached."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [BUDGET_EXAMPLE]})


class KeyRotation(Body):
    """How long the key used for this call keeps working after the new one is issued."""

    grace_seconds: int = Field(default=3_600, ge=0, le=7 * 86_400)

    model_config = ConfigDict(json_schema_extra={"examples": [{"grace_seconds": 3600}]})

"""Standby associations, snapshot retention and budgets: a user's other policies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, IPvAnyAddress, StringConstraints, model_validator

from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, Body, GpuId
from dumont_iac.control_plane.models.failover import Zone
from dumont_iac.control_plane.models.gpus import GpuSpec

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$")]
Ec2InstanceId = Annotated[str, StringConstraints(pattern=r"^i-[0-9a-f]{8,17}$")]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,190}\.[a-z]{2,}$")
]


class StandbyAssociation(Body):
    """The CPU standby VM that receives a GPU's data (registered by the deployment).

    The first four fields are the association itself; the rest, all optional, tell the
    control plane's standby agent which VM it is (``ec2_instance_id`` in ``region``), how
    often to sync and check the GPU, when and whether to fail over and recover, and what a
    GPU rented in the failed one's place must satisfy (``gpu``).
    """

    cpu_instance_name: Name
    zone: Zone
    ip: IPvAnyAddress | None = None
    sync_enabled: bool = True
    ec2_instance_id: Ec2InstanceId | None = None
    region: AwsRegion | None = None
    sync_interval_seconds: int | None = Field(default=None, ge=5, le=3_600)
    health_check_interval_seconds: int | None = Field(default=None, ge=1, le=3_600)
    failure_threshold: int | None = Field(default=None, ge=1, le=100)
    auto_failover: bool | None = None
    auto_recovery: bool | None = None
    gpu: GpuSpec | None = None

    model_config = ConfigDict(
        strict=False,  # the address arrives as text and is parsed
        json_schema_extra={
            "examples": [
                {
                    "cpu_instance_name": "standby-train-1",
                    "zone": "us-east-1a",
                    "ip": "10.0.3.17",
                    "sync_enabled": True,
                    "ec2_instance_id": "i-0abc123def4567890",
                    "region": "us-east-1",
                    "sync_interval_seconds": 30,
                    "health_check_interval_seconds": 10,
                    "failure_threshold": 3,
                    "auto_failover": True,
                    "auto_recovery": True,
                }
            ]
        },
    )

    @model_validator(mode="before")
    @classmethod
    def _types(cls, data: Any) -> Any:
        # Lax mode is on for the address; keep every other field's type strict.
        if isinstance(data, dict):
            for name in ("cpu_instance_name", "zone", "ip", "ec2_instance_id", "region"):
                value = data.get(name)
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"{name} must be a string")
            for name in ("sync_enabled", "auto_failover", "auto_recovery"):
                if data.get(name) is not None and not isinstance(data[name], bool):
                    raise ValueError(f"{name} must be a boolean")
            for name in ("sync_interval_seconds", "health_check_interval_seconds",
                         "failure_threshold"):  # fmt: skip
                value = data.get(name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError(f"{name} must be an integer")
        return data


ASSOCIATION_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    "cpu_instance_name": "standby-train-1",
    "zone": "us-east-1a",
    "ip": "10.0.3.17",
    "sync_enabled": True,
    "ec2_instance_id": "i-0abc123def4567890",
    "region": "us-east-1",
    "sync_interval_seconds": 30,
    "health_check_interval_seconds": 10,
    "failure_threshold": 3,
    "auto_failover": True,
    "auto_recovery": True,
    "state": "ready",
    "last_sync_at": 1767225600.0,
    "gpu_failed": False,
    "failure_reason": None,
    "last_failover_at": None,
    "failovers_last_24h": 0,
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
    "gpu_name": None,
    "threshold": 250.0,
    "period": "month",
    "email": "ops@example.com",
    "enabled": True,
    "action": "stop",
    "alert_percents": [50.0, 80.0, 100.0],
    "gpu_ids": [GPU_ID_EXAMPLE],
    "max_concurrent_gpus": 4,
    "max_gpu_hours_per_month": 1000.0,
}

BudgetAction = Literal["alert", "stop", "destroy"]


class Budget(Body):
    """Spend over ``period`` above ``threshold`` dollars triggers ``action``; an alert is sent
    at each of ``alert_percents`` of it."""

    name: Name
    gpu_name: Name | None = Field(
        default=None, description="Only this GPU model's spend; null: all."
    )
    threshold: float = Field(gt=0, le=10_000_000, description="The limit, in dollars.")
    period: Literal["day", "week", "month"] = "month"
    email: Email | None = None
    enabled: bool = True
    action: BudgetAction = Field(
        default="alert",
        description="At the limit: 'alert' only; 'stop' stops every rental in scope (storage "
        "still bills); 'destroy' destroys the rentals, their volumes and the EC2 VMs in scope.",
    )
    alert_percents: list[Annotated[float, Field(gt=0, le=1_000)]] = Field(
        default_factory=lambda: [50.0, 80.0, 100.0],
        max_length=20,
        description="Percents of the limit at which an alert is sent, once each per period.",
    )
    gpu_ids: list[GpuId] = Field(
        default_factory=list,
        max_length=1_000,
        description="The scope: logical ids whose rentals count (dumont:<id> label markers, "
        "fleet members and warm-pool standbys included) and whose EC2 VMs count (tag "
        "dumont:gpu=<id>). Empty: every rental carrying a dumont marker.",
    )
    webhook_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2_000)] | None
    ) = Field(default=None, description="Where alerts are POSTed, signed; never shown back.")
    webhook_secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        default=None, description="The HMAC key alerts are signed with; never shown back."
    )
    max_concurrent_gpus: int | None = Field(default=None, ge=1, le=100_000)
    max_gpu_hours_per_month: float | None = Field(
        default=None, gt=0, le=10_000_000, description="Reaching it acts as the limit does."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [BUDGET_EXAMPLE]})

    @model_validator(mode="after")
    def _signed(self) -> Budget:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_secret: a budget with a webhook_url needs a secret to sign")
        return self


class KeyRotation(Body):
    """How long the key used for this call keeps working after the new one is issued."""

    grace_seconds: int = Field(default=3_600, ge=0, le=7 * 86_400)

    model_config = ConfigDict(json_schema_extra={"examples": [{"grace_seconds": 3600}]})

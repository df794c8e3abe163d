"""Arguments and outputs of ``CpuStandby``: a cheap CPU VM on EC2 paired with one GPU. The GPU's
``/workspace`` is synced to it; when the GPU fails the standby serves, and the control plane
rents a new GPU (under ``gpu_spec``) and restores the data onto it.

What picks the VM (the GPU it pairs with, instance type, region, subnet, security groups, spot,
disk, image) replaces it; the failover settings and tags change in place: the control plane's
association is updated, and the VM retagged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import field_validator

from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.schema import ResourceSchema, arg, computed

RESERVED_TAG_PREFIXES = ("dumont:", "aws:")
RESERVED_TAGS = ("Name",)


class CpuStandbyArgs(ResourceSchema):
    """Arguments and outputs of a CPU standby VM."""

    resource_name: ClassVar[str] = "CpuStandby"
    # A new VM is registered under the same GPU: the old one is terminated first, so the
    # association never names a VM that is about to go.
    delete_before_replace: ClassVar[bool] = True

    # What the VM is: a change means another VM.
    gpu_id: str = arg(
        replaces=True,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="Logical id of the GPU this standby protects (set from gpu=...).",
    )
    instance_type: str = arg(
        "t3.medium",
        replaces=True,
        pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        description="EC2 instance type of the VM.",
    )
    region: str = arg(
        "us-east-1",
        replaces=True,
        pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$",
        description="AWS region of the VM.",
    )
    subnet_id: str | None = arg(
        None,
        replaces=True,
        pattern=r"^subnet-[0-9a-f]{8,17}$",
        description="Subnet to launch in; the region's default VPC when unset.",
    )
    security_group_ids: list[str] = arg(
        default_factory=list,
        replaces=True,
        description="Security groups of the VM (sg-...); the VPC's default group when empty.",
    )
    spot: bool = arg(True, replaces=True, description="Run as a spot VM (cheaper, reclaimable).")
    disk_size_gb: int = arg(
        100, replaces=True, ge=8, le=16_384, description="Root volume (gp3), GB."
    )
    image_id: str | None = arg(
        None,
        replaces=True,
        pattern=r"^ami-[0-9a-f]{8,17}$",
        description="AMI of the VM; the latest Amazon Linux 2023 for the type's CPU when unset.",
    )
    logical_name: str | None = arg(
        None,
        replaces=True,
        max_length=200,
        description="Stable name the logical id derives from; defaults to project/stack/resource.",
    )

    # Changed in place: the association and the VM's tags.
    gpu_spec: dict[str, Any] | None = arg(
        None,
        description="What a GPU rented in the failed one's place must satisfy (set from "
        "gpu=...: the GPU's declared arguments and label).",
    )
    tags: dict[str, str] = arg(
        default_factory=dict,
        description="Extra tags on the VM and its volume (keys may not start with dumont: or "
        "aws:, nor be Name).",
    )
    sync_interval_seconds: int = arg(
        30, ge=5, le=3_600, description="How often the GPU's /workspace is synced to the VM."
    )
    health_check_interval_seconds: int = arg(
        10, ge=1, le=3_600, description="How often the control plane checks the GPU."
    )
    failure_threshold: int = arg(
        3,
        ge=1,
        le=100,
        description="Failed health checks in a row before the GPU counts as failed.",
    )
    auto_failover: bool = arg(True, description="Serve from the standby when the GPU fails.")
    auto_recovery: bool = arg(
        True, description="Rent a new GPU (under gpu_spec) after a failover and restore onto it."
    )
    create_timeout_seconds: int = arg(
        600, ge=1, le=3_600, description="How long create waits for the VM to run."
    )

    # Computed by the provider.
    logical_id: str | None = computed(description="Stable id of the standby: the resource id.")
    ec2_instance_id: str | None = computed(description="EC2 instance id of the VM.")
    vm_state: str | None = computed(description="EC2 state of the VM (running, stopped ...).")
    private_ip: str | None = computed(description="Private IP address of the VM.")
    public_ip: str | None = computed(description="Public IP address of the VM, if any.")
    zone: str | None = computed(description="Availability zone of the VM.")
    ami_id: str | None = computed(description="The AMI the VM runs.")
    state: str | None = computed(
        description="Standby state reported by the control plane: disabled, provisioning, "
        "syncing, ready, failover_active, recovering or error."
    )
    last_sync_at: float | None = computed(description="When the last sync finished (epoch s).")
    gpu_failed: bool | None = computed(description="Whether the control plane saw the GPU fail.")
    failure_reason: str | None = computed(description="Why, when it did.")
    last_failover_at: float | None = computed(description="When the last failover ran (epoch s).")
    failovers_last_24h: int | None = computed(description="Failovers in the last 24 hours.")

    @field_validator("gpu_spec")
    @classmethod
    def _spec(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            GpuSpec.model_validate(value)
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for group in value:
            if not re.fullmatch(r"sg-[0-9a-f]{8,17}", group):
                raise ValueError(f"{group!r} is not a security group id (sg- and 8-17 hex digits)")
        return list(dict.fromkeys(value))

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if key in RESERVED_TAGS or key.lower().startswith(RESERVED_TAG_PREFIXES):
                raise ValueError(
                    f"tag {key!r} is set by the provider; keys may not be Name nor start with "
                    "dumont: or aws:"
                )
            if not 1 <= len(key) <= 128 or len(text) > 256:
                raise ValueError(f"tag {key!r}: keys are 1-128 characters, values at most 256")
        if len(value) > 40:
            raise ValueError(f"{len(value)} tags given; at most 40 (EC2 allows 50, 3 are ours)")
        return value

    @classmethod
    def warnings(cls, outputs: Mapping[str, Any]) -> list[str]:
        name = outputs.get("logical_name") or outputs.get("logical_id")
        if outputs.get("state") == "error":
            return [f"CPU standby {name}: {outputs.get('failure_reason') or 'in error'}"]
        if outputs.get("gpu_failed"):
            return [
                f"CPU standby {name}: GPU {outputs.get('gpu_id')} failed "
                f"({outputs.get('failure_reason') or 'no reason given'}); the standby serves."
            ]
        return []

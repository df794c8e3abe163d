"""EC2 VMs by their ``dumont:gpu`` tag: what a budget counts and, at its limit, terminates.

A CPU standby VM carries ``dumont:gpu=<gpu id>``; the budgets agent lists the live ones once
per tick (pending, running, stopping, stopped) and prices each running one with
``pricing.ec2_hourly``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import boto3

from dumont_iac.clients.aws.session import client, translated

GPU_TAG = "dumont:gpu"
LIVE_STATES = ("pending", "running", "stopping", "stopped")


@dataclass(frozen=True)
class TaggedVm:
    instance_id: str
    gpu_id: str
    instance_type: str
    state: str
    spot: bool


def aws_configured() -> bool:
    """True when boto3 finds credentials: without them the agent skips EC2 rather than wait
    on the instance-metadata lookups every tick."""
    return boto3.session.Session().get_credentials() is not None


def tagged_vms(region: str | None = None) -> list[TaggedVm]:
    """Every live VM carrying a ``dumont:gpu`` tag."""
    ec2 = client("ec2", region)
    found: list[TaggedVm] = []
    with translated("DescribeInstances"):
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "tag-key", "Values": [GPU_TAG]},
                {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
            ]
        )
        for page in pages:
            for reservation in page.get("Reservations", []):
                for vm in reservation.get("Instances", []):
                    tags = {t["Key"]: t["Value"] for t in vm.get("Tags", [])}
                    found.append(
                        TaggedVm(
                            instance_id=vm["InstanceId"],
                            gpu_id=tags.get(GPU_TAG, ""),
                            instance_type=vm.get("InstanceType", ""),
                            state=vm.get("State", {}).get("Name", ""),
                            spot=vm.get("InstanceLifecycle") == "spot",
                        )
                    )
    return found


def terminate(instance_ids: Collection[str], region: str | None = None) -> None:
    if not instance_ids:
        return
    with translated("TerminateInstances"):
        client("ec2", region).terminate_instances(InstanceIds=list(instance_ids))

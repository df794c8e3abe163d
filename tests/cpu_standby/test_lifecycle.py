"""A GPU and its CPU standby deployed, refreshed, changed and destroyed through the driver on the
whole local world: the VM is checked in moto's server and the association on the control plane,
both over their own APIs."""

from __future__ import annotations

from typing import Any

import pulumi

from dumont_iac import CpuStandby, GpuInstance
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.sandbox.world import CONTROL_PLANE_USER
from dumont_iac.testing import Deployment
from dumont_iac.testing.market import Market

from .conftest import billing, moto_ec2, vms_in


def program() -> None:
    config = pulumi.Config()
    gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0, label="train")
    standby = CpuStandby(
        "train-standby",
        gpu=gpu,
        failure_threshold=config.get_int("threshold") or 3,
        tags={"team": config.get("team") or "ml"},
    )
    pulumi.export("gpu_id", gpu.id)
    pulumi.export("vm", standby.ec2_instance_id)
    pulumi.export("state", standby.state)
    pulumi.export("private_ip", standby.private_ip)


def control_plane(world: Any) -> ControlPlaneClient:
    return ControlPlaneClient(world.control_plane.url, world.control_plane_key)


def set_config(stack: Deployment, **values: str) -> None:
    stack.config.update({f"{stack.project}:{k}": v for k, v in values.items()})


def test_up_refresh_update_and_destroy(world_stack, world):
    stack = world_stack(program, project="standby", stack="ci")
    first = stack.up()
    assert first.names("created") == ["train", "train-standby"]
    standby = stack.state.by_name("train-standby")
    gpu_id = first.outputs["gpu_id"]
    assert standby.id.startswith("standby-") and first.outputs["state"] == "syncing"

    (vm,) = billing(world.aws.url, ("dumont:standby", standby.id))
    assert vm["InstanceId"] == first.outputs["vm"] and vm["State"]["Name"] == "running"
    assert vm["InstanceLifecycle"] == "spot" and vm["InstanceType"] == "t3.medium"
    tags = {t["Key"]: t["Value"] for t in vm["Tags"]}
    assert tags["dumont:gpu"] == gpu_id and tags["dumont:standby"] == standby.id
    assert tags["Name"] == "standby/ci/train-standby" and tags["team"] == "ml"

    association = control_plane(world).association(gpu_id)
    assert association is not None
    assert association.ec2_instance_id == vm["InstanceId"]
    assert association.cpu_instance_name == standby.id and association.region == "us-east-1"
    assert association.ip == vm["PrivateIpAddress"] == first.outputs["private_ip"]
    assert association.failure_threshold == 3 and association.sync_interval_seconds == 30
    assert association.gpu is not None
    assert association.gpu["arguments"]["image"] == "ubuntu:22.04"
    assert association.gpu["label"] == "train"

    refreshed = stack.refresh()
    assert refreshed.names("unchanged") == ["train", "train-standby"]
    assert not stack.up().changed

    set_config(stack, threshold="5", team="infra")
    changed = stack.up()
    assert changed.names("updated") == ["train-standby"] and not changed.replaced
    assert stack.state.by_name("train-standby").id == standby.id
    assert control_plane(world).association(gpu_id).failure_threshold == 5
    (same,) = billing(world.aws.url, ("dumont:standby", standby.id))
    assert same["InstanceId"] == vm["InstanceId"]
    assert {t["Key"]: t["Value"] for t in same["Tags"]}["team"] == "infra"

    gone = stack.destroy()
    assert gone.names("deleted") == ["train", "train-standby"]
    assert billing(world.aws.url) == []
    assert [v["State"]["Name"] for v in vms_in(world.aws.url)] == ["terminated"]
    assert control_plane(world).association(gpu_id) is None
    with Market(world.marketplace) as market:
        assert market.instances() == []


def test_the_association_shows_the_state_the_standby_agent_reports(world_stack, world):
    stack = world_stack(program, project="standby", stack="ci")
    gpu_id = stack.up().outputs["gpu_id"]
    store = world.control_plane.app.state.store
    user_id = store.users.id_of(CONTROL_PLANE_USER)
    report = {"state": "failover_active", "last_sync_at": 1767225600.0, "gpu_failed": True,
              "failure_reason": "GPU unreachable for 3 checks", "last_failover_at": 1767225660.0,
              "failovers_last_24h": 1}  # fmt: skip
    store.documents.put(user_id, "standby_state", report, key=gpu_id)
    shown = control_plane(world).association(gpu_id)
    assert shown is not None and shown.state == "failover_active" and shown.gpu_failed
    assert shown.failure_reason == report["failure_reason"] and shown.failovers_last_24h == 1
    stack.refresh()
    outputs = stack.state.by_name("train-standby").outputs
    assert outputs["state"] == "failover_active" and outputs["gpu_failed"] is True
    assert outputs["last_failover_at"] == report["last_failover_at"]
    assert not stack.up().changed  # the agent's doing is not drift
    stack.destroy()
    assert store.documents.get(user_id, "standby_state", gpu_id) is None


def test_a_vm_terminated_out_of_band_is_gone_at_refresh_and_launched_again(world_stack, world):
    stack = world_stack(program, project="standby", stack="ci")
    first = stack.up()
    moto_ec2(world.aws.url).terminate_instances(InstanceIds=[first.outputs["vm"]])
    refreshed = stack.refresh()
    assert refreshed.names("deleted") == ["train-standby"]
    again = stack.up()
    assert again.names("created") == ["train-standby"]
    assert again.outputs["vm"] != first.outputs["vm"]
    (live,) = billing(world.aws.url)
    assert live["InstanceId"] == again.outputs["vm"]
    association = control_plane(world).association(first.outputs["gpu_id"])
    assert association is not None and association.ec2_instance_id == again.outputs["vm"]
    stack.destroy()
    assert billing(world.aws.url) == []

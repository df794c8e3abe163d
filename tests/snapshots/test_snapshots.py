"""SnapshotPolicy deployed into the world: the control plane's agent writes snapshot objects
into moto's S3 on schedule, prunes them per retention (keep-at-least holding), survives S3
being throttled or down without counting a half-written snapshot, and destroying the policy
keeps the bucket unless force_destroy."""

from __future__ import annotations

import boto3
import pytest

from dumont_iac import SnapshotPolicy
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.snapshots import taken_at, unpack
from dumont_iac.testing import DeploymentError

from .helpers import deploy, keys_in, program, wait_for, write_workspace
from .s3_proxy import s3_proxy

FILES = {"train.py": b"print('hello')\n", "ckpt/step-1.bin": bytes(range(256)) * 8}


def status(gpu_id: str):
    found = ControlPlaneClient().snapshot_policy(gpu_id)
    assert found is not None
    return found.status


def test_snapshots_on_schedule_then_retention_keeps_at_least(world_env, deployment_factory):
    world = world_env
    run = program(
        "snaps",
        world.aws.url,
        {"interval_minutes": 60, "retention_days": 1, "keep_at_least": 2, "keep_at_most": 10},
    )
    deployment = deploy(deployment_factory, world, run)
    deployment.up()
    gpu = deployment.state.by_name("train")
    gpu_id, contract_id = gpu.id, int(gpu.outputs["contract_id"])
    write_workspace(world, contract_id, FILES)
    lifecycle = boto3.client("s3", endpoint_url=world.aws.url).get_bucket_lifecycle_configuration(
        Bucket="snaps"
    )
    assert lifecycle["Rules"][0]["Expiration"] == {"Days": 1}

    first = wait_for("the first snapshot", lambda: keys_in(world, "snaps", f"{gpu_id}/"))
    assert len(first) == 1
    for count in (2, 3):  # one more each time the interval passes on the sandbox clock
        world.marketplace.clock.advance(3600)
        wait_for(f"snapshot {count}", lambda c=count: len(keys_in(world, "snaps")) == c)
    keys = keys_in(world, "snaps", f"{gpu_id}/")
    stamps = [taken_at(k) for k in keys]
    assert all(b - a >= 3600 for a, b in zip(stamps, stamps[1:], strict=False))
    data = boto3.client("s3", endpoint_url=world.aws.url).get_object(Bucket="snaps", Key=keys[-1])
    assert unpack(data["Body"].read()) == FILES

    world.marketplace.clock.advance(2 * 86_400)  # all three are older than retention now
    wait_for("the next snapshot", lambda: keys_in(world, "snaps")[-1] not in keys)
    wait_for("pruning", lambda: len(keys_in(world, "snaps")) == 2)
    kept = keys_in(world, "snaps")
    assert kept[0] == keys[-1]  # the newest old one stays: never fewer than keep_at_least
    assert status(gpu_id).snapshot_count == 2
    events = ControlPlaneClient().events(gpu_id=gpu_id, kind="snapshot.pruned").events
    assert sorted(k for e in events for k in e.data["keys"]) == keys[:2]

    refreshed = deployment.refresh()
    del refreshed
    policy = deployment.state.by_name("train-snapshots")
    assert policy.outputs["snapshot_count"] == 2
    assert policy.outputs["last_snapshot_key"] == kept[-1]

    deployment.destroy()  # force_destroy off: the bucket and its snapshots stay
    assert keys_in(world, "snaps") == kept
    assert ControlPlaneClient().snapshot_policy(gpu_id) is None


def test_force_destroy_removes_the_bucket_and_its_snapshots(world_env, deployment_factory):
    world = world_env
    run = program("doomed", world.aws.url, {"force_destroy": True, "interval_minutes": 60})
    deployment = deploy(deployment_factory, world, run)
    deployment.up()
    gpu_id = deployment.state.by_name("train").id
    wait_for("a snapshot", lambda: keys_in(world, "doomed", f"{gpu_id}/"))
    deployment.destroy()
    s3 = boto3.client("s3", endpoint_url=world.aws.url)
    assert "doomed" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_s3_throttled_or_down_is_recorded_and_retried(world_env, deployment_factory):
    world = world_env
    with s3_proxy(world.aws.url) as proxy:
        run = program("flaky", proxy.url, {"interval_minutes": 60})
        deployment = deploy(deployment_factory, world, run)
        deployment.up()
        gpu_id = deployment.state.by_name("train").id
        wait_for("the first snapshot", lambda: status(gpu_id).snapshot_count)
        for mode, said in (("throttle", "throttled"), ("down", "")):
            proxy.mode = mode
            before = status(gpu_id)
            world.marketplace.clock.advance(3600)
            failed = wait_for(f"S3 {mode} recorded", lambda: status(gpu_id).last_error)
            assert said in failed and "snapshot failed" in failed
            assert status(gpu_id).snapshot_count == before.snapshot_count
            assert status(gpu_id).last_snapshot_key == before.last_snapshot_key
            assert len(keys_in(world, "flaky")) == before.snapshot_count  # nothing half-written
            proxy.mode = "pass"
            wait_for("the retry", lambda b=before: status(gpu_id).snapshot_count > b.snapshot_count)
            assert status(gpu_id).last_error is None
            assert len(keys_in(world, "flaky")) == status(gpu_id).snapshot_count
        kinds = [e.kind for e in ControlPlaneClient().events(gpu_id=gpu_id).events]
        assert "snapshot.failed" in kinds and "snapshot.taken" in kinds
        deployment.destroy()


def test_a_create_the_control_plane_refuses_deletes_the_bucket_it_made(
    world_env, deployment_factory
):
    world = world_env

    def run() -> None:
        SnapshotPolicy(
            "orphan", gpu_id="gpu-0123456789ab", bucket="orphan", endpoint_url=world.aws.url
        )

    deployment = deploy(deployment_factory, world, run)
    deployment.env["DUMONT_API_KEY"] = "not-a-key-of-this-control-plane"
    with pytest.raises(DeploymentError, match="SnapshotPolicy for GPU gpu-0123456789ab.*deleted"):
        deployment.up()
    s3 = boto3.client("s3", endpoint_url=world.aws.url)
    assert "orphan" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert deployment.state.resources == {} or not deployment.state.by_name("orphan")

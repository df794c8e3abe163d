"""HibernationPolicy deployed into the world: a GPU idle for idle_minutes is snapshotted and
paused, destroyed after destroy_after_minutes paused (its snapshot kept), and woken on a new
contract with the same label marker and its workspace restored."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dumont_iac import GpuInstance, HibernationPolicy
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.errors import ServerError
from dumont_iac.testing import DeploymentError

from .helpers import GPU, deploy, keys_in, program, read_workspace, wait_for, write_workspace
from .s3_proxy import s3_proxy

FILES = {"notebook.ipynb": b'{"cells": []}', "data/weights.bin": b"\x00\x01" * 500}


def set_util(world, contract_id: int, percent: float) -> None:
    with world.marketplace.client(timeout=10) as http:
        answer = http.put(
            f"/_sandbox/instances/{contract_id}/utilization", json={"gpu_util": percent}
        )
        assert answer.status_code == 200, answer.text


def state(gpu_id: str) -> str:
    found = ControlPlaneClient().hibernation_policy(gpu_id)
    assert found is not None
    return found.hibernation.state


def test_idle_gpu_is_paused_destroyed_and_woken_with_its_files(world_env, deployment_factory):
    world = world_env
    run = program(
        "sleepy", world.aws.url, {"interval_minutes": 60},
        {"idle_minutes": 3, "destroy_after_minutes": 30, "idle_threshold_percent": 5},
    )  # fmt: skip
    deployment = deploy(deployment_factory, world, run)
    deployment.up()
    gpu = deployment.state.by_name("train")
    gpu_id, first = gpu.id, int(gpu.outputs["contract_id"])
    set_util(world, first, 80.0)
    write_workspace(world, first, FILES)

    world.marketplace.clock.advance(600)  # busy for 10 min: stays awake
    wait_for("a few ticks", lambda: ControlPlaneClient().agents() and True)
    assert state(gpu_id) == "awake"

    set_util(world, first, 1.0)
    wait_for("the pause", lambda: state(gpu_id) == "paused")
    paused = ControlPlaneClient().hibernation_policy(gpu_id)
    assert paused is not None and paused.hibernation.snapshot_key in keys_in(world, "sleepy")
    assert "under 5%" in (paused.hibernation.reason or "")
    with world.marketplace.client(timeout=10) as http:
        rental = http.get(f"/api/v0/instances/{first}/").json()["instances"]
    assert rental["intended_status"] == "stopped"
    refreshed = deployment.refresh()  # a paused GPU is the policy's doing: not dropped
    assert "train" not in refreshed.names("deleted")

    world.marketplace.clock.advance(30 * 60)
    wait_for("destruction", lambda: state(gpu_id) == "hibernated")
    with world.marketplace.client(timeout=10) as http:
        listed = http.get("/api/v0/instances/", params={"owner": "me"}).json()["instances"]
    assert [i for i in listed if gpu_id in (i.get("label") or "")] == []
    assert paused.hibernation.snapshot_key in keys_in(world, "sleepy")  # kept for wake

    woken = subprocess.run(
        [sys.executable, "-m", "dumont_iac.cli", "wake", gpu_id, "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert woken.returncode == 0, woken.stderr
    assert '"previous_contract_id": null' in woken.stdout
    after = ControlPlaneClient().hibernation_policy(gpu_id)
    assert after is not None and after.hibernation.state == "awake"
    with world.marketplace.client(timeout=10) as http:
        listed = http.get("/api/v0/instances/", params={"owner": "me"}).json()["instances"]
    (current,) = [i for i in listed if (i.get("label") or "").endswith(f"dumont:{gpu_id}")]
    assert current["id"] != first and current["label"] == f"train | dumont:{gpu_id}"
    assert read_workspace(world, current["id"]) == FILES

    deployment.refresh()
    assert deployment.state.by_name("train").outputs["contract_id"] == current["id"]
    deployment.destroy()


def test_waking_a_paused_gpu_replaces_its_stopped_contract(world_env, deployment_factory):
    world = world_env
    run = program("paused", world.aws.url, {"interval_minutes": 60},
                  {"idle_minutes": 3, "destroy_after_minutes": 0})  # fmt: skip
    deployment = deploy(deployment_factory, world, run)
    deployment.up()
    gpu = deployment.state.by_name("train")
    gpu_id, first = gpu.id, int(gpu.outputs["contract_id"])
    write_workspace(world, first, FILES)
    set_util(world, first, 0.0)
    wait_for("the pause", lambda: state(gpu_id) == "paused")
    woken = ControlPlaneClient().wake(gpu_id)
    assert woken.previous_contract_id == first and woken.contract_id != first
    assert woken.restored_files == len(FILES)
    assert read_workspace(world, woken.contract_id) == FILES
    with world.marketplace.client(timeout=10) as http:
        gone = http.get(f"/api/v0/instances/{first}/").json()["instances"]
    assert gone is None or gone.get("intended_status") != "running"
    deployment.destroy()


def test_a_hibernation_policy_needs_a_snapshot_policy(world_env, deployment_factory):
    world = world_env

    def run() -> None:
        gpu = GpuInstance("train", **GPU)
        HibernationPolicy("train-hibernation", gpu=gpu)

    deployment = deploy(deployment_factory, world, run)
    with pytest.raises(DeploymentError, match="no snapshot policy.*SnapshotPolicy"):
        deployment.up()
    deployment.destroy()


def test_an_idle_gpu_whose_snapshot_fails_keeps_running_until_it_succeeds(
    world_env, deployment_factory
):
    world = world_env
    with s3_proxy(world.aws.url) as proxy:
        run = program("fragile", proxy.url, {"interval_minutes": 60}, {"idle_minutes": 3})
        deployment = deploy(deployment_factory, world, run)
        deployment.up()
        gpu = deployment.state.by_name("train")
        gpu_id, contract_id = gpu.id, int(gpu.outputs["contract_id"])
        wait_for("the first snapshot", lambda: keys_in(world, "fragile"))
        proxy.mode = "down"
        set_util(world, contract_id, 0.0)
        world.marketplace.clock.advance(600)

        def failed() -> str | None:
            found = ControlPlaneClient().hibernation_policy(gpu_id)
            return found.last_error if found else None

        assert "PutObject failed" in wait_for("the failed pause", failed)
        assert state(gpu_id) == "awake"
        with world.marketplace.client(timeout=10) as http:
            rental = http.get(f"/api/v0/instances/{contract_id}/").json()["instances"]
        assert rental["intended_status"] == "running"  # never stopped without its snapshot
        proxy.mode = "pass"
        wait_for("the pause once S3 is back", lambda: state(gpu_id) == "paused")
        deployment.destroy()


def test_a_wake_that_cannot_restore_destroys_what_it_rented(world_env, deployment_factory):
    world = world_env
    with s3_proxy(world.aws.url) as proxy:
        run = program("unrestorable", proxy.url, {"interval_minutes": 60},
                      {"idle_minutes": 3, "destroy_after_minutes": 0})  # fmt: skip
        deployment = deploy(deployment_factory, world, run)
        deployment.up()
        gpu = deployment.state.by_name("train")
        gpu_id, first = gpu.id, int(gpu.outputs["contract_id"])
        set_util(world, first, 0.0)
        wait_for("the pause", lambda: state(gpu_id) == "paused")
        proxy.mode = "down"
        with pytest.raises(ServerError, match="Waking GPU .* failed"):
            ControlPlaneClient().wake(gpu_id)
        with world.marketplace.client(timeout=10) as http:
            listed = http.get("/api/v0/instances/", params={"owner": "me"}).json()["instances"]
        carrying = [i["id"] for i in listed if (i.get("label") or "").endswith(gpu_id)]
        assert carrying == [first]  # the new rental is gone; the paused one is kept
        assert state(gpu_id) == "paused"
        proxy.mode = "pass"
        assert ControlPlaneClient().wake(gpu_id).previous_contract_id == first
        deployment.destroy()

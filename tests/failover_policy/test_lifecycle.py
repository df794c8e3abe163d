"""FailoverPolicy deployed through the driver into the world (marketplace, control plane):
created next to its GPU, changed in place, refreshed without drift, destroyed with nothing
left on the control plane; a control plane that is down fails the deploy clearly and leaves
nothing half-done."""

from __future__ import annotations

import socket
from typing import Any

import pulumi
import pytest

from dumont_iac import FailoverPolicy, GpuInstance
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.testing import DeploymentError

CLEAN_ENV = {"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_API_URL": "", "DUMONT_API_KEY": "",
             "DUMONT_PACING_SCALE": "0"}  # fmt: skip


def _stack(deployment_factory, world, program, control_plane_url: str | None = None) -> Any:
    return deployment_factory(
        program,
        project="failover",
        stack="ci",
        config={"dumont:vastUrl": world.marketplace.url,
                "dumont:apiUrl": control_plane_url or world.control_plane.url},
        secret_config={"dumont:vastApiKey": world.marketplace.api_key,
                       "dumont:apiKey": world.control_plane_key},
        env=CLEAN_ENV,
        call_timeout=60.0,
    )  # fmt: skip


def _control_plane(world) -> ControlPlaneClient:
    return ControlPlaneClient(world.control_plane.url, world.control_plane_key)


def test_a_policy_is_created_changed_in_place_refreshed_and_destroyed(deployment_factory, world):
    threshold = {"value": 3}

    def program() -> None:
        gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0, disk_gb=10)
        policy = FailoverPolicy("train-failover", gpu=gpu, strategy="cpu_standby",
                                failure_threshold=threshold["value"])  # fmt: skip
        pulumi.export("strategy", policy.effective_strategy)
        pulumi.export("failovers", policy.failovers_last_24h)

    stack = _stack(deployment_factory, world, program)
    created = stack.up()
    gpu_id = stack.state.by_name("train").id
    policy = stack.state.by_name("train-failover")
    assert created.names("created") == ["train", "train-failover"]
    assert policy.id == gpu_id and policy.outputs["gpu_id"] == gpu_id
    assert created.outputs == {"strategy": "cpu_standby", "failovers": 0}
    on_control_plane = _control_plane(world).gpu_settings(gpu_id)
    assert on_control_plane.use_global_settings is False
    assert on_control_plane.effective_strategy == "cpu_standby"

    assert not stack.state.contains_text(world.control_plane_key)

    threshold["value"] = 6
    changed = stack.up()
    assert changed.names("updated") == ["train-failover"] and not changed.replaced
    assert stack.state.by_name("train-failover").outputs["failure_threshold"] == 6

    refreshed = stack.refresh()
    assert not refreshed.changed
    assert not stack.up().changed

    _control_plane(world).delete_gpu_settings(gpu_id)  # removed out of band
    assert stack.refresh().names("deleted") == ["train-failover"]
    assert stack.up().names("created") == ["train-failover"]

    stack.destroy()
    assert _control_plane(world).gpu_settings(gpu_id).use_global_settings is True
    with world.marketplace.client() as http:
        assert http.get("/api/v0/instances/").json()["instances"] in ([], None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_control_plane_that_is_down_fails_the_deploy_clearly(deployment_factory, world):
    def program() -> None:
        FailoverPolicy("orphan", gpu_id="gpu-3f9a1c0e7b2d", failure_threshold=4)

    url = f"http://127.0.0.1:{_closed_port()}"
    stack = _stack(deployment_factory, world, program, control_plane_url=url)
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert url in message and "dumont:apiUrl" in message, message
    assert stack.state.resources == {}
    assert _control_plane(world).gpu_settings("gpu-3f9a1c0e7b2d").use_global_settings is True

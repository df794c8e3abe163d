"""A control-plane key rotated under a deployed stack: once the old key's grace period is over,
the stack is refreshed, changed and destroyed with the new key (nothing it made with the old
one is left registered or billing), and a stack still holding the old key fails saying which
setting to change, without printing either key.

The sandbox marketplace has no key rotation (its tenants' keys are fixed at creation), so only
the control plane's key is rotated here.
"""

from __future__ import annotations

import httpx
import pytest

from dumont_iac import Budget, FailoverPolicy, GpuInstance
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.testing import DeploymentError, Market

GRACE_SECONDS = 600
CLEAN_ENV = {"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_API_URL": "", "DUMONT_API_KEY": "",
             "DUMONT_PACING_SCALE": "0"}  # fmt: skip


def rotate(world, key: str) -> str:
    with world.control_plane.client(key, timeout=10) as http:
        answer = http.post("/api/v1/keys/rotate", json={"grace_seconds": GRACE_SECONDS})
    assert answer.status_code == 200, answer.text
    return answer.json()["api_key"]


def test_a_stack_outlives_the_rotation_of_its_control_plane_key(deployment_factory, world):
    threshold = {"value": 3}

    def program() -> None:
        gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0, disk_gb=10)
        FailoverPolicy("train-failover", gpu=gpu, strategy="cpu_standby",
                       failure_threshold=threshold["value"])  # fmt: skip
        Budget("train-budget", limit_usd=1000 * threshold["value"], resources=[gpu])

    old_key = world.control_plane_key
    stack = deployment_factory(
        program,
        project="rotation",
        stack="ci",
        config={"dumont:vastUrl": world.marketplace.url, "dumont:apiUrl": world.control_plane.url},
        secret_config={"dumont:vastApiKey": world.marketplace.api_key, "dumont:apiKey": old_key},
        env=CLEAN_ENV,
        call_timeout=60.0,
    )
    stack.up()
    gpu_id = stack.state.by_name("train").id

    new_key = rotate(world, old_key)
    world.marketplace.clock.advance(GRACE_SECONDS + 1)  # the control plane runs on this clock

    with pytest.raises(DeploymentError) as refused:
        stack.refresh()
    told = "\n".join([str(refused.value), *map(str, refused.value.errors), *stack.provider_logs])
    assert "dumont:apiKey" in str(refused.value)
    assert "grace period has ended" in str(refused.value)
    assert old_key not in told and new_key not in told

    stack.config["dumont:apiKey"] = new_key
    refreshed = stack.refresh()  # the spend of the 10 minutes passed is read: no drift
    assert not refreshed.deleted and not refreshed.created
    threshold["value"] = 5
    changed = stack.up()
    assert changed.names("updated") == ["train-budget", "train-failover"]
    stack.destroy()
    assert not stack.state.contains_text(new_key) and not stack.state.contains_text(old_key)

    control_plane = ControlPlaneClient(world.control_plane.url, new_key)
    assert control_plane.budgets().budgets == []
    assert control_plane.gpu_settings(gpu_id).use_global_settings is True
    with Market(world.marketplace) as market:
        assert market.instances() == []
    with httpx.Client(base_url=world.control_plane.url, timeout=10) as http:
        gone = http.get("/api/v1/budgets", headers={"Authorization": f"Bearer {old_key}"})
        assert gone.status_code == 403

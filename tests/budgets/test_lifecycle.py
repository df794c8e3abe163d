"""A Budget deployed through the driver: registered with the control plane over its scope,
its spend read back, its secrets kept out of outputs, logs and the control plane's answers,
and unregistered on destroy."""

from __future__ import annotations

import time

import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.errors import DeploymentError
from dumont_iac.estimate import estimate_program
from dumont_iac.testing import Deployment

from .conftest import SECRET
from .helpers import control_plane, until

HOOK = "http://127.0.0.1:9/hooks/secret-token-in-the-path"


PROGRAM = f"""
from dumont_iac import Budget, GpuInstance
GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=1.0, interruptible=False)
Budget("monthly", limit_usd=800, action="stop", webhook_url={HOOK!r},
       signing_secret={SECRET!r}, use_expected_prices=True)
"""


def test_a_budget_is_registered_read_back_and_unregistered(
    budget_world, deployment_factory, tmp_path
):
    project = tmp_path / "budgets"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: budgets\nruntime: python\n")
    (project / "__main__.py").write_text(PROGRAM)
    env = budget_world.env()
    market = MarketplaceClient(env["VAST_URL"], env["VAST_API_KEY"], pacing_scale=0)
    estimate = estimate_program(project, market=market)
    (priced,) = estimate.resources
    (held,) = estimate.budgets
    assert not held.over and held.expected_per_month == round(
        (priced.cost.expected_per_hour or 0) * 730, 2
    )
    stack: Deployment = deployment_factory(
        project,
        config={"dumont:vastUrl": env["VAST_URL"], "dumont:apiUrl": env["DUMONT_API_URL"]},
        secret_config={
            "dumont:vastApiKey": env["VAST_API_KEY"],
            "dumont:apiKey": env["DUMONT_API_KEY"],
        },  # fmt: skip
        env={"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_PACING_SCALE": "0"},
        call_timeout=60.0,
    )
    result = stack.up()
    gpu = stack.state.by_name("train")
    assert gpu.outputs["price_per_hour"] == priced.cost.expected_per_hour  # what up rented
    monthly = stack.state.by_name("monthly")
    assert monthly.outputs["scope_ids"] == [gpu.id]
    assert monthly.outputs["worst_per_month"] == 730.0
    assert {"webhook_url", "signing_secret"} <= set(monthly.secret_outputs)
    cp = control_plane(budget_world)
    (registered,) = cp.budgets().budgets
    assert registered.id == monthly.outputs["budget_id"] and registered.gpu_ids == [gpu.id]
    assert registered.threshold == 800 and registered.action == "stop"
    assert "secret-token" not in registered.model_dump_json()
    assert SECRET not in repr(result.outputs) and HOOK not in repr(result.outputs)
    assert not any(SECRET in line or "secret-token" in line for line in stack.provider_logs)

    until("spend to accrue", lambda: (s := cp.budget_spend(registered.id)) and s.spend_usd > 0)
    time.sleep(0.2)
    stack.refresh()
    assert stack.state.by_name("monthly").outputs["spend_usd"] > 0
    stack.destroy()
    assert cp.budgets().budgets == []


def unreachable_program() -> None:
    from dumont_iac import Budget, GpuInstance

    GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=1.0)
    Budget("monthly", limit_usd=800)


def test_an_unreachable_control_plane_fails_the_budget_saying_what_to_do(
    sandbox_factory, deployment_factory
):
    market = sandbox_factory(machines=40, speed=200.0, rate_limits="off")
    stack = deployment_factory(
        unreachable_program,
        project="budgets",
        config={"dumont:vastUrl": market.url, "dumont:apiUrl": "http://127.0.0.1:9"},
        secret_config={"dumont:vastApiKey": market.api_key, "dumont:apiKey": "k" * 24},
        env={"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_PACING_SCALE": "0"},
        call_timeout=60.0,
    )
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    assert "127.0.0.1:9" in str(failed.value) and "cannot be reached" in str(failed.value)
    # The GPU it covers is deployed as declared; the budget is not in the state, so the next
    # deploy registers it once the control plane answers.
    assert [r.name for r in stack.state.resources.values()] == ["train"]
    stack.destroy()
    assert market_client_for(market).instances() == []


def market_client_for(market) -> MarketplaceClient:
    return MarketplaceClient(market.url, market.api_key, pacing_scale=0)

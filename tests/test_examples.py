"""Every project under examples/ is priced by ``dumont-iac cost`` in each format, and goes up,
refreshes and is destroyed through the driver on the whole local world, after which nothing
bills: spend stays flat while the sandbox's clock moves on."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.testing import Deployment
from tests.cpu_standby.conftest import billing
from tests.projects import EXAMPLES, example_stack

SANDBOX = {"machines": 60, "speed": 200.0, "rate_limits": "off"}


def test_the_examples_are_found():
    assert {e.name for e in EXAMPLES} >= {"quickstart", "resilient-training", "budget"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_every_example_is_priced_as_a_table_as_json_and_as_markdown(example, sandbox_factory):
    sandbox = sandbox_factory(**SANDBOX)
    on = ["--url", sandbox.url, "--api-key", sandbox.api_key, "--stack", example_stack(example)]
    runner = CliRunner()
    table = runner.invoke(app, ["cost", str(example), *on])
    assert table.exit_code == 0, table.output
    assert "worst case $" in table.stdout and "expected $" in table.stdout
    as_json = runner.invoke(app, ["cost", str(example), "--json", *on])
    assert as_json.exit_code == 0, as_json.output
    priced = json.loads(as_json.stdout)
    assert priced["resources"], priced
    assert all(r["worst_per_month"] is not None for r in priced["resources"])
    markdown = runner.invoke(app, ["cost", str(example), "--markdown", *on])
    assert markdown.exit_code == 0 and "|" in markdown.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_every_example_goes_up_refreshes_and_is_destroyed_leaving_nothing_billing(
    example, world, deployment_factory
):
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    env = {**world.exports(), "DUMONT_PACING_SCALE": "0"}
    stack: Deployment = deployment_factory(example, stack=example_stack(example), env=env,
                                           call_timeout=120.0)  # fmt: skip
    up = stack.up()
    assert up.created and not stack.refresh().deleted
    assert not stack.preview().changed
    stack.destroy()
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    assert market.instances() == [] and market.volumes() == []
    assert billing(world.aws.url) == []
    credit = market.user().credit
    world.marketplace.clock.advance(60)
    assert market.user().credit == credit

"""``dumont-iac cost``: a program priced before it is deployed, and the expected price is what
``up`` then rents."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.estimate import estimate_program

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_the_expected_price_is_what_up_then_rents(gpu_sandbox, stack_factory, market):
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    estimate = estimate_program(QUICKSTART, stack="ci", market=client)
    (priced,) = estimate.resources
    assert priced.name == "quickstart" and priced.kind == "GpuInstance"
    assert priced.cost.worst_per_hour == 0.60  # the example's price cap
    assert market.instances() == []  # pricing rents nothing
    deployed = stack_factory(QUICKSTART, stack="ci")
    deployed.up()
    rented = deployed.state.by_name("quickstart").outputs
    assert rented["price_per_hour"] == priced.cost.expected_per_hour
    assert "offer " in priced.cost.basis and rented["gpu_name"] in priced.cost.basis


def test_the_command_prints_a_table_json_and_markdown(gpu_sandbox, market):
    on = ["--url", gpu_sandbox.url, "--api-key", gpu_sandbox.api_key]
    runner = CliRunner()
    as_json = runner.invoke(app, ["cost", str(QUICKSTART), "--stack", "ci", "--json", *on])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    month = data["resources"][0]["worst_per_month"]
    assert month == round(0.60 * 730, 2) and data["total"]["worst_per_month"] == month
    markdown = runner.invoke(app, ["cost", str(QUICKSTART), "--stack", "ci", "--markdown", *on])
    assert markdown.exit_code == 0 and "| `quickstart` | GpuInstance |" in markdown.stdout
    table = runner.invoke(app, ["cost", str(QUICKSTART), "--stack", "ci", *on])
    assert table.exit_code == 0 and "quickstart" in table.stdout
    assert market.instances() == []


def test_a_gpu_without_a_price_cap_is_unbounded(tmp_path, gpu_sandbox):
    (tmp_path / "Pulumi.yaml").write_text("name: uncapped\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from dumont_iac import GpuInstance\nGpuInstance('free', image='ubuntu:22.04')\n"
    )
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    estimate = estimate_program(tmp_path, market=client)
    assert estimate.resources[0].unbounded and estimate.worst_per_hour is None
    assert "unbounded (no price cap)" in estimate.to_markdown()
    assert estimate.expected_per_hour > 0


def test_an_unreachable_marketplace_is_exit_code_2_with_one_sentence():
    result = CliRunner().invoke(
        app, ["cost", str(QUICKSTART), "--url", "http://127.0.0.1:9", "--api-key", "k"]
    )
    assert result.exit_code == 2
    assert "cannot be reached" in result.output and "Traceback" not in result.output


def test_a_fleet_is_priced_for_every_member(tmp_path, gpu_sandbox):
    (tmp_path / "Pulumi.yaml").write_text("name: fleet\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from dumont_iac import GpuFleet, GpuInstance\n"
        "GpuFleet('pool', image='ubuntu:22.04', count=3, max_price_per_hour=0.5)\n"
        "GpuInstance('one', image='ubuntu:22.04', max_price_per_hour=0.5)\n"
    )
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    estimate = estimate_program(tmp_path, market=client)
    one, pool = sorted(estimate.resources, key=lambda r: r.name)
    assert (pool.name, pool.kind, one.kind) == ("pool", "GpuFleet", "GpuInstance")
    assert pool.cost.worst_per_hour == 1.5 and estimate.worst_per_hour == 2.0
    assert pool.cost.expected_per_hour >= 3 * one.cost.expected_per_hour - 1e-9
    assert "3 offers from 3 machines" in pool.cost.basis

"""``dumont-iac cost`` holds a program against its Budgets: exit 0 within every one, 1 over,
2 on error; Markdown for a pull-request comment, with the change against a deployed state."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.estimate import estimate_program

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "budget"
SANDBOX = {"machines": 40, "speed": 200.0, "rate_limits": "off"}


def _on(sandbox) -> list[str]:
    return ["--url", sandbox.url, "--api-key", sandbox.api_key]


def test_within_every_budget_is_exit_0_and_markdown_shows_it(sandbox_factory):
    sandbox = sandbox_factory(**SANDBOX)
    runner = CliRunner()
    result = runner.invoke(app, ["cost", str(EXAMPLE), "--stack", "within", "--markdown",
                                 *_on(sandbox)])  # fmt: skip
    assert result.exit_code == 0, result.output
    # 0.60 x 730 + 2 x 0.40 x 730 = 438 + 584
    assert "| `monthly` | $2,000.00 | worst case | $1,022.00 | within |" in result.stdout
    assert (
        "| `train` | GpuInstance |" in result.stdout and "| `workers` | GpuFleet |" in result.stdout
    )


def test_over_a_budget_is_exit_1_naming_each_figure(sandbox_factory):
    sandbox = sandbox_factory(**SANDBOX)
    runner = CliRunner()
    table = runner.invoke(app, ["cost", str(EXAMPLE), "--stack", "over", *_on(sandbox)])
    assert table.exit_code == 1, table.output
    assert "Budget monthly ($500.00/month): OVER" in table.stdout
    assert "train (GpuInstance) $438.00" in table.stdout
    assert "workers (GpuFleet) $584.00" in table.stdout and "total $1,022.00" in table.stdout
    as_json = runner.invoke(app, ["cost", str(EXAMPLE), "--stack", "over", "--json",
                                  *_on(sandbox)])  # fmt: skip
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    (budget,) = data["budgets"]
    assert budget["within"] is False and budget["worst_per_month"] == 1022.0
    assert data["within_budgets"] is False


def test_an_unreachable_marketplace_is_exit_2():
    result = CliRunner().invoke(
        app,
        [
            "cost",
            str(EXAMPLE),
            "--stack",
            "within",
            "--url",
            "http://127.0.0.1:9",
            "--api-key",
            "k",
        ],  # fmt: skip
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def _project(root: Path, body: str) -> Path:
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: compare\nruntime: python\n")
    (root / "__main__.py").write_text("from dumont_iac import GpuFleet, GpuInstance\n" + body)
    return root


def test_the_change_against_the_deployed_state(tmp_path, sandbox_factory, deployment_factory):
    sandbox = sandbox_factory(**SANDBOX)
    image = "image='ubuntu:22.04', max_price_per_hour=0.5"
    deployed = _project(
        tmp_path / "deployed",
        f"GpuInstance('kept', {image})\nGpuInstance('dropped', {image})\n"
        f"GpuFleet('grown', count=1, {image})\n",
    )
    state = tmp_path / "state.json"
    stack = deployment_factory(
        deployed,
        config={"dumont:vastUrl": sandbox.url},
        secret_config={"dumont:vastApiKey": sandbox.api_key},
        env={"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_PACING_SCALE": "0"},
        state_file=state,
    )
    stack.up()
    planned = _project(
        tmp_path / "planned",
        f"GpuInstance('kept', {image})\nGpuFleet('grown', count=2, {image})\n"
        f"GpuInstance('added', {image})\n",
    )
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0)
    estimate = estimate_program(planned, market=client, compare_to=state)
    signs = {c.name: c.sign for c in estimate.changes or []}
    assert signs == {"added": "+", "dropped": "-", "grown": "~"}
    text = estimate.to_markdown()
    assert "- dropped (GpuInstance): -$" in text and "+ added (GpuInstance): +$" in text
    past, now = estimate.past_expected_per_month, estimate.to_dict()["totalMonthlyCost"]
    assert f"(${past:,.2f} -> ${now:,.2f})" in text and "Amount: " in text
    data = estimate.to_dict()
    assert data["diffTotalMonthlyCost"] == round(now - past, 2)
    result = CliRunner().invoke(app, ["cost", str(planned), "--markdown", "--compare-to",
                                      str(state), *_on(sandbox)])  # fmt: skip
    assert result.exit_code == 0 and "Amount: " in result.stdout

"""``dumont-iac offers | pricing | recommend`` against a fresh sandbox, given only URL and key."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.clients import pacing
from dumont_iac.clients.marketplace import forget_cached_searches

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("VAST_URL", "VAST_API_KEY", "DUMONT_PACING_SCALE"):
        monkeypatch.delenv(name, raising=False)
    forget_cached_searches()
    pacing.forget_all()
    yield
    forget_cached_searches()


def run(*args: str):
    return runner.invoke(app, list(args))


def on(sandbox) -> list[str]:
    return ["--url", sandbox.url, "--api-key", sandbox.api_key]


def test_offers_as_json_cheapest_first(sandbox):
    result = run("offers", "--gpu", "RTX 4090", "--limit", "5", "--json", *on(sandbox))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and {r["gpu_name"] for r in rows} == {"RTX 4090"}
    prices = [r["price_per_hour"] for r in rows]
    assert prices == sorted(prices)


def test_offers_as_a_table_and_as_csv(sandbox):
    table = run("offers", "--region", "EU", "--limit", "3", *on(sandbox))
    assert table.exit_code == 0, table.output
    assert "3 offers (on demand, 10 GB disk priced in)" in table.stdout
    assert "$/GPU/h" in table.stdout
    as_csv = run("offers", "--region", "EU", "--limit", "3", "--csv", *on(sandbox))
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 3 and set(rows[0]) >= {"id", "gpu_name", "price_per_hour", "geolocation"}


def test_settings_from_the_environment_alone(sandbox, monkeypatch):
    monkeypatch.setenv("VAST_URL", sandbox.url)
    monkeypatch.setenv("VAST_API_KEY", sandbox.api_key)
    result = run("pricing", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 10 and all(r["offers"] > 0 for r in rows)


def test_pricing_compares_named_gpus_side_by_side(sandbox):
    args = ("pricing", "--compare", "RTX 4090", "--compare", "A100 SXM4", *on(sandbox))
    table = run(*args)
    assert table.exit_code == 0, table.output
    assert "GPU comparison" in table.stdout
    for text in ("RTX 4090", "A100 SXM4", "Interruptible", "Savings %", "Median on demand"):
        assert text in table.stdout
    rows = json.loads(run(*args, "--json").stdout)
    assert [r["gpu_name"] for r in rows] == ["RTX 4090", "A100 SXM4"]
    assert rows[0]["on_demand"] < rows[1]["on_demand"]


def test_recommend_for_a_70b_model(sandbox):
    result = run("recommend", "--params", "70", "--precision", "fp16", "--json", *on(sandbox))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["vram_needed_gb"] == pytest.approx(168.0)
    assert "140 GB of weights" in found["formula"]
    assert found["options"] and all(o["total_vram_gb"] >= 168 for o in found["options"])
    table = run("recommend", "--params", "70", *on(sandbox))
    assert "Needs 168 GB" in table.stdout and "Multi-GPU options" in table.stdout


def test_recommend_for_a_vram_need_as_csv(sandbox):
    result = run("recommend", "--vram", "40", "--max-gpus", "1", "--csv", *on(sandbox))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(float(r["vram_per_gpu_gb"]) >= 40 for r in rows)
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))


# --- errors: one sentence, exit code 1, no traceback ------------------------------------------


def test_an_unreachable_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run("offers", "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stderr == (
        f"The marketplace URL http://127.0.0.1:{port} (given as --url) cannot be reached "
        "(connection refused): run `pulumi config set dumont:vastUrl <url>` or set the "
        "environment variable VAST_URL.\n"
    )
    assert result.stdout == "" and "Traceback" not in result.output


def test_a_url_that_is_not_the_api(html_url, monkeypatch):
    monkeypatch.setenv("VAST_URL", html_url)
    result = run("pricing")
    assert result.exit_code == 1
    assert result.stderr == (
        f"The marketplace URL {html_url} (from the environment variable VAST_URL) does not "
        "serve the marketplace API (POST /api/v0/bundles/ answered HTTP 200 text/html): run "
        "`pulumi config set dumont:vastUrl <url>` or set the environment variable VAST_URL.\n"
    )


def test_bad_input_names_the_option_and_the_value(sandbox):
    result = run("offers", "--region", "Mars", *on(sandbox))
    assert result.exit_code == 1
    assert result.stderr.startswith("Invalid --region: region 'MARS' is neither a continent code")
    missing = run("recommend", *on(sandbox))
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Invalid --params: kind='inference' needs the model size")
    precision = run("recommend", "--params", "7", "--precision", "fp8", *on(sandbox))
    assert precision.exit_code == 1 and "Invalid --precision" in precision.stderr
    assert "'fp8'" in precision.stderr


def test_json_and_csv_together_is_a_usage_error(sandbox):
    result = run("offers", "--json", "--csv", *on(sandbox))
    assert result.exit_code == 2 and "choose one of --json and --csv" in result.output


def test_boolean_options_are_flags_with_their_opposites(sandbox):
    shown = run("offers", "--help").output
    (line,) = [line for line in shown.splitlines() if "--interruptible" in line]
    assert "--on-demand" in line and "<bool>" not in line and "--verified-only" in shown
    bid = run(
        "offers", "--gpu", "RTX 4090", "--limit", "3", "--interruptible", "--json", *on(sandbox)
    )
    demand = run(
        "offers", "--gpu", "RTX 4090", "--limit", "3", "--on-demand", "--json", *on(sandbox)
    )
    assert bid.exit_code == demand.exit_code == 0, (bid.output, demand.output)
    # An interruptible price is the minimum bid, never more than the on-demand price.
    cheapest = lambda result: json.loads(result.stdout)[0]["price_per_hour"]  # noqa: E731
    assert cheapest(bid) <= cheapest(demand)
    refused = run("offers", "--interruptible", "true", *on(sandbox))
    assert refused.exit_code == 2 and "unexpected extra argument" in refused.output.lower()

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


# --- every offer id is shown with that offer's own price ----------------------------------------


def _raw_offer(sandbox, offer_id: int) -> dict:
    with sandbox.client() as http:
        (row,) = http.post("/api/v0/bundles/", json={"id": {"eq": offer_id}}).json()["offers"]
    return row


def _priced(row: dict, *, interruptible: bool, disk_gb: float) -> float:
    gpu = row["min_bid"] if interruptible else row["dph_base"]
    return gpu + disk_gb * row["storage_cost"] / (30 * 24)  # $/GB per 30-day month


@pytest.mark.parametrize("mode", ["--on-demand", "--interruptible"])
def test_each_offer_id_is_shown_beside_its_own_price(sandbox, mode):
    interruptible = mode == "--interruptible"
    base = ["offers", "--gpu", "RTX 4090", "--gpu", "RTX 3090", "--limit", "6", *on(sandbox)]
    # The other pricing first, so its search sits in the cache when this one runs.
    other = "--on-demand" if interruptible else "--interruptible"
    assert run(*base, other, "--json").exit_code == 0
    as_json = json.loads(run(*base, mode, "--json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(run(*base, mode, "--csv").stdout)))
    table = run(*base, mode).stdout
    assert len(as_json) == len(as_csv) == 6
    for shown, csv_row in zip(as_json, as_csv, strict=True):
        offer = _raw_offer(sandbox, shown["id"])
        price = round(_priced(offer, interruptible=interruptible, disk_gb=10), 4)
        assert shown["price_per_hour"] == price, (shown, offer)
        assert shown["gpu_name"] == offer["gpu_name"]
        assert shown["machine_id"] == offer["machine_id"]
        assert (int(csv_row["id"]), float(csv_row["price_per_hour"])) == (shown["id"], price)
        (line,) = [line for line in table.splitlines() if f" {shown['id']} " in line]
        assert f"${price:.4f}" in line, line


def test_pricing_names_the_offer_behind_each_price(sandbox):
    rows = json.loads(run("pricing", "--json", *on(sandbox)).stdout)
    assert rows
    bid_cheaper = 0
    for row in rows:
        on_demand = _raw_offer(sandbox, row["on_demand_offer_id"])
        bid = _raw_offer(sandbox, row["interruptible_offer_id"])
        cheapest = _raw_offer(sandbox, row["cheapest_offer_id"])
        assert row["on_demand"] == round(on_demand["dph_base"] / on_demand["num_gpus"], 4)
        assert row["interruptible"] == round(bid["min_bid"] / bid["num_gpus"], 4)
        per_gpu = min(cheapest["dph_base"], cheapest["min_bid"]) / cheapest["num_gpus"]
        assert row["cheapest"] == round(per_gpu, 4), row
        assert {on_demand["gpu_name"], bid["gpu_name"], cheapest["gpu_name"]} == {row["gpu_name"]}
        bid_cheaper += row["interruptible_offer_id"] != row["on_demand_offer_id"]
    assert bid_cheaper  # the market has models whose cheapest bid is another offer


COMMANDS = [["offers"], ["pricing"], ["recommend", "--params", "7"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:8000", "is not an http:// or https:// URL"),
        ("http://[::1", "is not a valid URL"),
        ("http://127.0.0.1:99999", "is not a valid URL"),
        ("{sandbox}/api/v0", "does not serve the marketplace API (POST /api/v0/bundles/ answered"),
        ("{html}", "does not serve the marketplace API"),
        ("{closed}", "cannot be reached (connection refused)"),
    ],
    ids=["no-scheme", "unreadable", "bad-port", "path-prefix", "html", "closed"],
)
def test_a_wrong_url_is_one_sentence_for_every_command(sandbox, html_url, command, url, says):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    given = url.format(sandbox=sandbox.url, html=html_url, closed=closed)
    result = run(*command, "--url", given)
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert says in line and "(given as --url)" in line, line
    assert line.endswith("or set the environment variable VAST_URL."), line

"""The official marketplace client (the ``vastai`` CLI) against the sandbox, as a user runs it.

The client reads ``VAST_URL`` once at import (``--url`` alone is not enough: its start-up calls
would go to the real host), caches GPU names under the home directory, and exits 0 even when a
call fails, so each test gives it a fresh home, and reads its output rather than its exit code.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

VASTAI = shutil.which("vastai", path=str(Path(sys.executable).parent)) or shutil.which("vastai")


class Vastai:
    def __init__(self, url: str, api_key: str, home: Path) -> None:
        self.home = home
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAST", "XDG_"))}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_STATE_HOME=str(home / ".local/state"),
            XDG_DATA_HOME=str(home / ".local/share"),
            VAST_URL=url,
            VAST_API_KEY=api_key,
            VASTAI_NO_UPDATE_CHECK="1",
            NO_COLOR="1",
        )
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert VASTAI is not None
        done = subprocess.run(
            [VASTAI, "--raw", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.stdout.strip(), f"no output from vastai {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)


@pytest.fixture
def vastai(sandbox, tmp_path) -> Vastai:
    if VASTAI is None:
        pytest.skip("the vastai client is not installed (pip install -e '.[dev]')")
    return Vastai(sandbox.url, sandbox.api_key, tmp_path / "home")


def _wait_status(vastai: Vastai, instance_id: int, status: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = vastai.json("show", "instance", str(instance_id))
        if row.get("actual_status") == status or time.monotonic() > deadline:
            assert row.get("actual_status") == status, row
            return row
        time.sleep(0.3)


def test_search_offers_with_the_default_query_and_with_filters(vastai, sandbox):
    default = vastai.json("search", "offers")
    assert default, "the default query found nothing"
    assert all(o["verified"] and o["rentable"] for o in default)
    assert [o["score"] for o in default] == sorted((o["score"] for o in default), reverse=True)

    filtered = vastai.json("search", "offers", "gpu_name=RTX_4090 num_gpus>=2 dph<1.0")
    assert filtered, "no RTX 4090 pair under $1/h in the sandbox market"
    for offer in filtered:
        assert offer["gpu_name"] == "RTX 4090"
        assert offer["num_gpus"] >= 2
        assert offer["dph_total"] < 1.0

    # The client's start-up calls went to the sandbox, not to the real host.
    cached = json.loads((vastai.home / ".cache/vastai/gpu_names_cache.json").read_text())
    with sandbox.client(anonymous=True) as http:
        assert cached == http.get("/api/v0/gpu_names/unique/").json()


def test_instances_from_create_to_destroy(vastai, sandbox):
    offer = vastai.json("search", "offers", "num_gpus=1", "-o", "dph")[0]
    created = vastai.json(
        "create", "instance", str(offer["id"]), "--image", "ubuntu:22.04", "--disk", "12",
        "--label", "cli-on-demand",
    )  # fmt: skip
    assert created["success"] is True
    on_demand = created["new_contract"]

    spot_offer = vastai.json("search", "offers", "num_gpus=1", "--type", "bid", "-o", "dph")[0]
    bid = round(spot_offer["min_bid"] + 0.01, 4)
    spot = vastai.json(
        "create", "instance", str(spot_offer["id"]), "--image", "ubuntu:22.04",
        "--bid_price", str(bid), "--label", "cli-spot",
    )["new_contract"]  # fmt: skip

    listed = vastai.json("show", "instances")
    assert {(row["id"], row["label"], row["is_bid"]) for row in listed} == {
        (on_demand, "cli-on-demand", False),
        (spot, "cli-spot", True),
    }
    row = _wait_status(vastai, on_demand, "running")
    assert row["disk_space"] == pytest.approx(12)

    assert "set to renamed" in vastai.run("label", "instance", str(on_demand), "renamed").stdout
    assert "stopping" in vastai.run("stop", "instance", str(on_demand)).stdout
    stopped = vastai.json("show", "instance", str(on_demand))
    assert (stopped["label"], stopped["intended_status"]) == ("renamed", "stopped")
    assert stopped["actual_status"] == "stopped"
    assert "starting" in vastai.run("start", "instance", str(on_demand)).stdout
    assert vastai.json("show", "instance", str(on_demand))["intended_status"] == "running"
    _wait_status(vastai, on_demand, "running")

    new_bid = round(bid + 0.02, 4)
    assert (
        "bid price changed"
        in vastai.run("change", "bid", str(spot), "--price", str(new_bid)).stdout
    )
    assert vastai.json("show", "instance", str(spot))["dph_base"] == pytest.approx(new_bid)

    vastai.run("destroy", "instance", str(on_demand), "-y")
    assert vastai.json("show", "instance", str(on_demand)) == {"instances": None}
    assert [row["id"] for row in vastai.json("show", "instances")] == [spot]


def test_show_user_reports_the_credit(vastai, sandbox):
    user = vastai.json("show", "user")
    with sandbox.client() as http:
        me = http.get("/api/v0/users/current/").json()
    assert user["id"] == me["id"]
    assert user["credit"] == pytest.approx(me["credit"], abs=0.01)


def test_volumes_create_show_delete(vastai):
    volume_offer = vastai.json("search", "volumes")[0]
    created = vastai.json("create", "volume", str(volume_offer["id"]), "-s", "20", "-n", "data")
    assert created["success"] is True and created["volume_name"].startswith("V.")
    volumes = vastai.json("show", "volumes")
    assert [(v["name"], v["disk_space"], v["machine_id"]) for v in volumes] == [
        ("data", 20.0, volume_offer["machine_id"])
    ]
    assert vastai.json("delete", "volume", str(volumes[0]["id"])) == {"success": True}
    assert vastai.json("show", "volumes") == []


def test_a_wrong_key_is_reported_by_the_client(vastai):
    vastai.env["VAST_API_KEY"] = "not-the-key"
    failed = vastai.run("show", "instances")
    assert json.loads(failed.stderr.strip().splitlines()[-1]) == {
        "error": True,
        "status_code": 401,
        "msg": "Invalid user key",
    }


def test_create_instances_rents_every_offer_in_one_call(vastai, sandbox):
    offers = vastai.json("search", "offers", "num_gpus=1", "-o", "dph")
    ids = []
    for offer in offers:  # one offer per machine: renting a slice re-lists its machine's others
        if offer["machine_id"] not in {o["machine_id"] for o in offers if o["id"] in ids}:
            ids.append(offer["id"])
    ids = ids[:3]
    env_run = subprocess.run(
        [VASTAI, "create", "instances", *map(str, ids), "--image", "ubuntu:22.04",
         "--disk", "12", "--label", "cli-bulk"],
        env=vastai.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert env_run.returncode == 0, env_run.stderr
    (line,) = [row for row in env_run.stdout.splitlines() if row.startswith("Started. ")]
    answer = ast.literal_eval(line.removeprefix("Started. "))
    assert answer["success"] is True and list(answer["results"]) == [str(i) for i in ids]
    listed = vastai.json("show", "instances")
    assert sorted(row["id"] for row in listed) == sorted(answer["new_contracts"])
    assert {row["label"] for row in listed} == {"cli-bulk"}


def test_the_client_reads_a_crashed_instance_and_a_set_gpu_utilisation(vastai, sandbox):
    offers = vastai.json("search", "offers", "num_gpus=1", "-o", "dph")[:2]
    crashing, idle = (
        vastai.json("create", "instance", str(o["id"]), "--image", "ubuntu:22.04")["new_contract"]
        for o in offers
    )
    sandbox.clock.advance(120)  # past the image pulls
    with sandbox.client() as http:
        assert http.post(f"/_sandbox/instances/{crashing}/fail").status_code == 200
        set_idle = http.put(f"/_sandbox/instances/{idle}/utilization", json={"gpu_util": 2.5})
        assert set_idle.status_code == 200, set_idle.text
    crashed = vastai.json("show", "instance", str(crashing))
    listed = {row["id"]: row for row in vastai.json("show", "instances")}
    assert crashed["actual_status"] == "exited" and "crashed" in crashed["status_msg"]
    assert listed[idle]["gpu_util"] == 2.5 and listed[idle]["actual_status"] == "running"
    assert listed[crashing]["gpu_util"] == 0.0

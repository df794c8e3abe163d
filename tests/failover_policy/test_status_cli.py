"""``dumont-iac status`` run as a user runs it (a subprocess) against the world: a deployed
stack's GPU with its failover policy, from the driver's state and from `pulumi stack export`
JSON; every GPU the control plane knows without a state; exit 2 and a clear sentence when the
control plane cannot be reached or the state file is not one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dumont_iac import Budget, FailoverPolicy, GpuInstance

from .test_lifecycle import _stack

DUMONT_IAC = shutil.which("dumont-iac", path=str(Path(sys.executable).parent))


def _status(*args: str, url: str, key: str) -> subprocess.CompletedProcess[str]:
    assert DUMONT_IAC is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUMONT_", "VAST_"))}
    env |= {"DUMONT_API_URL": url, "DUMONT_API_KEY": key, "COLUMNS": "200"}
    return subprocess.run(
        [DUMONT_IAC, "status", *args], env=env, capture_output=True, text=True, timeout=60
    )


def _as_pulumi_export(driver_state: dict) -> dict:
    """The driver's state in the shape of `pulumi stack export` (version 3)."""
    rows = [
        {"urn": r["urn"], "custom": True, "id": r["id"], "type": r["type"],
         "inputs": r["inputs"], "outputs": r["outputs"]}
        for r in driver_state["resources"].values()
    ]  # fmt: skip
    return {"version": 3, "deployment": {"manifest": {"time": "", "version": ""},
                                         "resources": rows}}  # fmt: skip


@pytest.fixture
def deployed(deployment_factory, world, tmp_path):
    def program() -> None:
        gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0, disk_gb=10)
        FailoverPolicy("train-failover", gpu=gpu, strategy="warm_pool")
        Budget("monthly", limit_usd=5000, resources=[gpu])

    stack = _stack(deployment_factory, world, program)
    stack.state_file = tmp_path / "stack.json"
    stack.up()
    stack.state.save(stack.state_file)
    yield stack
    stack.destroy()


def test_status_of_a_stack_from_its_state_and_from_pulumi_export(deployed, world, tmp_path):
    gpu = deployed.state.by_name("train")
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(_as_pulumi_export(json.loads(deployed.state_file.read_text()))))
    cp = {"url": world.control_plane.url, "key": world.control_plane_key}

    from_driver = _status("--state", str(deployed.state_file), "--json", **cp)
    from_export = _status("--state", str(exported), "--json", **cp)
    table = _status("--state", str(exported), **cp)
    known = _status("--json", **cp)

    assert from_driver.returncode == 0, from_driver.stderr
    (row,) = json.loads(from_driver.stdout)["gpus"]
    assert row == {
        "resource": "train", "kind": "GpuInstance", "logical_id": gpu.id,
        "contract_id": gpu.outputs["contract_id"], "status": "running",
        "effective_strategy": "warm_pool", "warm_pool_state": "searching",
        "standby_state": None, "last_failover_at": None, "failovers_last_24h": 0,
    }  # fmt: skip
    (budget,) = json.loads(from_driver.stdout)["budgets"]
    assert budget["resource"] == "monthly" and budget["limit_usd"] == 5000
    assert budget["spend_usd"] is None or budget["spend_usd"] >= 0
    exported_view = json.loads(from_export.stdout)  # spend moves on between the two calls
    assert exported_view["gpus"] == [row] and exported_view["budgets"][0]["budget_id"] == 1
    assert table.returncode == 0 and gpu.id in table.stdout and "warm_pool" in table.stdout
    assert "Budgets" in table.stdout and "$5,000.00" in table.stdout
    assert known.returncode == 0, known.stderr
    (only,) = json.loads(known.stdout)["gpus"]
    assert only["logical_id"] == gpu.id and only["resource"] is None
    assert only["effective_strategy"] == "warm_pool"


def test_status_exits_2_with_a_clear_sentence(world, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = _status("--json", url=closed, key="k")
    not_json = tmp_path / "state.json"
    not_json.write_text("{not json")
    bad_state = _status("--state", str(not_json), url=world.control_plane.url, key="k")
    missing = _status("--state", str(tmp_path / "nope.json"), url=world.control_plane.url,
                      key="k")  # fmt: skip
    assert down.returncode == 2 and down.stdout == ""
    assert closed in down.stderr and "DUMONT_API_URL" in down.stderr, down.stderr
    assert bad_state.returncode == 2 and "not JSON" in bad_state.stderr
    assert missing.returncode == 2 and "cannot read it" in missing.stderr

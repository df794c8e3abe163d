"""The suite's sweep leaves nothing behind when a test fails: a pytest session run in a
subprocess, with the real-marketplace options pointed at the local world, deploys a GPU with a
CPU standby and a warm pool (rentals, a volume, an EC2 VM, registrations) and then fails on
purpose; afterwards nothing of its run remains, looked at over the world's own APIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.provider.labels import logical_id_of, user_label_of
from tests.cpu_standby.conftest import billing

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "sweep-check"
PREFIX = f"ci-run-{RUN_ID}"

CONFTEST = """
from tests.conftest import pytest_addoption  # the suite's options
from tests.real_marketplace.conftest import real_target, run_prefix

pytest_plugins = ["dumont_iac.testing.fixtures"]
"""

FAILING_TEST = """
import json

from dumont_iac import CpuStandby, GpuInstance, WarmPool


def test_deploys_then_fails(real_target, deployment_factory):
    def program():
        gpu = GpuInstance("doomed", image="ubuntu:22.04", max_price_per_hour=real_target.max_cost,
                          label=real_target.label("doomed"))
        CpuStandby("doomed-standby", gpu=gpu)
        WarmPool("doomed-pool", image="ubuntu:22.04", max_price_per_hour=real_target.max_cost,
                 standbys=1, volume_size_gb=10, label=real_target.label("pool"))

    stack = deployment_factory(program, project="doomed", stack="ci", call_timeout=120.0)
    stack.up()
    resources = {r.name: {"id": r.id, **r.outputs} for r in stack.state.resources.values()}
    with open("deployed.json", "w") as out:
        json.dump(resources, out, default=str)
    raise AssertionError("failing on purpose with everything deployed")
"""


def test_a_failed_test_leaves_nothing_of_its_run(world, tmp_path):
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_doomed.py").write_text(textwrap.dedent(FAILING_TEST))
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    # A rental of the same prefix without a marker (made by hand): the sweep never touches it.
    offer = market.search_offers(OfferFilter(limit=1))[0]
    mine = market.rent(offer.id, RentRequest(image="ubuntu:22.04"), label=f"{PREFIX}/by-hand")
    env = {
        **os.environ,
        **world.exports(),
        "DUMONT_PACING_SCALE": "0",
        "GITHUB_RUN_ID": RUN_ID,
        "PYTHONPATH": str(REPO),
    }
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--real-marketplace",
         "--max-cost", "1.0", f"--rootdir={tmp_path}", str(tmp_path / "test_doomed.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = ran.stdout + ran.stderr
    # Failed, and its teardown (the sweep, which fails on anything left) raised no error.
    assert ran.returncode == 1 and "1 failed in" in out and " error" not in out, out
    assert "failing on purpose" in out

    deployed = json.loads((tmp_path / "deployed.json").read_text())
    assert deployed["doomed"]["contract_id"] and deployed["doomed-standby"]["ec2_instance_id"]
    assert deployed["doomed-pool"]["volume_id"]
    of_run = [i for i in market.instances() if (user_label_of(i.label) or "").startswith(PREFIX)]
    assert [(i.id, logical_id_of(i.label)) for i in of_run] == [(mine.instance_id, None)]
    assert market.volumes() == []
    assert billing(world.aws.url) == []
    cp = ControlPlaneClient(world.control_plane.url, world.control_plane_key)
    assert cp.associations().associations == []
    assert cp.warm_pool_registration(deployed["doomed-pool"]["id"]) is None

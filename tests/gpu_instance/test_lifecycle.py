"""Stacks of GPUs deployed, changed, refreshed and destroyed through the engine-protocol driver,
with every effect checked on the sandbox: the quickstart example and a three-GPU stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from dumont_iac import GpuInstance
from dumont_iac.testing import Deployment
from dumont_iac.testing.market import assert_nothing_bills, assert_rentals_match

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def contract(deployment: Deployment, name: str) -> int:
    return int(deployment.state.by_name(name).outputs["contract_id"])


def api_calls(deployment: Deployment) -> list[str]:
    """The marketplace calls the provider made in the last run (its log lines)."""
    return [line for line in deployment.provider_logs[-1].splitlines() if "dumont_iac.http" in line]


# --- the quickstart example -----------------------------------------------------------------


@pytest.fixture
def quickstart(stack_factory: Any) -> Deployment:
    return stack_factory(QUICKSTART, stack="ci")


def set_config(deployment: Deployment, **values: str) -> None:
    deployment.config.update({f"{deployment.project}:{k}": v for k, v in values.items()})


def test_quickstart_rents_one_gpu_and_a_second_up_touches_nothing(quickstart, market):
    first = quickstart.up()
    assert first.names("created") == ["quickstart"]
    gpu = quickstart.state.by_name("quickstart")
    (rental,) = market.managed()
    assert rental["label"] == f"quickstart | dumont:{gpu.id}"
    assert rental["actual_status"] == "running" and rental["gpu_ram"] >= 24000
    assert rental["is_bid"] is True and rental["dph_total"] <= 0.60
    assert first.outputs["ssh_command"] == f"ssh -p {rental['ssh_port']} root@{rental['ssh_host']}"
    assert first.outputs["price_per_hour"] == round(rental["dph_total"], 4)
    assert first.outputs["logical_id"] == gpu.id

    again = quickstart.up()
    assert not again.changed and again.names("unchanged") == ["quickstart"]
    assert api_calls(quickstart) == []  # Check and Diff only: the marketplace is not called
    (same,) = market.managed()
    kept = ("id", "label", "actual_status", "intended_status", "image_uuid", "dph_total")
    assert {k: same[k] for k in kept} == {k: rental[k] for k in kept}
    assert again.outputs == first.outputs


def test_quickstart_label_change_updates_the_rental_in_place(quickstart, market):
    quickstart.up()
    gpu = quickstart.state.by_name("quickstart")
    set_config(quickstart, label="renamed")
    result = quickstart.up()
    assert result.names("updated") == ["quickstart"]
    assert quickstart.state.by_name("quickstart").id == gpu.id
    (rental,) = market.managed()
    assert rental["id"] == gpu.outputs["contract_id"]
    assert rental["label"] == f"renamed | dumont:{gpu.id}"


def test_quickstart_image_change_replaces_and_destroys_the_old_contract(quickstart, market):
    quickstart.up()
    old = quickstart.state.by_name("quickstart")
    set_config(quickstart, image="nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    result = quickstart.up()
    assert result.names("replaced") == ["quickstart"] and not result.deleted
    new = quickstart.state.by_name("quickstart")
    assert new.id != old.id
    assert market.instance(old.outputs["contract_id"]) is None
    (rental,) = market.managed()
    assert rental["image_uuid"] == "nvidia/cuda:12.4.1-runtime-ubuntu22.04"
    assert_rentals_match(market, quickstart)


def test_a_forced_replacement_keeps_the_id_and_rents_exactly_one_new_contract(
    stack_factory, market
):
    """replace_on_changes on an in-place field replaces without changing the logical id: the
    old rental must go first, or the new create would adopt the rental about to be destroyed."""
    label = {"value": "first"}

    def program() -> None:
        GpuInstance(
            "pinned",
            image="ubuntu:22.04",
            max_price_per_hour=1.0,
            label=label["value"],
            opts=pulumi.ResourceOptions(replace_on_changes=["label"]),
        )

    stack = stack_factory(program, project="forced", stack="ci")
    stack.up()
    old = stack.state.by_name("pinned")
    label["value"] = "second"
    assert stack.up().names("replaced") == ["pinned"]
    new = stack.state.by_name("pinned")
    assert new.id == old.id
    assert new.outputs["contract_id"] != old.outputs["contract_id"]
    assert market.instance(old.outputs["contract_id"]) is None
    (rental,) = market.managed()
    assert rental["id"] == new.outputs["contract_id"]
    assert_rentals_match(market, stack)


def test_quickstart_stops_and_starts_the_same_contract(quickstart, market):
    quickstart.up()
    contract_id = contract(quickstart, "quickstart")
    set_config(quickstart, desiredState="stopped")
    assert quickstart.up().names("updated") == ["quickstart"]
    stopped = market.instance(contract_id)
    assert stopped["actual_status"] == "stopped" and stopped["intended_status"] == "stopped"
    assert quickstart.state.by_name("quickstart").outputs["status"] == "stopped"
    set_config(quickstart, desiredState="running")
    assert quickstart.up().names("updated") == ["quickstart"]
    assert market.instance(contract_id)["actual_status"] == "running"
    assert_rentals_match(market, quickstart)


def test_quickstart_destroy_leaves_nothing_that_bills(quickstart, market):
    quickstart.up()
    result = quickstart.destroy()
    assert result.names("deleted") == ["quickstart"]
    assert quickstart.state.resources == {} and quickstart.state.outputs == {}
    assert_nothing_bills(market)


# --- a stack of three GPUs -----------------------------------------------------------------


class Fleet:
    """Three GPUs with different constraints; tests change one GPU's arguments between runs."""

    def __init__(self) -> None:
        self.gpus: dict[str, dict[str, Any]] = {
            "trainer": {
                "gpu_models": ["RTX 4090", "RTX 3090", "A100 SXM4"],
                "min_vram_gb": 24,
                "image": "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
                "label": "trainer",
            },
            "inference": {
                "interruptible": False,
                "max_price_per_hour": 2.0,
                "image": "vllm/vllm-openai:v0.6.0",
                "disk_gb": 40,
            },
            "notebook": {"max_price_per_hour": 0.5, "image": "jupyter/base-notebook"},
        }

    def __call__(self) -> None:
        for name, args in self.gpus.items():
            gpu = GpuInstance(name, **args)
            pulumi.export(f"{name}_ssh", gpu.ssh_command)


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture
def fleet_stack(stack_factory: Any, fleet: Fleet) -> Deployment:
    return stack_factory(fleet, project="fleet", stack="ci")


NAMES = ["inference", "notebook", "trainer"]


def test_fleet_up_rents_one_machine_per_gpu_and_up_again_touches_nothing(fleet_stack, market):
    first = fleet_stack.up()
    assert first.names("created") == NAMES
    assert_rentals_match(market, fleet_stack)
    rentals = {int(i["id"]): i for i in market.managed()}
    assert len({r["machine_id"] for r in rentals.values()}) == 3
    inference = rentals[contract(fleet_stack, "inference")]
    assert inference["is_bid"] is False and inference["disk_space"] == 40
    trainer = rentals[contract(fleet_stack, "trainer")]
    assert trainer["gpu_name"] in {"RTX 4090", "RTX 3090", "A100 SXM4"}
    assert all(r["actual_status"] == "running" for r in rentals.values())
    assert set(first.outputs) == {f"{n}_ssh" for n in NAMES}

    again = fleet_stack.up()
    assert not again.changed and again.names("unchanged") == NAMES
    assert api_calls(fleet_stack) == []
    assert sorted(i["id"] for i in market.managed()) == sorted(rentals)


def test_fleet_label_change_updates_only_that_gpu(fleet_stack, fleet, market):
    fleet_stack.up()
    before = {i["id"]: i["label"] for i in market.managed()}
    fleet.gpus["notebook"]["label"] = "alice"
    result = fleet_stack.up()
    assert result.names("updated") == ["notebook"]
    assert result.names("unchanged") == ["inference", "trainer"]
    notebook = fleet_stack.state.by_name("notebook")
    after = {i["id"]: i["label"] for i in market.managed()}
    assert after.keys() == before.keys()
    assert after[contract(fleet_stack, "notebook")] == f"alice | dumont:{notebook.id}"
    assert after[contract(fleet_stack, "trainer")] == before[contract(fleet_stack, "trainer")]


def test_fleet_image_change_replaces_only_that_gpu(fleet_stack, fleet, market):
    fleet_stack.up()
    old = contract(fleet_stack, "trainer")
    kept = contract(fleet_stack, "notebook")
    fleet.gpus["trainer"]["image"] = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
    result = fleet_stack.up()
    assert result.names("replaced") == ["trainer"]
    assert market.instance(old) is None
    assert contract(fleet_stack, "notebook") == kept
    assert_rentals_match(market, fleet_stack)


def test_fleet_stops_and_starts_one_gpu(fleet_stack, fleet, market):
    fleet_stack.up()
    fleet.gpus["inference"]["desired_state"] = "stopped"
    assert fleet_stack.up().names("updated") == ["inference"]
    statuses = {i["id"]: i["actual_status"] for i in market.managed()}
    assert statuses[contract(fleet_stack, "inference")] == "stopped"
    assert statuses[contract(fleet_stack, "trainer")] == "running"
    fleet.gpus["inference"]["desired_state"] = "running"
    assert fleet_stack.up().names("updated") == ["inference"]
    assert market.instance(contract(fleet_stack, "inference"))["actual_status"] == "running"
    assert_rentals_match(market, fleet_stack)


def test_fleet_refresh_drops_a_destroyed_gpu_and_keeps_an_outbid_one(fleet_stack, market):
    fleet_stack.up()
    market.destroy(contract(fleet_stack, "notebook"))
    market.fault(f"instances/{contract(fleet_stack, 'trainer')}/outbid")
    refreshed = fleet_stack.refresh()
    assert refreshed.names("deleted") == ["notebook"]
    assert refreshed.names("updated") == ["trainer"]
    assert refreshed.names("unchanged") == ["inference"]
    trainer = fleet_stack.state.by_name("trainer").outputs
    assert trainer["status"] == "stopped" and trainer["status_message"].startswith(
        "Stopped: outbid"
    )

    again = fleet_stack.up()  # the destroyed GPU is rented anew; the outbid one is left alone
    assert again.names("created") == ["notebook"]
    assert again.names("unchanged") == ["inference", "trainer"]
    assert_rentals_match(market, fleet_stack)
    assert market.instance(contract(fleet_stack, "trainer"))["actual_status"] == "stopped"


def test_fleet_destroy_leaves_nothing_that_bills(fleet_stack, market):
    fleet_stack.up()
    result = fleet_stack.destroy()
    assert result.names("deleted") == NAMES
    assert market.managed() == []
    assert_nothing_bills(market)


def test_a_gpu_whose_machine_died_is_shown_by_refresh_and_replaced_by_the_next_up(
    quickstart, market
):
    quickstart.up()
    dead = quickstart.state.by_name("quickstart").outputs
    market.fault(f"machines/{int(dead['machine_id'])}/fail")
    assert quickstart.refresh().names("updated") == ["quickstart"]
    assert quickstart.state.by_name("quickstart").outputs["status"] == "offline"
    again = quickstart.up()
    assert again.names("replaced") == ["quickstart"]
    alive = quickstart.state.by_name("quickstart").outputs
    assert alive["status"] == "running" and alive["contract_id"] != dead["contract_id"]
    assert alive["logical_id"] == dead["logical_id"]  # the same GPU, on a new contract
    assert_rentals_match(market, quickstart)
    assert quickstart.up().names("unchanged") == ["quickstart"]


def test_an_outbid_gpu_shows_the_winning_bid_and_up_warns_how_to_win_it_back(quickstart, market):
    quickstart.up()
    market.fault(f"instances/{contract(quickstart, 'quickstart')}/outbid")
    quickstart.refresh()
    outputs = quickstart.state.by_name("quickstart").outputs
    assert outputs["status"] == "stopped" and outputs["outbid_by"] > outputs["price_per_hour"]
    again = quickstart.up()
    assert again.names("unchanged") == ["quickstart"]  # a policy's business, not drift
    (warning,) = again.warnings
    assert "was outbid" in warning and f"above {outputs['outbid_by']:g} $/h" in warning
    assert_rentals_match(market, quickstart)

"""GpuInstanceProvider driven over gRPC in a real ``python -m pulumi.dynamic`` process, the way
the engine drives it: Configure, Check, Diff, Create, Read, Update, Delete against a sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.testing import UNKNOWN, ProviderOperationError, ProviderProcess
from dumont_iac.testing.market import Market

from .helpers import CLEAN_ENV

BLOB = serialize_provider(GpuInstanceProvider())
URN = "urn:pulumi:contract::gpus::pulumi-python:dynamic/dumont:GpuInstance::train"
ARGS = {
    "image": "ubuntu:22.04",
    "logical_name": "gpus/contract/train",
    "max_price_per_hour": 1.0,
    "label": "train-1",
}


def news(**changes: Any) -> dict[str, Any]:
    return {"__provider": BLOB, **ARGS, **changes}


def start(factory: Any, sandbox: Any, *, config: bool = True, **env: str) -> ProviderProcess:
    process = factory(project="gpus", env={**CLEAN_ENV, **env})
    settings = {"dumont:vastUrl": sandbox.url, "dumont:vastApiKey": sandbox.api_key}
    process.configure(settings if config else {}, ["dumont:vastApiKey"])
    return process


@pytest.fixture
def provider(provider_process_factory: Any, gpu_sandbox: Any) -> ProviderProcess:
    return start(provider_process_factory, gpu_sandbox)


@pytest.fixture(scope="module")
def checker() -> Iterator[ProviderProcess]:
    """One process for the Check and Diff tests: neither ever calls the marketplace."""
    with ProviderProcess(project="gpus", env=CLEAN_ENV) as process:
        process.configure({"dumont:vastUrl": "http://127.0.0.1:9"})
        yield process


def contract(outputs: dict[str, Any]) -> int:
    """The contract id output (numbers cross the wire as floats)."""
    return int(outputs["contract_id"])


def create(provider: ProviderProcess, **changes: Any) -> tuple[str, dict[str, Any], dict]:
    checked = provider.check(URN, {}, news(**changes))
    assert checked.failures == []
    id_, outputs = provider.create(URN, checked.inputs)
    return id_, outputs, checked.inputs


# --- Configure ----------------------------------------------------------------------------


def test_configure_hands_the_stack_config_to_the_provider(provider, market: Market):
    # The process environment has no URL and no key: only dumont:* config can reach the sandbox.
    id_, outputs, _ = create(provider)
    (rental,) = market.managed()
    assert rental["id"] == outputs["contract_id"] and rental["label"] == f"train-1 | dumont:{id_}"


def test_the_environment_is_used_when_the_stack_has_no_config(
    provider_process_factory, gpu_sandbox, market
):
    provider = start(
        provider_process_factory,
        gpu_sandbox,
        config=False,
        VAST_URL=gpu_sandbox.url,
        VAST_API_KEY=gpu_sandbox.api_key,
    )
    _, outputs, _ = create(provider)
    assert [i["id"] for i in market.managed()] == [outputs["contract_id"]]


def test_a_missing_key_says_how_to_set_it(provider_process_factory, gpu_sandbox, market):
    provider = start(provider_process_factory, gpu_sandbox, config=False, VAST_URL=gpu_sandbox.url)
    with pytest.raises(ProviderOperationError) as failed:
        create(provider)
    assert "The marketplace API key is not set" in failed.value.message
    assert "pulumi config set --secret dumont:vastApiKey" in failed.value.message
    assert market.instances() == []


def test_a_refused_key_is_named_by_its_setting_never_shown(
    provider_process_factory, gpu_sandbox, market
):
    wrong = "sk-wrong-key-5b8e0d1f9a"
    provider = provider_process_factory(project="gpus", env=CLEAN_ENV)
    provider.configure(
        {"dumont:vastUrl": gpu_sandbox.url, "dumont:vastApiKey": wrong}, ["dumont:vastApiKey"]
    )
    with pytest.raises(ProviderOperationError) as failed:
        create(provider)
    assert "from Pulumi config dumont:vastApiKey" in failed.value.message
    assert "was refused" in failed.value.message
    assert wrong not in str(failed.value) and wrong not in provider.stderr_text()
    assert market.instances() == []


# --- Check --------------------------------------------------------------------------------


def test_check_fills_defaults_and_accepts_whole_floats_for_ints(checker):
    # Every number crosses the wire as a float: 2.0 must pass as a count, 1.5 must not.
    checked = checker.check(URN, {}, news(gpu_count=2.0, create_timeout_seconds=60.0))
    assert checked.failures == []
    inputs = checked.inputs
    assert inputs["gpu_count"] == 2 and inputs["create_timeout_seconds"] == 60
    assert inputs["interruptible"] is True and inputs["desired_state"] == "running"
    assert inputs["disk_gb"] == 10.0 and inputs["min_reliability"] == 0.9
    assert inputs["__provider"] == BLOB
    refused = checker.check(URN, {}, news(gpu_count=1.5))
    assert refused.failures == [
        (
            "gpu_count",
            "Input should be a valid integer, got a number with a fractional part; got 1.5",
        )
    ]


def test_check_failures_name_each_field_the_value_and_what_is_allowed(checker):
    checked = checker.check(
        URN,
        {},
        news(
            gpu_count=0,
            disk_gb=4,
            desired_state="paused",
            regions=["EU", "Atlantis"],
            gpu_type="RTX 4090",
        ),
    )
    reasons = dict(checked.failures)
    assert set(reasons) == {"gpu_count", "disk_gb", "desired_state", "regions", "gpu_type"}
    assert "greater than or equal to 1; got 0" in reasons["gpu_count"]
    assert "greater than or equal to 8; got 4" in reasons["disk_gb"]
    assert "'running' or 'stopped'; got 'paused'" in reasons["desired_state"]
    assert "'ATLANTIS' is neither a continent" in reasons["regions"]
    assert "is not an argument of GpuInstance; allowed:" in reasons["gpu_type"]
    assert "gpu_models" in reasons["gpu_type"]


def test_check_names_the_missing_image_and_a_bid_that_cannot_apply(checker):
    checked = checker.check(
        URN, {}, {"__provider": BLOB, "logical_name": "x", "interruptible": False, "bid_price": 0.3}
    )
    reasons = dict(checked.failures)
    assert set(reasons) == {"image", "bid_price"}
    assert reasons["image"].startswith("is required (Container image to run.)")
    assert "a bid applies only when interruptible is true; got 0.3" in reasons["bid_price"]


def test_check_lets_unknown_values_through_and_still_checks_the_known_ones(checker):
    checked = checker.check(URN, {}, news(image=UNKNOWN, label=UNKNOWN, gpu_count=1.0))
    assert checked.failures == []
    assert checked.inputs["image"] == UNKNOWN and checked.inputs["label"] == UNKNOWN
    assert checked.inputs["gpu_count"] == 1
    # An unknown interruptible may turn out true: the bid is not refused yet.
    checked = checker.check(URN, {}, news(interruptible=UNKNOWN, bid_price=0.2))
    assert checked.failures == []
    checked = checker.check(URN, {}, news(image=UNKNOWN, disk_gb=2))
    assert [prop for prop, _ in checked.failures] == ["disk_gb"]


# --- Diff ---------------------------------------------------------------------------------


@pytest.fixture
def prior(checker) -> dict[str, Any]:
    """Outputs as create would have written them (Diff never calls the marketplace)."""
    inputs = checker.check(URN, {}, news()).inputs
    return {**inputs, "logical_id": "gpu-000000000000", "contract_id": 7, "schema_version": 1}


def diff(checker: ProviderProcess, prior: dict[str, Any], **changes: Any) -> Any:
    checked = checker.check(URN, prior, news(**changes))
    assert checked.failures == []
    return checker.diff(URN, prior["logical_id"], prior, checked.inputs)


@pytest.mark.parametrize(
    "changes",
    [{"label": "renamed"}, {"desired_state": "stopped"}, {"bid_price": 0.5}, {"label": None}],
    ids=["label", "desired_state", "bid_price", "label-removed"],
)
def test_label_state_and_bid_update_in_place(checker, prior, changes):
    outcome = diff(checker, prior, **changes)
    assert outcome.changes is True and outcome.replaces == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "pytorch/pytorch:2.4.0"),
        ("disk_gb", 40),
        ("gpu_models", ["RTX 4090"]),
        ("gpu_count", 2),
        ("regions", ["EU"]),
        ("interruptible", False),
    ],
)
def test_what_picks_the_machine_replaces(checker, prior, field, value):
    outcome = diff(checker, prior, **{field: value})
    assert outcome.changes is True and outcome.replaces == [field]
    assert outcome.delete_before_replace is True


def test_no_change_and_a_new_provider_blob_alone_are_no_diff(checker, prior):
    assert diff(checker, prior).changes is False
    # State written by another checker version: only the blob differs.
    older = {**prior, "__provider": BLOB[:-1] + "A"}
    checked = checker.check(URN, prior, news()).inputs
    assert checker.diff(URN, prior["logical_id"], older, checked).changes is False


def test_unknown_values_diff_as_changes_and_replace_only_replacing_fields(checker, prior):
    outcome = checker.diff(URN, "gpu-0", prior, {**prior, "image": UNKNOWN})
    assert outcome.changes is True and outcome.replaces == ["image"]
    outcome = checker.diff(URN, "gpu-0", prior, {**prior, "label": UNKNOWN})
    assert outcome.changes is True and outcome.replaces == []


# --- Create, Read, Update, Delete ---------------------------------------------------------


def test_create_rents_the_cheapest_satisfying_offer_and_waits_for_running(provider, market):
    wanted = {
        "gpu_ram": {"gte": 24000},
        "verified": {"eq": True},
        "reliability": {"gte": 0.9},
        "disk_space": {"gte": 10},
        "type": "bid",
        "order": [["min_bid", "asc"]],
        "limit": 100,
    }
    offers = market.search(wanted)
    cheapest = min(offers, key=lambda o: o["min_bid"] + 10 * o["storage_cost"] / 720)
    id_, outputs, _ = create(provider, min_vram_gb=24)
    assert id_ == outputs["logical_id"] and id_.startswith("gpu-")
    rental = market.instance(outputs["contract_id"])
    assert rental["machine_id"] == cheapest["machine_id"]
    assert rental["actual_status"] == "running" and rental["is_bid"] is True
    assert rental["gpu_ram"] >= 24000
    assert outputs["status"] == "running" and outputs["gpu_name"] == cheapest["gpu_name"]
    assert outputs["ssh_command"] == f"ssh -p {rental['ssh_port']} root@{rental['ssh_host']}"
    assert outputs["price_per_hour"] == round(rental["dph_total"], 4)
    assert outputs["region"] == rental["geolocation"] and outputs["schema_version"] == 1
    assert outputs["image"] == "ubuntu:22.04" and outputs["label"] == "train-1"


def test_gpu_models_are_tried_in_order_of_preference(provider, market):
    cheapest = {"order": [["min_bid", "asc"]], "type": "bid", "limit": 1, "verified": {"eq": True}}
    (rtx_3090,) = market.search({**cheapest, "gpu_name": {"eq": "RTX 3090"}})
    (rtx_4090,) = market.search({**cheapest, "gpu_name": {"eq": "RTX 4090"}})
    assert rtx_3090["min_bid"] < rtx_4090["min_bid"]  # the preferred model is dearer
    _, outputs, _ = create(provider, gpu_models=["RTX 4090", "RTX 3090"])
    assert outputs["gpu_name"] == "RTX 4090"
    # No 4090 fits under this cap: the next model in the list is rented.
    _, outputs, _ = create(
        provider,
        logical_name="gpus/contract/capped",
        gpu_models=["RTX 4090", "RTX 3090"],
        max_price_per_hour=rtx_4090["min_bid"] * 0.9,
    )
    assert outputs["gpu_name"] == "RTX 3090"


def test_read_follows_the_logical_id_and_returns_the_inputs(provider, market):
    id_, outputs, inputs = create(provider)
    read = provider.read(URN, id_, outputs, inputs)
    assert read.id == id_ and read.outputs == outputs
    assert read.inputs == inputs
    # Drift made outside the stack shows in the outputs, so the next deploy corrects it.
    market.http.put(f"/api/v0/instances/{contract(outputs)}/", json={"state": "stopped"})
    market.http.put(
        f"/api/v0/instances/{contract(outputs)}/",
        json={"label": f"hand-edited | dumont:{id_}"},
    )
    drifted = provider.read(URN, id_, outputs, inputs)
    assert drifted.outputs["label"] == "hand-edited"
    assert drifted.outputs["desired_state"] == "stopped" and drifted.outputs["status"] == "stopped"
    assert drifted.inputs == inputs


def test_read_reports_an_outbid_rental_stopped_and_a_destroyed_one_gone(provider, market):
    id_, outputs, inputs = create(provider)
    market.fault(f"instances/{contract(outputs)}/outbid")
    read = provider.read(URN, id_, outputs, inputs)
    assert read.id == id_ and read.outputs["status"] == "stopped"
    assert read.outputs["status_message"].startswith("Stopped: outbid")
    assert read.outputs["desired_state"] == "running"
    market.destroy(outputs["contract_id"])
    assert provider.read(URN, id_, outputs, inputs).id == ""


def test_update_changes_label_state_and_bid_on_the_same_contract(provider, market):
    id_, outputs, _ = create(provider)
    contract = outputs["contract_id"]
    checked = provider.check(URN, outputs, news(label="renamed", desired_state="stopped"))
    updated = provider.update(URN, id_, outputs, checked.inputs)
    rental = market.instance(contract)
    assert rental["label"] == f"renamed | dumont:{id_}"
    assert rental["actual_status"] == "stopped" and rental["intended_status"] == "stopped"
    assert updated["contract_id"] == contract and updated["status"] == "stopped"
    assert updated["label"] == "renamed" and updated["logical_id"] == id_

    checked = provider.check(URN, updated, news(label="renamed", bid_price=0.9))
    again = provider.update(URN, id_, updated, checked.inputs)
    rental = market.instance(contract)
    assert rental["actual_status"] == "running" and rental["dph_base"] == pytest.approx(0.9)
    assert again["status"] == "running" and again["bid_price"] == 0.9
    assert [i["id"] for i in market.managed()] == [contract]


def test_update_of_a_rental_destroyed_outside_the_stack_says_to_refresh(provider, market):
    id_, outputs, _ = create(provider)
    market.destroy(outputs["contract_id"])
    checked = provider.check(URN, outputs, news(label="renamed"))
    with pytest.raises(
        ProviderOperationError, match="destroyed outside this stack.*pulumi refresh"
    ):
        provider.update(URN, id_, outputs, checked.inputs)


def test_delete_destroys_every_rental_of_the_gpu_and_is_idempotent(provider, market):
    id_, outputs, inputs = create(provider)
    other_id, other, _ = create(provider, logical_name="gpus/contract/other")
    provider.delete(URN, id_, outputs, inputs)
    assert market.instance(outputs["contract_id"]) is None
    assert [i["id"] for i in market.managed()] == [other["contract_id"]]
    provider.delete(URN, id_, outputs, inputs)  # already gone: nothing to do, no error
    assert provider.read(URN, id_, outputs, inputs).id == ""
    assert other_id != id_


def test_create_stopped_rents_without_starting(provider, market):
    _, outputs, _ = create(provider, desired_state="stopped")
    rental = market.instance(outputs["contract_id"])
    assert rental["actual_status"] == "stopped" and outputs["status"] == "stopped"


def test_create_adopts_an_existing_rental_when_asked(provider, market):
    (offer,) = market.search({"limit": 1, "order": [["dph_total", "asc"]]})
    rented = market.http.put(
        f"/api/v0/asks/{offer['id']}/", json={"client_id": "me", "image": "ubuntu:22.04"}
    ).json()["new_contract"]
    id_, outputs, inputs = create(provider, adopt_instance_id=rented)
    assert outputs["contract_id"] == rented
    assert market.instance(rented)["label"] == f"train-1 | dumont:{id_}"
    assert len(market.instances()) == 1
    provider.delete(URN, id_, outputs, inputs)
    assert market.instances() == []


def test_no_satisfying_offer_fails_create_and_rents_nothing(provider, market):
    with pytest.raises(
        ProviderOperationError, match="no offer satisfies.*raise max_price_per_hour"
    ):
        create(provider, max_price_per_hour=0.0001)
    assert market.instances() == []


def test_create_refuses_to_run_without_a_logical_name(provider, market):
    checked = provider.check(URN, {}, {"__provider": BLOB, "image": "ubuntu:22.04"})
    with pytest.raises(ProviderOperationError, match="logical_name is not set"):
        provider.create(URN, checked.inputs)
    assert market.instances() == []


def test_a_marketplace_that_stops_answering_fails_create_at_its_timeout_and_rents_nothing(
    provider, market
):
    # Renting works, then every look at the new rental hangs. The wait is bounded by
    # create_timeout_seconds (not a read timeout per poll), the error says the marketplace did
    # not answer (not that the GPU was still loading), and the rental is destroyed.
    market.arm(method="GET", path="/api/v0/instances/*", kind="hang", seconds=60, times=1000)
    with pytest.raises(ProviderOperationError) as failed:
        create(provider, create_timeout_seconds=2)
    message = str(failed.value)
    assert "the marketplace did not answer about contract" in message
    assert "within 2 s (create_timeout_seconds)" in message and "was destroyed" in message
    market.fault("faults", method="DELETE")
    assert market.instances() == []


def test_the_plan_replaces_a_rental_that_will_never_run_again_and_says_why(checker):
    outputs = {**ARGS, "status": "offline", "contract_id": 7.0}
    inputs = checker.check(URN, {}, news()).inputs
    planned = checker.diff(URN, "gpu-0123456789ab", outputs, inputs)
    assert planned.changes and planned.replaces == ["status"] and planned.delete_before_replace
    running = checker.diff(URN, "gpu-0123456789ab", {**outputs, "status": "running"}, inputs)
    assert running.changes is False


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (
            {"gpu_models": ["RTX 4090"], "regions": ["EU"], "max_price_per_hour": 0.001},
            r"the cheapest interruptible RTX 4090 x1 in EU costs \$[0-9.]+/h; "
            r"max_price_per_hour is 0.001: raise max_price_per_hour",
        ),
        (
            {"min_cuda": 99.0},
            r"min_cuda=99.0 excludes every offer; without it, .* costs \$[0-9.]+/h: "
            r"change min_cuda",
        ),
    ],
)
def test_when_nothing_fits_the_error_names_the_argument_that_excludes_everything(
    provider, market, arguments, said
):
    with pytest.raises(ProviderOperationError, match=said) as failed:
        create(provider, **arguments)
    assert "gpu_names" not in str(failed.value)  # the user's names, not the filter's
    assert market.instances() == []

"""A Pulumi program deployed, changed, refreshed and destroyed through the engine-protocol
driver, with the toy provider in a real provider process and its effects visible in the store."""

from __future__ import annotations

import pulumi
import pytest

from dumont_iac.testing import UNKNOWN, Deployment, DeploymentError, StackState
from dumont_iac.testing.toy import ToyRecord, ToyStore

API_KEY = "sk-live-0123456789abcdef"


class Stack:
    """A program with two records whose arguments each test changes between runs."""

    def __init__(self) -> None:
        self.first = {"name": "first", "size": 1}
        self.second = {"name": "second", "color": "green"}
        self.with_second = True
        self.second_opts: pulumi.ResourceOptions | None = None

    def __call__(self) -> None:
        first = ToyRecord("first", dict(self.first))
        pulumi.export("first_id", first.record_id)
        pulumi.export("first_token", first.access_token)
        if self.with_second:
            second = ToyRecord(
                "second", {**self.second, "labels": {"peer": first.record_id}}, self.second_opts
            )
            pulumi.export("second_size", second.size)


@pytest.fixture
def stack() -> Stack:
    return Stack()


@pytest.fixture
def deployment(deployment_factory, stack, toy_env) -> Deployment:
    return deployment_factory(
        stack,
        project="lifecycle",
        env=toy_env,
        secret_config={"dumont:apiKey": API_KEY},
    )


def ids(store: ToyStore) -> set[str]:
    return {r["id"] for r in store.records()}


def test_up_creates_every_resource_and_exports_outputs(deployment, toy_store):
    result = deployment.up()
    assert result.counts["created"] == 2 and not result.unchanged
    assert result.names("created") == ["first", "second"]
    state_ids = deployment.state.ids()
    assert ids(toy_store) == set(state_ids.values())
    assert result.outputs["first_id"] == state_ids["first"]
    assert result.outputs["second_size"] == 1
    assert result.secret_outputs == ["first_token"]
    second = toy_store.get(state_ids["second"])
    assert second["labels"] == {"peer": state_ids["first"]}


def test_up_again_without_change_touches_nothing(deployment, toy_store):
    deployment.up()
    before = toy_store.records()
    result = deployment.up()
    assert result.counts == {
        "created": 0,
        "updated": 0,
        "replaced": 0,
        "deleted": 0,
        "unchanged": 2,
    }
    assert not result.changed
    assert toy_store.records() == before  # same ids, revision not bumped


def test_an_in_place_change_updates_without_a_new_id(deployment, stack, toy_store):
    deployment.up()
    first_id = deployment.state.by_name("first").id
    stack.first["size"] = 5
    result = deployment.up()
    assert result.names("updated") == ["first"] and result.names("unchanged") == ["second"]
    assert deployment.state.by_name("first").id == first_id
    record = toy_store.get(first_id)
    assert record["size"] == 5 and record["revision"] == 2
    assert deployment.state.by_name("first").outputs["revision"] == 2


def test_a_replacing_change_creates_a_new_resource_and_deletes_the_old(
    deployment, stack, toy_store
):
    deployment.up()
    old_id = deployment.state.by_name("second").id
    stack.second["name"] = "second-renamed"
    result = deployment.up()
    assert result.names("replaced") == ["second"] and not result.deleted
    new_id = deployment.state.by_name("second").id
    assert new_id != old_id
    assert toy_store.get(old_id) is None
    assert toy_store.get(new_id)["name"] == "second-renamed"
    assert len(toy_store.records()) == 2


def test_delete_before_replace_option_leaves_one_record(deployment, stack, toy_store):
    stack.second_opts = pulumi.ResourceOptions(delete_before_replace=True)
    deployment.up()
    old_id = deployment.state.by_name("second").id
    stack.second["name"] = "again"
    result = deployment.up()
    assert result.names("replaced") == ["second"]
    assert toy_store.get(old_id) is None and len(toy_store.records()) == 2


def test_a_resource_removed_from_the_program_is_deleted(deployment, stack, toy_store):
    deployment.up()
    second_id = deployment.state.by_name("second").id
    stack.with_second = False
    result = deployment.up()
    assert result.names("deleted") == ["second"]
    assert toy_store.get(second_id) is None
    assert [r.name for r in deployment.state.resources.values()] == ["first"]
    assert "second_size" not in result.outputs


def test_preview_reports_the_plan_and_changes_nothing(deployment, stack, toy_store):
    plan = deployment.preview()
    assert plan.names("created") == ["first", "second"]
    assert plan.outputs["first_id"] == UNKNOWN
    assert toy_store.records() == [] and deployment.state.resources == {}

    deployment.up()
    before, state_before = toy_store.records(), deployment.state.to_dict()
    stack.first["size"] = 9
    stack.second["name"] = "renamed"
    plan = deployment.preview()
    # The second record's labels depend on an output of the first, unknown until it updates.
    assert plan.names("updated") == ["first"] and plan.names("replaced") == ["second"]
    assert toy_store.records() == before and deployment.state.to_dict() == state_before


def test_refresh_drops_a_resource_deleted_out_of_band(deployment, toy_store):
    deployment.up()
    toy_store.delete(deployment.state.by_name("first").id)
    result = deployment.refresh()
    assert result.names("deleted") == ["first"] and result.names("unchanged") == ["second"]
    assert [r.name for r in deployment.state.resources.values()] == ["second"]
    # The next up recreates it and updates the peer that referenced the old id.
    again = deployment.up()
    assert again.names("created") == ["first"] and again.names("updated") == ["second"]
    assert len(toy_store.records()) == 2


def test_refresh_takes_drift_and_the_next_up_restores_the_declared_values(deployment, toy_store):
    deployment.up()
    first_id = deployment.state.by_name("first").id
    toy_store.update(first_id, {"size": 42, "color": "red", "labels": {}})
    result = deployment.refresh()
    assert result.names("updated") == ["first"]
    assert deployment.state.by_name("first").outputs["size"] == 42
    assert deployment.state.by_name("first").inputs["size"] == 42
    restored = deployment.up()
    assert restored.names("updated") == ["first"]
    assert toy_store.get(first_id)["size"] == 1


def test_destroy_removes_everything(deployment, toy_store):
    deployment.up()
    result = deployment.destroy()
    assert result.names("deleted") == ["first", "second"]
    # The record that references the other goes first.
    assert [u.rsplit("::", 1)[-1] for u in result.deleted] == ["second", "first"]
    assert toy_store.records() == [] and deployment.state.resources == {}
    assert deployment.state.outputs == {}


def test_state_persists_to_its_file_and_a_new_driver_continues_from_it(
    deployment, stack, toy_env, toy_store
):
    deployment.up()
    assert deployment.state_file is not None
    loaded = StackState.load(deployment.state_file)
    assert loaded.to_dict() == deployment.state.to_dict()
    successor = Deployment(
        stack, project="lifecycle", env=toy_env, state_file=deployment.state_file
    )
    assert not successor.up().changed
    assert successor.destroy().counts["deleted"] == 2 and toy_store.records() == []


def test_no_api_key_reaches_state_outputs_or_logs(deployment, stack):
    deployment.up()
    stack.first["size"] = 3
    deployment.up()
    deployment.refresh()
    assert not deployment.state.contains_text(API_KEY)
    assert API_KEY not in repr(deployment.up().outputs)
    assert all(API_KEY not in log for log in deployment.provider_logs)
    assert deployment.provider_logs  # one log per run, kept for such checks


def test_secret_outputs_are_marked_in_state(deployment):
    deployment.up()
    first = deployment.state.by_name("first")
    assert first.secret_outputs == ["access_token"]
    assert first.outputs["access_token"].startswith("tok-")
    assert deployment.state.secret_outputs == ["first_token"]


def test_a_failed_create_keeps_what_succeeded_and_a_rerun_finishes(deployment, stack, toy_store):
    def failing_program() -> None:
        first = ToyRecord("first", dict(stack.first))
        ToyRecord("second", {**stack.second, "labels": {"toy/fail": "create"}})
        pulumi.export("first_id", first.record_id)

    failing = Deployment(
        failing_program,
        project="lifecycle",
        env=deployment.env,
        state_file=deployment.state_file,
    )
    with pytest.raises(DeploymentError) as caught:
        failing.up()
    assert "create refused because the label toy/fail=create" in str(caught.value)
    assert caught.value.result.names("created") == ["first"]
    assert [r.name for r in failing.state.resources.values()] == ["first"]
    # The original program (no failure label) creates only the missing record.
    result = Deployment(
        stack, project="lifecycle", env=deployment.env, state_file=deployment.state_file
    ).up()
    assert result.names("created") == ["second"] and result.names("unchanged") == ["first"]
    assert len(toy_store.records()) == 2


def test_arguments_known_only_at_deploy_time_are_checked_by_the_provider(
    deployment_factory, toy_env
):
    def program() -> None:
        ToyRecord("late", {"name": "late", "size": pulumi.Output.from_input(0)})

    with pytest.raises(DeploymentError) as caught:
        deployment_factory(program, env=toy_env).up()
    assert str(caught.value) == (
        "up failed: invalid arguments for ToyRecord 'late':\n"
        "  size: Input should be greater than or equal to 1; got 0"
    )


def test_int_outputs_reach_the_program_as_ints(deployment_factory, toy_env):
    # The engine sends every number as a float; the program sees them typed as declared.
    def program() -> None:
        record = ToyRecord("typed", {"name": "typed", "size": 3})
        for name in ("size", "revision", "schema_version", "name"):
            pulumi.export(name, getattr(record, name).apply(repr))

    outputs = deployment_factory(program, env=toy_env).up().outputs
    assert outputs == {"size": "3", "revision": "1", "schema_version": "2", "name": "'typed'"}

"""The state a stack deployed with every earlier schema version holds is taken over by the
current provider: a refresh reads it with no change, and a destroy deletes it with nothing
left billing or registered. One run per resource of the registry and per recorded version
(``fixtures/state/<resource>-v<version>.json``).

A recorded state names rentals, VMs and budgets of the world it was recorded in. Each run
deploys the recorded arguments into a fresh world first, then gives the recorded state the ids
of what was deployed (``identity``): the rest, the arguments as the old version stored them and
its schema version among them, is the recorded state's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac import schema
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec
from dumont_iac.control_plane.store.documents import SNAPSHOT_POLICY
from dumont_iac.registry import RESOURCES
from dumont_iac.testing.engine_process import PROVIDER_KEY
from dumont_iac.testing.leftovers import leftovers
from tests.budgets.helpers import rent

from .frozen import STATE, world_provider


def _rent_the_gpu(world: Any, arguments: dict[str, Any]) -> dict[str, list[Any]]:
    # The GPU the standby stands by for: without it, the control plane would fail it over at
    # once and rent the GPU again itself.
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    return {"rentals": [rent(market, arguments["gpu_id"]).id]}


def _register_snapshot_policy(world: Any, arguments: dict[str, Any]) -> dict[str, list[Any]]:
    client = ControlPlaneClient(world.control_plane.url, world.control_plane_key)
    client.put_snapshot_policy(arguments["gpu_id"], SnapshotPolicySpec(bucket="recorded"))
    return {SNAPSHOT_POLICY: [arguments["gpu_id"]]}


def _nothing(*_: Any) -> dict[str, list[Any]]:
    return {}


@dataclass(frozen=True)
class Deployed:
    """How one resource's recorded state is brought back to life in a world."""

    identity: tuple[str, ...] = ()
    """Outputs naming what the deploy made: the recorded ones are replaced by the live ones."""
    needs: Callable[[Any, dict[str, Any]], dict[str, list[Any]]] = _nothing
    """Makes what the stack held besides the resource (not the resource's to delete)."""
    kept: Callable[[dict[str, Any]], dict[str, list[Any]]] = _nothing
    """What deleting the resource leaves on purpose, from the recorded arguments."""


DEPLOYED = {
    "gpu_instance": Deployed(identity=("logical_id", "contract_id", "machine_id")),
    "gpu_fleet": Deployed(identity=("logical_id", "members")),
    "warm_pool": Deployed(
        identity=("logical_id", "contract_id", "machine_id", "volume_id", "standby_contract_ids")
    ),
    "cpu_standby": Deployed(identity=("logical_id", "ec2_instance_id"), needs=_rent_the_gpu),
    "failover_policy": Deployed(),
    # Without force_destroy the bucket and its snapshots outlive the policy.
    "snapshot_policy": Deployed(kept=lambda arguments: {"buckets": [arguments["bucket"]]}),
    "hibernation_policy": Deployed(needs=_register_snapshot_policy),
    "budget": Deployed(identity=("budget_id",)),
}
RECORDED = [
    pytest.param(entry, version, id=f"{entry.fixture}-v{version}")
    for entry in RESOURCES
    for version in range(1, entry.model.schema_version + 1)
]


@pytest.mark.parametrize(("entry", "version"), RECORDED)
def test_a_recorded_state_refreshes_with_no_change_and_deletes_with_nothing_left(
    entry, version, provider_process_factory, world
):
    recorded = json.loads((STATE / f"{entry.fixture}-v{version}.json").read_text())
    deployed = DEPLOYED[entry.fixture]
    arguments = recorded["migrated_inputs"]
    process = world_provider(provider_process_factory, world)
    besides = deployed.needs(world, arguments)
    blob = serialize_provider(entry.provider())
    urn = f"urn:pulumi:ci::{process.project}::{entry.type_token}::recorded"
    inputs = process.check(urn, {}, {**arguments, PROVIDER_KEY: blob}).inputs
    id_, live = process.create(urn, inputs)
    state = {**recorded["outputs"], **{k: live[k] for k in deployed.identity}, PROVIDER_KEY: blob}
    assert state[schema.SCHEMA_VERSION_KEY] == version

    refreshed = process.read(urn, id_, state, inputs)
    assert refreshed.id == id_
    assert refreshed.outputs[schema.SCHEMA_VERSION_KEY] == entry.model.schema_version
    # Every argument keeps what the old version stored; those added since, their defaults.
    stored = schema.arguments_of(entry.model, schema.migrate(entry.model, state))
    expected = {**schema.arguments_of(entry.model, inputs), **stored}
    assert schema.arguments_of(entry.model, refreshed.outputs) == expected
    assert process.diff(urn, id_, state, inputs).changes is False
    assert process.diff(urn, id_, refreshed.outputs, inputs).changes is False

    process.delete(urn, id_, state)
    assert process.read(urn, id_, state, inputs).id == ""
    assert leftovers(world) == {**besides, **deployed.kept(arguments)}

"""GpuFleet's declaration: the constraints it shares with GpuInstance, its own arguments'
rules, member identities, the scale-down order and the diff that notices missing members."""

from __future__ import annotations

import pytest

from dumont_iac import GpuFleetArgs, GpuInstanceArgs
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.models.gpu_constraints import GpuConstraints
from dumont_iac.provider.fleet_members import free_indices, held_members, member_args
from dumont_iac.provider.gpu_fleet import GpuFleetProvider, _scale_down_order, fleet_id_for
from dumont_iac.provider.gpu_instance import logical_id_of
from dumont_iac.provider.labels import member_index, rental_label
from dumont_iac.schema import check, fields_of, validate_arguments

BASE = {"image": "ubuntu:22.04", "count": 3, "logical_name": "proj/dev/workers"}


def failures(**values):
    with pytest.raises(InvalidArgumentsError) as caught:
        validate_arguments(GpuFleetArgs, {**BASE, **values}, "GpuFleet 'workers'")
    return str(caught.value)


def test_a_fleet_takes_every_constraint_of_a_gpu_instance_with_the_same_policy():
    shared = fields_of(GpuConstraints).arguments
    assert shared and shared.items() <= fields_of(GpuFleetArgs).arguments.items()
    assert shared.items() <= fields_of(GpuInstanceArgs).arguments.items()
    for name in shared:
        fleet, gpu = GpuFleetArgs.model_fields[name], GpuInstanceArgs.model_fields[name]
        assert fleet.description == gpu.description and fleet.default == gpu.default, name


def test_bad_fleet_arguments_name_the_field_the_value_and_what_is_allowed():
    assert "count: Input should be less than or equal to 64; got 65" in failures(count=65)
    assert "min_count: Value error, min_count must be at most count (3); got 4" in failures(
        min_count=4
    )
    assert "spread_regions needs regions to spread over" in failures(spread_regions=True)
    message = failures(scale_down="cheapest")
    assert "scale_down: Input should be 'newest', 'oldest' or 'most_expensive'" in message
    assert "bid_price: Value error, a bid applies only when interruptible is true" in failures(
        interruptible=False, bid_price=0.3
    )
    missing = check(GpuFleetArgs, {}, {"image": "x"}).failures
    assert [(f.property, f.reason.split(" (")[0]) for f in missing] == [("count", "is required")]


def test_member_ids_derive_from_the_fleet_id_and_ride_in_the_label():
    fleet_id = fleet_id_for(GpuFleetArgs(**BASE))
    assert fleet_id == fleet_id_for(GpuFleetArgs(**{**BASE, "count": 5, "label": "x"}))
    assert fleet_id != fleet_id_for(GpuFleetArgs(**{**BASE, "image": "other"}))
    label = rental_label(f"{fleet_id}-12", "workers")
    assert label == f"workers | dumont:{fleet_id}-12"
    assert logical_id_of(label) == f"{fleet_id}-12"  # what testing.Market looks for
    assert member_index(fleet_id, logical_id_of(label)) == 12
    assert member_index(fleet_id, "gpu-0123456789ab") is None
    assert member_index(fleet_id, f"{fleet_id}-x") is None


def rental(contract: int, label: str | None, price: float = 0.3) -> Instance:
    return Instance.model_validate({"id": contract, "label": label, "dph_total": price})


def test_members_found_by_label_and_the_order_they_leave_in():
    fleet_id = "fleet-0123456789ab"
    listed = [
        rental(10, f"dumont:{fleet_id}-0", 0.5),
        rental(11, f"dumont:{fleet_id}-1", 0.2),
        rental(12, f"x | dumont:{fleet_id}-2", 0.5),
        rental(13, f"dumont:{fleet_id}-1", 0.2),  # a newer contract of member 1
        rental(14, "dumont:fleet-ba9876543210-3"),  # another fleet's
        rental(15, "hand made"),
    ]
    held = held_members(listed, fleet_id)
    assert {i: r.id for i, r in held.items()} == {0: 10, 1: 13, 2: 12}
    assert _scale_down_order(held, "newest") == [1, 2, 0]
    assert _scale_down_order(held, "oldest") == [0, 2, 1]
    assert _scale_down_order(held, "most_expensive") == [2, 0, 1]
    assert free_indices(held, 2) == [3, 4] and free_indices({0, 2}, 2) == [1, 3]


def test_spread_members_each_get_one_region_in_turn():
    args = GpuFleetArgs(**BASE, regions=["EU", "NA", "AS"], spread_regions=True)
    assert [member_args(args, i).regions for i in range(4)] == [["EU"], ["NA"], ["AS"], ["EU"]]
    together = GpuFleetArgs(**BASE, regions=["EU", "NA"])
    assert member_args(together, 1).regions == ["EU", "NA"]


def test_diff_updates_a_fleet_missing_members_without_replacing_it():
    provider = GpuFleetProvider()
    inputs = check(GpuFleetArgs, {}, BASE).inputs
    member = {"index": 0, "contract_id": 1, "status": "running"}
    full = {**inputs, "members": [member, {**member, "index": 1}, {**member, "index": 2}]}
    assert not provider.diff("fleet", full, inputs).changes
    short = {**inputs, "members": [member]}
    result = provider.diff("fleet", short, inputs)
    assert result.changes and result.replaces == [] and result.delete_before_replace
    dead = {**full, "members": [*full["members"][:2], {**member, "status": "offline"}]}
    assert provider.diff("fleet", dead, inputs).changes
    replaced = provider.diff("fleet", short, {**inputs, "image": "other"})
    assert replaced.replaces == ["image"]

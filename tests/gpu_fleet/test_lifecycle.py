"""GpuFleets deployed, scaled, changed, refreshed and destroyed through the engine-protocol
driver, every effect checked on the sandbox: one rental per declared member, no more."""

from __future__ import annotations

import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.clients.regions import CONTINENTS
from dumont_iac.testing.market import assert_nothing_bills, assert_rentals_match

from .helpers import contracts, fleet, members, set_config


def test_a_fleet_rents_its_members_on_distinct_machines_and_a_second_up_touches_nothing(
    stack_factory, market
):
    stack = stack_factory(fleet(count=3, label="workers"), project="fleet")
    first = stack.up()
    assert first.names("created") == ["workers"]
    fleet_id = stack.state.by_name("workers").id
    assert fleet_id.startswith("fleet-")
    rentals = sorted(market.managed(), key=lambda i: i["label"])
    assert [r["label"] for r in rentals] == [f"workers | dumont:{fleet_id}-{n}" for n in range(3)]
    assert all(r["actual_status"] == "running" and r["gpu_name"] == "RTX 3090" for r in rentals)
    assert len({r["machine_id"] for r in rentals}) == 3  # one_per_machine by default
    outputs = stack.state.by_name("workers").outputs
    assert [m["index"] for m in members(stack)] == [0, 1, 2]
    assert outputs["running_count"] == 3 and outputs["missing_members"] == []
    assert outputs["total_price_per_hour"] == pytest.approx(
        sum(round(r["dph_total"], 4) for r in rentals), abs=1e-3
    )
    by_id = {r["id"]: r for r in rentals}
    for member in members(stack):
        rental = by_id[member["contract_id"]]
        assert member["ssh_command"] == f"ssh -p {rental['ssh_port']} root@{rental['ssh_host']}"
        assert member["logical_id"] == f"{fleet_id}-{int(member['index'])}"
    assert first.outputs["running"] == 3 and len(first.outputs["ssh"]) == 3
    assert_rentals_match(market, stack)

    again = stack.up()
    assert not again.changed and again.names("unchanged") == ["workers"]
    assert sorted(i["id"] for i in market.managed()) == sorted(by_id)


def test_count_changes_add_and_remove_members_in_place_by_the_chosen_rule(stack_factory, market):
    stack = stack_factory(fleet(count=2), project="fleet")
    stack.up()
    fleet_id = stack.state.by_name("workers").id
    before = contracts(stack)

    set_config(stack, count=4)
    grown = stack.up()
    assert grown.names("updated") == ["workers"]
    assert stack.state.by_name("workers").id == fleet_id
    held = contracts(stack)
    assert sorted(held) == [0, 1, 2, 3] and {i: held[i] for i in before} == before
    assert_rentals_match(market, stack)

    set_config(stack, count=3, scale_down="oldest")
    stack.up()
    oldest = min(held, key=held.__getitem__)
    assert contracts(stack) == {i: c for i, c in held.items() if i != oldest}
    assert_rentals_match(market, stack)

    held = contracts(stack)
    price = {int(m["index"]): m["price_per_hour"] for m in members(stack)}
    set_config(stack, count=2, scale_down="most_expensive")
    stack.up()
    dearest = max(held, key=lambda i: (price[i], held[i]))
    assert contracts(stack) == {i: c for i, c in held.items() if i != dearest}

    held = contracts(stack)
    set_config(stack, count=1, scale_down="newest")
    stack.up()
    newest = max(held, key=held.__getitem__)
    assert contracts(stack) == {i: c for i, c in held.items() if i != newest}
    assert_rentals_match(market, stack)


def test_a_label_change_relabels_every_member_in_place(stack_factory, market):
    stack = stack_factory(fleet(count=2, label="before"), project="fleet")
    stack.up()
    fleet_id, held = stack.state.by_name("workers").id, contracts(stack)
    set_config(stack, label="after")
    assert stack.up().names("updated") == ["workers"]
    assert contracts(stack) == held
    labels = {i["id"]: i["label"] for i in market.managed()}
    assert labels == {c: f"after | dumont:{fleet_id}-{i}" for i, c in held.items()}
    assert_rentals_match(market, stack)


def test_an_image_change_replaces_the_fleet_old_members_first(stack_factory, market):
    stack = stack_factory(fleet(count=2), project="fleet")
    stack.up()
    old_id, old = stack.state.by_name("workers").id, set(contracts(stack).values())
    set_config(stack, image="ubuntu:24.04")
    result = stack.up()
    assert result.names("replaced") == ["workers"]
    new_id = stack.state.by_name("workers").id
    assert new_id != old_id and not old & set(contracts(stack).values())
    assert {r["image_uuid"] for r in market.managed()} == {"ubuntu:24.04"}
    assert_rentals_match(market, stack)


def test_a_member_destroyed_outside_is_seen_by_refresh_and_rented_again_by_up(
    stack_factory, market
):
    stack = stack_factory(fleet(count=3), project="fleet")
    stack.up()
    gone = contracts(stack)[1]
    market.destroy(gone)
    refreshed = stack.refresh()
    assert refreshed.names("updated") == ["workers"]
    outputs = stack.state.by_name("workers").outputs
    assert sorted(contracts(stack)) == [0, 2] and outputs["running_count"] == 2
    assert [m["index"] for m in outputs["missing_members"]] == [1]
    again = stack.up()
    assert again.names("updated") == ["workers"]
    assert sorted(contracts(stack)) == [0, 1, 2] and gone not in contracts(stack).values()
    assert_rentals_match(market, stack)


def test_members_spread_over_the_listed_regions_in_turn(stack_factory, market):
    stack = stack_factory(
        fleet(count=4, regions=["EU", "NA"], spread_regions=True, gpu_models=[]), project="fleet"
    )
    stack.up()
    for member in members(stack):
        country = member["region"].rsplit(", ", 1)[1]
        assert country in CONTINENTS[["EU", "NA"][int(member["index"]) % 2]], member
    assert_rentals_match(market, stack)


def test_destroy_leaves_nothing_and_spend_flat_duplicates_of_a_member_included(
    stack_factory, gpu_sandbox, market
):
    stack = stack_factory(fleet(count=3), project="fleet")
    stack.up()
    assert len(market.managed()) == 3
    # A second contract carrying member 0's label (left by some other tool) bills too.
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    label = f"dumont:{stack.state.by_name('workers').id}-0"
    used = {i["machine_id"] for i in market.instances()}
    offer = next(o for o in client.search_offers(OfferFilter()) if o.machine_id not in used)
    client.rent(offer.id, RentRequest(image="ubuntu:22.04"), label=label)
    assert len(market.managed()) == 4
    result = stack.destroy()
    assert result.names("deleted") == ["workers"] and stack.state.resources == {}
    assert_nothing_bills(market)

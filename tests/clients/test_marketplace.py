"""The marketplace client against the sandbox: typed calls, and rentals that survive faults."""

from __future__ import annotations

import time

import pytest

from dumont_iac import errors
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest, VolumeAttachment
from dumont_iac.clients.marketplace.offer_filter import OfferFilter

IMAGE = RentRequest(image="pytorch/pytorch:latest", ports=(8000,))
ASKS = "/api/v0/asks/*"


def test_search_rent_manage_and_destroy(client):
    offers = client.search_offers(OfferFilter(gpu_names=["RTX 4090"], limit=5))
    assert offers and all(o.gpu_name == "RTX 4090" for o in offers)
    rental = client.rent(offers[0].id, IMAGE, label="lifecycle")
    assert not rental.recovered and rental.offer_id == offers[0].id

    instance = client.instance(rental.instance_id)
    assert instance is not None and instance.label == "lifecycle"
    assert instance.gpu_name == "RTX 4090" and instance.intended_status == "running"
    assert [i.id for i in client.find_by_label("lifecycle")] == [rental.instance_id]

    client.stop(rental.instance_id)
    assert client.instance(rental.instance_id).intended_status == "stopped"
    client.start(rental.instance_id)
    client.set_label(rental.instance_id, "renamed")
    assert client.find_by_label("lifecycle") == []
    assert client.instance(rental.instance_id).label == "renamed"

    client.destroy(rental.instance_id)
    assert client.instance(rental.instance_id) is None
    client.destroy(rental.instance_id)  # already gone counts as done


def test_an_interruptible_rental_and_its_bid(client):
    offer = client.search_offers(OfferFilter(interruptible=True, limit=1))[0]
    bid = round(offer.min_bid * 1.2, 4)
    rental = client.rent(offer.id, IMAGE.model_copy(update={"bid_price": bid}), label="spot")
    instance = client.instance(rental.instance_id)
    assert instance.is_interruptible and instance.dph_base == pytest.approx(bid)
    client.change_bid(rental.instance_id, round(bid * 1.5, 4))
    assert client.instance(rental.instance_id).dph_base == pytest.approx(round(bid * 1.5, 4))


def test_a_taken_offer_is_offer_unavailable_and_disappears_from_cached_searches(client, probe):
    wanted = OfferFilter(limit=3)
    first = client.search_offers(wanted)[0]
    probe.take(first.id)
    with pytest.raises(errors.OfferUnavailable) as caught:
        client.rent(first.id, IMAGE, label="too-late")
    assert caught.value.offer_id == first.id
    assert str(caught.value).startswith(f"Offer {first.id} is no longer available")
    assert first.id not in [o.id for o in client.search_offers(wanted)]
    assert probe.labelled("too-late") == []


def test_cached_listings_are_shared_and_dropped_by_the_process_own_writes(client, probe, http_log):
    offer_id, other_id = probe.cheap_offer_ids(2)
    assert client.instances(cached=True) == []
    rental = client.rent(offer_id, IMAGE, label="mine")
    # The rent dropped the listing: a cached read sees it at once...
    assert [i.id for i in client.instances(cached=True)] == [rental.instance_id]
    assert [i.id for i in client.instances(cached=True)] == [rental.instance_id]
    lists = [r for r in http_log.records if r.method == "GET" and r.path.endswith("/instances/")]
    assert len(lists) == 2  # ...and the reads after it share one listing
    # A change made elsewhere is seen by a fresh listing, not a cached one (until it expires).
    probe.destroy(rental.instance_id)
    assert [i.id for i in client.instances(cached=True)] == [rental.instance_id]
    assert client.instances() == []
    second = client.rent(other_id, IMAGE, label="second")
    client.set_label(second.instance_id, "renamed")
    assert [i.label for i in client.instances(cached=True)] == ["renamed"]
    client.destroy(second.instance_id)
    assert client.instances(cached=True) == []


def test_the_account_balance(client):
    user = client.user()
    assert user.id > 0 and user.credit > 0


def test_volumes_search_create_attach_list_and_delete(client):
    volume_offer = client.search_volume_offers(min_size_gb=50, limit=3)[0]
    created = client.create_volume(volume_offer.id, 20, name="weights")
    assert created.volume_id is not None and created.name == f"V.{created.volume_id}"
    volume = next(v for v in client.volumes() if v.id == created.volume_id)
    assert volume.machine_id == volume_offer.machine_id and volume.size_gb == 20

    # A volume attaches only to an instance on its machine.
    offer = client.search_offers(OfferFilter(machine_id=volume.machine_id, verified_only=False))
    attach = VolumeAttachment(volume_id=created.volume_id, mount_path="/weights")
    rental = client.rent(offer[0].id, IMAGE.model_copy(update={"volume": attach}), label="vol")
    with pytest.raises(errors.ApiError):
        client.delete_volume(created.volume_id)  # refused while attached
    client.destroy(rental.instance_id)
    client.delete_volume(created.volume_id)
    client.delete_volume(created.volume_id)  # already gone counts as done
    assert all(v.id != created.volume_id for v in client.volumes())


# --- renting through faults: never twice -----------------------------------------------------


def test_a_dropped_rent_response_is_recovered_by_label_without_a_second_rental(
    client, probe, http_log
):
    offer_id = probe.cheap_offer_ids(1)[0]
    probe.arm(method="PUT", path=ASKS, kind="drop")
    rental = client.rent(offer_id, IMAGE, label="dropped-once")
    assert rental.recovered
    held = probe.labelled("dropped-once")
    assert [row["id"] for row in held] == [rental.instance_id]
    assert len(http_log.calls("PUT", "/api/v0/asks/")) == 1  # the rent was not sent again
    assert len(probe.instances()) == 1


def test_a_503_on_rent_is_retried_only_after_the_label_lookup_finds_nothing(
    client, probe, http_log
):
    offer_id = probe.cheap_offer_ids(1)[0]
    probe.arm(method="PUT", path=ASKS, kind="error", status=503)
    rental = client.rent(offer_id, IMAGE, label="after-503")
    assert not rental.recovered
    assert [row["id"] for row in probe.labelled("after-503")] == [rental.instance_id]
    order = [(r.method, r.path.split("/")[3], r.status) for r in http_log.records]
    assert order == [("PUT", "asks", 503), ("GET", "instances", 200), ("PUT", "asks", 200)]


def test_a_rent_that_hangs_past_the_timeout_rents_once(sandbox, probe):
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0, timeout=0.4)
    offer_id = probe.cheap_offer_ids(1)[0]
    probe.arm(method="PUT", path=ASKS, kind="hang", seconds=1.0)
    rental = client.rent(offer_id, IMAGE, label="hung")
    assert [row["id"] for row in probe.labelled("hung")] == [rental.instance_id]
    # The hung request goes on after the client gave up; it must not have rented too.
    time.sleep(1.0)
    assert [row["id"] for row in probe.labelled("hung")] == [rental.instance_id]
    assert len(probe.instances()) == 1


def test_a_rent_whose_answer_is_lost_every_time_gives_up_with_no_response(client, probe):
    offer_id = probe.cheap_offer_ids(1)[0]
    # The rent fails before reaching the store each time, so nothing is rented...
    probe.arm(method="PUT", path=ASKS, kind="error", status=504, times=5)
    with pytest.raises(errors.ServerError):
        client.rent(offer_id, IMAGE, label="never")
    assert probe.labelled("never") == []
    assert probe.armed()[0]["remaining"] == 2  # three attempts, each after a label lookup


def test_a_dropped_volume_answer_is_recovered_by_name_without_a_second_volume(
    client, probe, http_log
):
    volume_offer = client.search_volume_offers(min_size_gb=50, limit=1)[0]
    probe.arm(method="PUT", path="/api/v0/volumes", kind="drop")
    created = client.create_volume(volume_offer.id, 20, name="dropped-once")
    assert created.recovered
    assert [v.id for v in client.volumes()] == [created.volume_id]
    assert len(http_log.calls("PUT", "/api/v0/volumes/")) == 1  # the create was not sent again


def test_a_503_on_a_named_volume_is_created_again_after_the_name_lookup_finds_nothing(
    client, probe
):
    volume_offer = client.search_volume_offers(min_size_gb=50, limit=1)[0]
    probe.arm(method="PUT", path="/api/v0/volumes", kind="error", status=503)
    created = client.create_volume(volume_offer.id, 20, name="after-503")
    assert not created.recovered
    assert [v.id for v in client.volumes()] == [created.volume_id]


def test_a_label_over_256_characters_is_refused_before_any_call(client, http_log):
    with pytest.raises(ValueError, match="label must be 1 to 256 characters"):
        client.rent(1, IMAGE, label="x" * 257)
    assert http_log.records == []

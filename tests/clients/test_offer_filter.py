"""Typed offer filters: what they send to the marketplace, and what they accept back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dumont_iac.clients.marketplace.models import Offer
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.clients.regions import CONTINENTS


def offer(**fields) -> Offer:
    row = {
        "id": 1,
        "num_gpus": 1,
        "gpu_name": "RTX 4090",
        "gpu_ram": 24564,
        "dph_base": 0.40,
        "dph_total": 0.42,
        "min_bid": 0.20,
        "storage_cost": 0.10,
        "reliability": 0.99,
        "verified": True,
        "rentable": True,
        "geolocation": "Frankfurt, DE",
        "cuda_max_good": 12.4,
        "disk_space": 500.0,
    }
    row.update(fields)
    return Offer.model_validate(row)


def test_vram_is_sent_in_mb_as_the_official_client_does():
    q = OfferFilter(min_vram_gb=24, min_total_vram_gb=160).to_query()
    assert q["gpu_ram"] == {"gte": 24000}
    assert q["gpu_total_ram"] == {"gte": 160000}


def test_one_gpu_model_is_eq_several_are_in_and_underscores_read_as_spaces():
    assert OfferFilter(gpu_names="RTX_4090").to_query()["gpu_name"] == {"eq": "RTX 4090"}
    several = OfferFilter(gpu_names=["RTX 4090", "A100 SXM4"]).to_query()["gpu_name"]
    assert several == {"in": ["A100 SXM4", "RTX 4090"]}


def test_continents_are_expanded_to_countries_and_countries_pass_through():
    q = OfferFilter(regions=["eu", "JP"]).to_query()
    assert set(q["geolocation"]["in"]) == CONTINENTS["EU"] | {"JP"}


def test_an_unknown_region_names_the_field_the_value_and_what_is_allowed():
    with pytest.raises(ValidationError) as caught:
        OfferFilter(regions=["Europe"])
    text = str(caught.value)
    assert "regions" in text and "'EUROPE'" in text and "EU" in text and "country code" in text


def test_on_demand_orders_by_total_price_and_interruptible_by_minimum_bid():
    on_demand = OfferFilter(max_price_per_hour=0.5).to_query()
    assert on_demand["type"] == "on-demand"
    assert on_demand["order"] == [["dph_total", "asc"]]
    assert on_demand["dph_total"] == {"lte": 0.5}
    bid = OfferFilter(interruptible=True, max_price_per_hour=0.5).to_query()
    assert bid["type"] == "bid"
    assert bid["order"] == [["min_bid", "asc"]]
    assert bid["min_bid"] == {"lte": 0.5}


def test_defaults_ask_for_verified_rentable_offers_priced_with_10_gb_of_disk():
    q = OfferFilter().to_query()
    assert q["verified"] == {"eq": True} and q["rentable"] == {"eq": True}
    assert q["allocated_storage"] == 10.0 and q["limit"] == 50
    assert "verified" not in OfferFilter(verified_only=False).to_query()


def test_price_includes_the_disk_at_the_monthly_storage_cost():
    o = offer(dph_base=0.40, min_bid=0.20, storage_cost=0.72)
    assert OfferFilter(disk_gb=10).price(o) == pytest.approx(0.40 + 10 * 0.72 / 720)
    assert OfferFilter(disk_gb=10, interruptible=True).price(o) == pytest.approx(0.21)


@pytest.mark.parametrize(
    ("wanted", "row"),
    [
        (OfferFilter(gpu_names=["A100 SXM4"]), {}),
        (OfferFilter(num_gpus=2), {}),
        (OfferFilter(min_vram_gb=40), {}),
        (OfferFilter(max_price_per_hour=0.3), {}),
        (OfferFilter(regions=["NA"]), {}),
        (OfferFilter(regions=["EU"]), {"geolocation": None}),
        (OfferFilter(min_reliability=0.995), {}),
        (OfferFilter(), {"verified": False}),
        (OfferFilter(min_cuda=12.6), {}),
        (OfferFilter(min_disk_gb=1000), {}),
        (OfferFilter(), {"rentable": False}),
    ],
)
def test_offers_the_marketplace_should_not_have_returned_are_dropped(wanted, row):
    assert not wanted.matches(offer(**row))


def test_a_matching_offer_is_kept():
    wanted = OfferFilter(
        gpu_names=["RTX 4090"], min_vram_gb=24, max_price_per_hour=0.5, regions=["EU"],
        min_reliability=0.9, min_cuda=12.1, min_disk_gb=100,
    )  # fmt: skip
    assert wanted.matches(offer())


def test_price_order_is_cheapest_first_whatever_order_the_rows_came_in():
    rows = [offer(id=i, dph_base=p) for i, p in [(1, 0.9), (2, 0.1), (3, 0.5)]]
    assert [o.id for o in OfferFilter().sort(rows)] == [2, 3, 1]


def test_contradicting_gpu_counts_are_refused():
    with pytest.raises(ValidationError, match="num_gpus 4 is more than max_num_gpus 2"):
        OfferFilter(num_gpus=4, max_num_gpus=2)

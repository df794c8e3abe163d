"""The offer query language, run against a real store: every operator, the client's value
spellings, ordering, limits, bid and storage pricing, and the errors for bad queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from vastai.api.query import offers_alias, offers_fields, offers_mult, parse_query

from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.marketplace.errors import InvalidArgs
from dumont_iac.sandbox.marketplace.query import OFFERS, compile_row_filter, compile_search
from dumont_iac.sandbox.marketplace.store import Store
from dumont_iac.sandbox.settings import SandboxSettings

NOW = 1_767_225_600.0
ALL = 100_000


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    store = Store(SandboxSettings(machines=150, seed=11), Clock(start=NOW))
    yield store
    store.close()


def search(store: Store, **query: object) -> list[dict]:
    return store.search_offers({"limit": ALL, **query})


def ids(offers: list[dict]) -> list[int]:
    return [o["id"] for o in offers]


def test_default_search_answers_64_offers_by_score(store: Store) -> None:
    offers = store.search_offers({})
    assert len(offers) == 64
    scores = [o["score"] for o in offers]
    assert scores == sorted(scores, reverse=True)


def test_rentable_true_applies_unless_asked_otherwise(store: Store) -> None:
    everything = search(store)
    assert everything and all(o["rentable"] for o in everything)
    unrentable = search(store, rentable={"eq": False})
    assert unrentable and not any(o["rentable"] for o in unrentable)


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ("eq", lambda n: n == 2),
        ("neq", lambda n: n != 2),
        ("gt", lambda n: n > 2),
        ("gte", lambda n: n >= 2),
        ("lt", lambda n: n < 2),
        ("lte", lambda n: n <= 2),
    ],
)
def test_each_comparison_operator(store: Store, op: str, check) -> None:
    offers = search(store, num_gpus={op: 2})
    assert offers
    assert all(check(o["num_gpus"]) for o in offers)
    others = [o for o in search(store) if o["id"] not in set(ids(offers))]
    assert not any(check(o["num_gpus"]) for o in others)


def test_in_and_notin(store: Store) -> None:
    inside = search(store, num_gpus={"in": [1, 8]})
    outside = search(store, num_gpus={"notin": [1, 8]})
    assert {o["num_gpus"] for o in inside} == {1, 8}
    assert {o["num_gpus"] for o in outside} == {2, 4}
    assert len(inside) + len(outside) == len(search(store))
    assert search(store, num_gpus={"in": []}) == []


def test_numeric_strings_are_numbers(store: Store) -> None:
    assert ids(search(store, num_gpus={"eq": "2"})) == ids(search(store, num_gpus={"eq": 2}))
    assert ids(search(store, dph_total={"lt": "0.5"})) == ids(search(store, dph_total={"lt": 0.5}))
    assert ids(search(store, num_gpus={"in": ["1", "2"]})) == ids(
        search(store, num_gpus={"in": [1, 2]})
    )


def test_booleans_as_true_or_the_string_true(store: Store) -> None:
    verified = search(store, verified={"eq": True})
    assert verified and all(o["verified"] for o in verified)
    assert ids(search(store, verified={"eq": "true"})) == ids(verified)
    assert ids(search(store, verified={"eq": "True"})) == ids(verified)
    unverified = search(store, verified={"eq": False})
    assert unverified and not set(ids(unverified)) & set(ids(verified))


def test_memory_fields_are_megabytes(store: Store) -> None:
    big = search(store, gpu_ram={"gte": 40_000})
    assert big and all(o["gpu_ram"] >= 40_000 for o in big)
    assert {o["gpu_name"] for o in big} <= {
        "RTX A6000", "A40", "RTX 6000Ada", "L40S", "A100 PCIE", "A100 SXM4", "H100 PCIE",
        "H100 SXM", "H200",
    }  # fmt: skip
    total = search(store, gpu_total_ram={"gte": 100_000})
    assert total and all(o["gpu_ram"] * o["num_gpus"] >= 100_000 for o in total)


def test_gpu_names_with_spaces_or_underscores(store: Store) -> None:
    spaced = search(store, gpu_name={"eq": "RTX 4090"})
    assert spaced and {o["gpu_name"] for o in spaced} == {"RTX 4090"}
    assert ids(search(store, gpu_name={"eq": "RTX_4090"})) == ids(spaced)
    two = search(store, gpu_name={"in": ["RTX 4090", "RTX_3090"]})
    assert {o["gpu_name"] for o in two} == {"RTX 4090", "RTX 3090"}


def test_geolocation_by_country_code_or_full_location(store: Store) -> None:
    us = search(store, geolocation={"eq": "US"})
    assert us and all(o["geolocation"].endswith(", US") for o in us)
    assert ids(search(store, geolocation={"eq": "us"})) == ids(us)
    place = us[0]["geolocation"]
    assert all(o["geolocation"] == place for o in search(store, geolocation={"eq": place}))
    not_us = search(store, geolocation={"notin": ["US"]})
    assert not_us and not any(o["geolocation"].endswith(", US") for o in not_us)


def test_driver_version_dotted_or_as_the_client_encodes_it(store: Store) -> None:
    dotted = search(store, driver_version={"gte": "550.0.0"})
    encoded = search(store, driver_version={"gte": 550000000})
    assert dotted and ids(dotted) == ids(encoded)
    assert all(int(o["driver_version"].split(".")[0]) >= 550 for o in dotted)


def test_order_ascending_descending_and_multi_key(store: Store) -> None:
    cheap_first = search(store, order=[["dph_total", "asc"]])
    prices = [o["dph_total"] for o in cheap_first]
    assert prices == sorted(prices)
    dear_first = search(store, order=[["dph_total", "desc"]])
    assert [o["dph_total"] for o in dear_first] == sorted(prices, reverse=True)
    multi = search(store, order=[["num_gpus", "desc"], ["dph_total", "asc"]])
    keys = [(-o["num_gpus"], o["dph_total"]) for o in multi]
    assert keys == sorted(keys)


def test_limit(store: Store) -> None:
    assert len(store.search_offers({"limit": 3})) == 3
    assert len(store.search_offers({"limit": "5"})) == 5


def test_bid_type_shows_minimum_bids(store: Store) -> None:
    query = {"order": [["id", "asc"]], "limit": 20}
    on_demand = store.search_offers({**query, "type": "on-demand"})
    bid = store.search_offers({**query, "type": "bid"})
    assert ids(on_demand) == ids(bid)
    for od, b in zip(on_demand, bid, strict=True):
        assert not od["is_bid"] and b["is_bid"]
        assert b["dph_base"] == b["min_bid"] < od["dph_base"]
        assert b["dph_total"] < od["dph_total"]
    assert ids(store.search_offers({**query, "type": "ondemand"})) == ids(on_demand)
    assert ids(store.search_offers({**query, "type": "interruptible"})) == ids(bid)


def test_bid_filters_apply_to_the_bid_price(store: Store) -> None:
    cheap_bids = search(store, type="bid", dph_total={"lt": 0.05})
    cheap_on_demand = search(store, dph_total={"lt": 0.05})
    assert len(cheap_bids) > len(cheap_on_demand)
    assert all(o["dph_total"] < 0.05 for o in cheap_bids)


def test_allocated_storage_prices_storage_into_dph_total(store: Store) -> None:
    small = store.search_offers({"order": [["id", "asc"]], "limit": 5, "allocated_storage": 5})
    large = store.search_offers({"order": [["id", "asc"]], "limit": 5, "allocated_storage": 500})
    for a, b in zip(small, large, strict=True):
        assert a["id"] == b["id"]
        assert a["dph_total"] == pytest.approx(a["dph_base"] + 5 * a["storage_cost"] / 720)
        assert b["dph_total"] == pytest.approx(b["dph_base"] + 500 * b["storage_cost"] / 720)
        assert b["dph_total"] > a["dph_total"]


def test_allocated_storage_also_requires_that_much_disk(store: Store) -> None:
    offers = search(store, allocated_storage=3000)
    assert offers and all(o["disk_space"] >= 3000 for o in offers)
    assert len(offers) < len(search(store))


def test_legacy_wrapped_query(store: Store) -> None:
    wrapped = store.search_offers(
        {"select_cols": ["*"], "q": {"num_gpus": {"eq": 4}, "limit": ALL}}
    )
    assert ids(wrapped) == ids(search(store, num_gpus={"eq": 4}))


def test_the_official_clients_default_query_and_a_typical_filter(store: Store) -> None:
    defaults = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
    query = parse_query(
        "gpu_name=RTX_4090 num_gpus>=2 dph<1.0", dict(defaults), offers_fields, offers_alias,
        offers_mult,
    )  # fmt: skip
    query.update(order=[["score", "desc"]], type="on-demand", allocated_storage=5.0)
    offers = store.search_offers(query)
    assert offers
    for o in offers:
        assert o["gpu_name"] == "RTX 4090" and o["num_gpus"] >= 2 and o["dph_total"] < 1.0
        assert o["verified"] and not o["external"] and o["rentable"]


def test_every_field_the_official_client_knows_is_accepted(store: Store) -> None:
    for name in sorted(set(offers_fields) | set(offers_alias)):
        value = {"eq": True} if name in ("external", "verified", "rentable", "rented") else None
        store.search_offers({name: value or {"neq": None}, "limit": 1})


def test_dstack_style_filters(store: Store) -> None:
    offers = search(
        store,
        direct_port_count={"gte": 1},
        reliability2={"gte": 0.9},
        cuda_max_good={"gte": "12.4"},
        compute_cap={"gte": 800},
        compute_capability={"gte": "800"},
    )
    assert offers
    for o in offers:
        assert o["direct_port_count"] >= 1 and o["reliability2"] >= 0.9
        assert o["cuda_max_good"] >= 12.4 and o["compute_cap"] >= 800


def test_null_compares_with_eq_and_neq(store: Store) -> None:
    assert ids(search(store, cluster_id={"eq": None})) == ids(search(store))
    assert search(store, cluster_id={"neq": None}) == []


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"gpu_nmae": {"eq": "RTX 4090"}}, "gpu_nmae", ["gpu_name"]),
        ({"num_gpus": {"between": 1}}, "num_gpus", ["between", "eq", "notin"]),
        ({"num_gpus": {"eq": "abc"}}, "num_gpus", ["'abc'", "number"]),
        ({"num_gpus": {"in": {"a": 1}}}, "num_gpus", ["list"]),
        ({"num_gpus": {"in": 2}}, "num_gpus", ["list"]),
        ({"num_gpus": 2}, "num_gpus", ["operator"]),
        ({"verified": {"eq": "maybe"}}, "verified", ["true or false"]),
        ({"verified": {"gt": True}}, "verified", ["eq, neq"]),
        ({"dph_total": {"lt": True}}, "dph_total", ["boolean"]),
        ({"gpu_name": {"eq": ["RTX 4090"]}}, "gpu_name", ["string"]),
        ({"driver_version": {"gte": "new"}}, "driver_version", ["535.86.05"]),
        ({"num_gpus": {"gt": None}}, "num_gpus", ["null"]),
        ({"limit": -1}, "limit", ["-1", "at least 1"]),
        ({"limit": 2.5}, "limit", ["whole number"]),
        ({"limit": "ten"}, "limit", ["number"]),
        ({"type": "spot"}, "type", ["'spot'", "on-demand", "bid"]),
        ({"allocated_storage": -5}, "allocated_storage", ["-5"]),
        ({"order": [["score", "up"]]}, "order", ["'up'", "asc", "desc"]),
        ({"order": [["price", "asc"]]}, "price", ["Unknown"]),
        ({"order": "score"}, "score", []),
        ({"q": [1, 2]}, "q", ["object"]),
    ],
)
def test_bad_queries_name_the_field_the_value_and_what_is_allowed(
    store: Store, query: dict, field: str, words: list[str]
) -> None:
    if query == {"order": "score"}:  # a bare field name is the client's "score" (ascending)
        store.search_offers(query)
        return
    with pytest.raises(InvalidArgs) as caught:
        store.search_offers(query)
    error = caught.value
    assert error.status == 400 and error.code == "invalid_args"
    assert error.extra.get("field") == field
    for word in words:
        assert word in error.msg


def test_a_query_that_is_not_an_object_is_refused(store: Store) -> None:
    with pytest.raises(InvalidArgs, match="JSON object"):
        store.search_offers([{"num_gpus": {"eq": 1}}])


def test_values_are_bound_as_parameters_never_spliced_into_sql() -> None:
    nasty = "x'); DROP TABLE offers; --"
    search = compile_search({"gpu_name": {"eq": nasty}}, OFFERS, NOW)
    assert nasty not in search.where
    assert nasty in search.params.values()


def test_instance_row_filters() -> None:
    rows = [
        {"id": 1, "label": "a", "actual_status": "running", "gpu_name": "RTX 4090"},
        {"id": 2, "label": None, "actual_status": "stopped", "gpu_name": "RTX 3090"},
        {"id": 3, "label": "b", "actual_status": "loading", "gpu_name": "RTX 4090"},
    ]

    def keep(filters: dict) -> list[int]:
        test = compile_row_filter(filters)
        return [row["id"] for row in rows if test(row)]

    assert keep({"actual_status": {"in": ["running", "loading"]}}) == [1, 3]
    assert keep({"label": {"in": [None, "b"]}}) == [2, 3]
    assert keep({"gpu_name": {"eq": "RTX_4090"}, "id": {"gt": "1"}}) == [3]
    assert keep({}) == [1, 2, 3]
    with pytest.raises(InvalidArgs, match="status"):
        keep({"status": {"eq": "running"}})

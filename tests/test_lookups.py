"""Lookups against the sandbox: offers, spot pricing, GPU recommendation, and the search cache."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from dumont_iac import lookups
from dumont_iac.clients import pacing
from dumont_iac.clients.marketplace import MarketplaceClient, forget_cached_searches
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.regions import CONTINENTS
from dumont_iac.lookups import Workload
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider.renting import offer_filter_for


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    forget_cached_searches()
    pacing.forget_all()
    yield
    forget_cached_searches()


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Iterator[object]:
    """One read-only sandbox for the lookups (none of these tests rents)."""
    from dumont_iac.sandbox.server import running_sandbox
    from dumont_iac.sandbox.settings import SandboxSettings

    path = tmp_path_factory.mktemp("market") / "market.db"
    settings = SandboxSettings(db_path=str(path), machines=300, rate_limits="off", speed=60)
    with running_sandbox(settings) as handle:
        yield handle


@pytest.fixture
def client(market) -> MarketplaceClient:
    return MarketplaceClient(market.url, market.api_key, pacing_scale=0)


def all_offers(market, **query) -> list[dict]:
    """Every matching offer, straight from the sandbox, for checking the lookups' answers."""
    body = {"verified": {"eq": True}, "limit": 100_000, "allocated_storage": 0, **query}
    with market.client() as http:
        return http.post("/api/v0/bundles/", json=body).json()["offers"]


# --- find_offers ---------------------------------------------------------------------------


def test_the_cheapest_offer_is_the_cheapest_of_all_matching_offers(market, client):
    found = lookups.find_offers("RTX 4090", disk_gb=10, limit=5, client=client)
    every = all_offers(market, gpu_name={"eq": "RTX 4090"}, allocated_storage=10)
    true_cheapest = min(row["dph_base"] + 10 * row["storage_cost"] / 720 for row in every)
    assert len(every) > 5
    assert found[0].price_per_hour(disk_gb=10) == pytest.approx(true_cheapest)
    prices = [o.price_per_hour(disk_gb=10) for o in found]
    assert prices == sorted(prices)


def test_filters_hold_for_every_offer_returned(client):
    found = lookups.find_offers(
        ["RTX 4090", "RTX 3090"], min_vram_gb=24, max_price_per_hour=0.6, regions="EU",
        min_reliability=0.9, min_cuda=12.0, limit=50, client=client,
    )  # fmt: skip
    assert found
    for offer in found:
        assert offer.gpu_name in ("RTX 4090", "RTX 3090")
        assert offer.gpu_ram_gb >= 24 and offer.price_per_hour(disk_gb=10) <= 0.6
        assert offer.country in CONTINENTS["EU"] and offer.continent == "EU"
        assert offer.reliability_score >= 0.9 and offer.cuda_max_good >= 12.0


def test_a_country_code_filters_by_country(client):
    found = lookups.find_offers(regions=["de"], limit=20, client=client)
    assert found and {o.country for o in found} == {"DE"}


def test_interruptible_offers_are_priced_at_their_minimum_bid(client):
    cheapest = lookups.cheapest_offer(interruptible=True, disk_gb=0, client=client)
    on_demand = lookups.cheapest_offer(disk_gb=0, client=client)
    assert cheapest.price_per_hour(interruptible=True) == pytest.approx(cheapest.min_bid)
    assert cheapest.min_bid < on_demand.price_per_hour()


def test_a_bad_filter_is_refused_with_field_and_value(client):
    with pytest.raises(ValidationError, match="region 'MARS' is neither a continent code"):
        lookups.find_offers(regions=["Mars"], client=client)


# --- spot_pricing --------------------------------------------------------------------------


def test_spot_pricing_works_with_no_arguments(market, monkeypatch):
    monkeypatch.setenv("VAST_URL", market.url)  # how a user points it at the sandbox
    monkeypatch.delenv("VAST_API_KEY", raising=False)  # prices need no key
    rows = lookups.spot_pricing()
    assert len(rows) >= 10
    on_demand = [row.on_demand for row in rows]
    assert on_demand == sorted(on_demand)
    for row in rows:
        assert row.offers > 0
        assert row.cheapest <= row.on_demand <= row.median
        assert row.savings_pct == pytest.approx(
            round((1 - row.interruptible / row.on_demand) * 100, 1)
        )


def test_spot_pricing_figures_match_the_market(market, client):
    (row,) = lookups.spot_pricing("RTX 3090", client=client)
    every = all_offers(market, gpu_name={"eq": "RTX 3090"})
    per_gpu = [o["dph_base"] / o["num_gpus"] for o in every]
    bids = [o["min_bid"] / o["num_gpus"] for o in every]
    assert row.offers == len(every)
    assert row.on_demand == pytest.approx(min(per_gpu), abs=1e-4)
    assert row.median == pytest.approx(statistics.median(per_gpu), abs=1e-4)
    assert row.interruptible == pytest.approx(min(bids), abs=1e-4)
    assert row.cheapest == pytest.approx(min(bids), abs=1e-4)


def test_named_models_keep_their_order_and_a_missing_one_is_listed_empty(client):
    rows = lookups.spot_pricing(["A100 SXM4", "RTX 4090", "Voodoo 5"], client=client)
    assert [row.gpu_name for row in rows] == ["A100 SXM4", "RTX 4090", "Voodoo 5"]
    assert rows[0].offers > 0 and rows[1].offers > 0
    assert rows[2].offers == 0 and rows[2].on_demand is None


# --- recommend_gpu -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workload", "needed"),
    [
        (Workload(kind="inference", params_billion=70, precision="fp16"), 168.0),  # 140 x 1.2
        (Workload(kind="inference", params_billion=7, precision="fp16"), 16.8),  # 14 x 1.2
        (Workload(kind="inference", params_billion=70, precision="int4"), 42.0),  # 35 x 1.2
        (Workload(kind="inference", params_billion=13, precision="int8"), 15.6),  # 13 x 1.2
        (Workload(kind="inference", params_billion=7, precision="fp32"), 33.6),  # 28 x 1.2
        (Workload(kind="lora", params_billion=7, precision="fp16"), 17.92),  # 16.8 + 7x.01x16
        (Workload(kind="lora", params_billion=70, precision="int4"), 53.2),  # 42 + 11.2
        (Workload(kind="full_finetune", params_billion=7, precision="bf16"), 134.4),  # 7x16x1.2
        (Workload(kind="training", params_billion=1, precision="fp32"), 19.2),  # 16 x 1.2
        (Workload(kind="vram", vram_gb=24), 24.0),
    ],
)
def test_the_vram_arithmetic(workload, needed):
    total, formula = workload.vram_needed()
    assert total == pytest.approx(needed)
    assert f"{needed:g} GB" in formula


def test_the_formula_states_the_arithmetic():
    _, formula = Workload(params_billion=70, precision="fp16").vram_needed()
    assert formula == (
        "70B params x 2 bytes (fp16) = 140 GB of weights; + 20% for KV cache and activations "
        "= 168 GB"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "inference"}, "params_billion: kind='inference' needs the model size"),
        ({"kind": "vram"}, "vram_gb: kind='vram' needs vram_gb"),
        ({"kind": "full_finetune", "params_billion": 7, "precision": "int4"}, "not int4"),
        ({"params_billion": 7, "precision": "fp8"}, "precision"),
        ({"params_billion": -1}, "params_billion"),
    ],
)
def test_an_incomplete_workload_says_what_is_missing(fields, message):
    with pytest.raises(ValidationError, match=message):
        Workload(**fields)


def test_70b_fp16_inference_is_never_offered_a_gpu_that_cannot_hold_it(client):
    result = lookups.recommend_gpu(params_billion=70, precision="fp16", client=client)
    assert result.vram_needed_gb == pytest.approx(168.0)
    assert result.max_gpus == 8 and result.options
    for option in result.options:
        assert option.total_vram_gb >= 168.0
        assert option.offer.num_gpus * option.offer.gpu_ram / 1000 >= 168.0
        assert option.num_gpus <= 8
    # No single GPU of the market holds 168 GB: with up to 8 GPUs per offer every option is
    # multi-GPU, and limiting to one GPU finds nothing rather than something too small.
    assert all(option.multi_gpu for option in result.options)
    single = lookups.recommend_gpu(params_billion=70, precision="fp16", max_gpus=1, client=client)
    assert single.options == []


def test_options_are_ranked_by_their_cheapest_fitting_offer(market, client):
    result = lookups.recommend_gpu(params_billion=70, precision="fp16", client=client)
    prices = [o.price_per_hour for o in result.options]
    assert prices == sorted(prices)
    assert len({o.gpu_name for o in result.options}) == len(result.options)
    best = result.options[0]
    fitting = [
        row for row in all_offers(market, num_gpus={"lte": 8})
        if row["gpu_ram"] * row["num_gpus"] >= 168_000
    ]  # fmt: skip
    assert best.price_per_hour == pytest.approx(min(row["dph_base"] for row in fitting))


def test_a_7b_model_is_cheaper_to_serve_than_a_70b_model(client):
    small = lookups.recommend_gpu(params_billion=7, precision="fp16", client=client)
    large = lookups.recommend_gpu(params_billion=70, precision="fp16", client=client)
    assert small.best.price_per_hour < large.best.price_per_hour
    assert small.best.total_vram_gb >= 16.8


def test_a_plain_vram_need_on_one_gpu(client):
    result = lookups.recommend_gpu(vram_gb=40, max_gpus=1, client=client)
    assert result.options and all(o.vram_per_gpu_gb >= 40 for o in result.options)


# --- the search cache ----------------------------------------------------------------------


@pytest.fixture
def searches() -> Iterator[list[logging.LogRecord]]:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.path == "/api/v0/bundles/":
                seen.append(record)

    logger = logging.getLogger("dumont_iac.http")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield seen
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_identical_searches_are_answered_from_the_cache(client, searches):
    first = lookups.find_offers("RTX 4090", limit=5, client=client)
    again = lookups.find_offers("RTX_4090", limit=5, client=client)  # the same query, spelled
    assert again == first and len(searches) == 1
    lookups.find_offers("RTX 4090", limit=6, client=client)
    assert len(searches) == 2
    # A new client on the same URL and key shares the cache, as a deployment's resources do.
    other = MarketplaceClient(client.base_url, client.http.service.key.plain(), pacing_scale=0)
    lookups.find_offers("RTX 4090", limit=5, client=other)
    assert len(searches) == 2


def test_a_rented_offer_leaves_the_cached_answer(sandbox, searches):
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0)
    first = lookups.find_offers(limit=5, client=client)
    client.rent(first[0].id, RentRequest(image="busybox"), label="cache-test")
    after = lookups.find_offers(limit=5, client=client)
    assert first[0].id not in [o.id for o in after] and len(searches) == 1


def test_several_models_mean_the_same_in_the_lookups_as_in_gpu_instance(market, client):
    # RTX 4090s cost more than RTX 3090s: "preference" still gives the 4090 first, as a
    # GpuInstance with gpu_models=["RTX 4090", "RTX 3090"] rents it; "cheapest" the 3090.
    models = ["RTX 4090", "RTX 3090"]
    preferred = lookups.cheapest_offer(models, disk_gb=0, client=client)
    cheapest = lookups.cheapest_offer(models, disk_gb=0, choice="cheapest", client=client)
    assert preferred is not None and preferred.gpu_name == "RTX 4090"
    assert cheapest is not None and cheapest.gpu_name == "RTX 3090"
    listed = lookups.find_offers(models, disk_gb=0, limit=1000, client=client)
    names = [o.gpu_name for o in listed]
    assert names == sorted(names, key=models.index) and set(names) == set(models)
    wanted = offer_filter_for(GpuInstanceArgs(image="x", gpu_models=models, disk_gb=10))
    assert wanted.choice == "preference" and wanted.gpu_names == tuple(models)


def test_at_least_n_gpus_admits_bigger_machines_and_exactly_n_does_not(market, client):
    at_least = lookups.find_offers(min_num_gpus=2, limit=200, client=client)
    assert at_least and min(o.num_gpus for o in at_least) >= 2
    assert max(o.num_gpus for o in at_least) > 2  # 4- and 8-GPU slices are offered too
    exactly = lookups.find_offers(num_gpus=2, limit=200, client=client)
    assert {o.num_gpus for o in exactly} == {2}
    with pytest.raises(ValidationError, match="not both"):
        lookups.find_offers(num_gpus=2, min_num_gpus=2, client=client)
    args = GpuInstanceArgs(image="x", gpu_count=2, gpu_count_match="at_least")
    assert offer_filter_for(args).min_num_gpus == 2 and offer_filter_for(args).num_gpus is None

"""A burst of rentals from several threads under the marketplace's limits, scaled down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.testing.market import Market

SCALE = 0.02  # every documented gap / 50: rent 90 ms, list 20 ms, search bucket 10 then 120 ms
RENTS = 30
THREADS = 4


def test_30_rents_from_4_threads_complete_without_errors_or_429s(sandbox_factory, http_log):
    sandbox = sandbox_factory(rate_limits=str(SCALE), machines=200)
    with sandbox.client() as http:
        rows = http.post(
            "/api/v0/bundles/", json={"order": [["dph_total", "asc"]], "limit": 2000}
        ).json()["offers"]
    by_machine = {row["machine_id"]: row["id"] for row in reversed(rows)}
    offer_ids = list(by_machine.values())[:RENTS]
    assert len(offer_ids) == RENTS

    # One client shared by the threads, as a provider process shares its pacing.
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=SCALE)
    request = RentRequest(image="pytorch/pytorch:latest")

    def rent(index: int):
        rental = client.rent(offer_ids[index], request, label=f"fleet-{index}")
        return rental, client.instance(rental.instance_id)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(rent, range(RENTS)))  # re-raises any error a caller saw

    assert len({rental.instance_id for rental, _ in results}) == RENTS
    assert all(instance is not None for _, instance in results)
    with sandbox.client() as http:
        held = http.get("/api/v0/instances/").json()["instances"]
    assert sorted(row["label"] for row in held) == sorted(f"fleet-{i}" for i in range(RENTS))
    refused = [r for r in http_log.records if r.status == 429]
    assert len(refused) <= 1, [(r.method, r.path) for r in refused]


def test_a_server_three_times_stricter_than_documented_is_learned_not_fought(
    sandbox_factory, http_log
):
    # The client believes the documented gaps (scaled by SCALE); the server enforces three
    # times as much. Every rent would be refused at the documented gap; the client widens its
    # pacing on each refusal, so a few refusals teach it and the rest go through.
    sandbox = sandbox_factory(rate_limits=str(SCALE * 3), machines=60)
    with Market(sandbox) as market:
        offer_ids = market.cheap_offer_ids(8)
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=SCALE)
    request = RentRequest(image="pytorch/pytorch:latest")
    for index, offer_id in enumerate(offer_ids):
        client.rent(offer_id, request, label=f"strict-{index}")  # raises if a 429 surfaced
    refused = [r for r in http_log.calls("PUT", "/api/v0/asks/") if r.status == 429]
    assert len(refused) <= 3, f"{len(refused)} refusals: the client did not learn the gap"
    assert len(client.instances()) == len(offer_ids)

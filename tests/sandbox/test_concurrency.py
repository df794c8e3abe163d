"""Twenty clients at once over real HTTP: no rental lost, none made twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

CLIENTS = 20


def _tenants(sandbox, count: int) -> list[str]:
    with sandbox.client() as admin:
        keys = [
            admin.post("/_sandbox/users", json={"credit": 100}).json()["api_key"]
            for _ in range(count)
        ]
    return keys


def test_twenty_clients_renting_distinct_offers_all_get_theirs(sandbox):
    keys = _tenants(sandbox, CLIENTS)
    with sandbox.client() as http:
        offers = http.post("/api/v0/bundles/", json={"limit": 400, "num_gpus": {"eq": 1}}).json()[
            "offers"
        ]
    # One offer per machine: renting a slice re-offers the rest of its machine under new ids,
    # so two offers of one machine are not independent.
    by_machine = {offer["machine_id"]: offer for offer in offers}
    chosen = list(by_machine.values())[:CLIENTS]
    assert len(chosen) == CLIENTS

    def rent(job: tuple[str, dict]) -> tuple[str, int, dict]:
        key, offer = job
        with sandbox.client(key) as http:
            answer = http.put(
                f"/api/v0/asks/{offer['id']}/",
                json={"image": "ubuntu:22.04", "label": f"c-{offer['id']}"},
            )
        return key, answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(rent, zip(keys, chosen, strict=True)))

    assert [status for _, status, _ in results] == [200] * CLIENTS, results
    contracts = [body["new_contract"] for _, _, body in results]
    assert len(set(contracts)) == CLIENTS
    for key, _, body in results:
        with sandbox.client(key) as http:
            mine = http.get("/api/v0/instances/").json()["instances"]
        assert [row["id"] for row in mine] == [body["new_contract"]]
    assert sandbox.store.snapshot_counts()["instances"] == CLIENTS


def test_twenty_clients_racing_for_one_offer_rent_it_once(sandbox):
    keys = _tenants(sandbox, CLIENTS)
    with sandbox.client() as http:
        offer = http.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"][0]

    def rent(key: str) -> tuple[int, dict]:
        with sandbox.client(key) as http:
            answer = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu:22.04"})
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(rent, keys))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [404] * (CLIENTS - 1), results
    assert all("no_such_ask" in body["msg"] for status, body in results if status == 404)
    assert sandbox.store.snapshot_counts()["instances"] == 1

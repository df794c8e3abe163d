"""Stopping the sandbox and starting it again on the same SQLite file keeps the whole market."""

from __future__ import annotations

import pytest

from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings

# Fields of an instance that only time may change (status, age, accrued cost).
TIME_DEPENDENT = {
    "actual_status",
    "cur_state",
    "next_state",
    "status_msg",
    "duration",
    "time_remaining",
    "total_cost",
    "credit_spent",
    "uptime_mins",
    "intended_status",
    "ports",
}


def _everything(sandbox) -> dict:
    with sandbox.client() as http:
        offers = http.post("/api/v0/bundles/", json={"limit": 100_000}).json()["offers"]
        instances = http.get("/api/v0/instances/").json()["instances"]
        volumes = http.get("/api/v0/volumes/").json()["volumes"]
        user = http.get("/api/v0/users/current/").json()
        counts = http.get("/health").json()
    return {
        "offers": {o["id"]: (o["machine_id"], o["num_gpus"], o["dph_base"]) for o in offers},
        "instances": {
            i["id"]: {k: v for k, v in i.items() if k not in TIME_DEPENDENT} for i in instances
        },
        "volumes": {v["id"]: (v["machine_id"], v["disk_space"]) for v in volumes},
        "credit": user["credit"],
        "counts": counts,
    }


def test_a_restart_on_the_same_file_keeps_offers_instances_volumes_and_balance(tmp_path):
    settings = SandboxSettings(
        db_path=str(tmp_path / "market.db"), machines=300, rate_limits="off", speed=1.0
    )
    with running_sandbox(settings) as first:
        with first.client() as http:
            offers = http.post(
                "/api/v0/bundles/", json={"limit": 3, "order": [["dph_total", "asc"]]}
            ).json()["offers"]
            rented = [
                http.put(
                    f"/api/v0/asks/{offer['id']}/",
                    json={"image": "ubuntu:22.04", "label": f"keep-{n}", "disk": 12},
                ).json()["new_contract"]
                for n, offer in enumerate(offers[:2])
            ]
            volume_offer = http.post(
                "/api/v0/volumes/search/", json={"machine_id": {"eq": offers[2]["machine_id"]}}
            ).json()["offers"][0]
            created = http.put("/api/v0/volumes/", json={"id": volume_offer["id"], "size": 20})
            assert created.status_code == 200, created.text
            tenant = http.post("/_sandbox/users", json={"credit": 7, "api_key": "tenant-key-1"})
            assert tenant.status_code == 200
        before = _everything(first)
    assert set(before["instances"]) == set(rented) and len(before["volumes"]) == 1

    with running_sandbox(settings) as second:
        after = _everything(second)
        with second.client("tenant-key-1") as tenant:
            tenant_credit = tenant.get("/api/v0/users/current/").json()["credit"]

    assert after["offers"] == before["offers"]
    assert after["instances"] == before["instances"]
    assert sorted(i["label"] for i in after["instances"].values()) == ["keep-0", "keep-1"]
    assert after["volumes"] == before["volumes"]
    # Billing goes on across the restart at real speed: a second costs a fraction of a cent.
    assert after["credit"] == pytest.approx(before["credit"], abs=0.01)
    assert after["credit"] <= before["credit"]
    assert tenant_credit == pytest.approx(7)
    assert after["counts"] == before["counts"]


def test_the_same_seed_gives_the_same_market_and_another_seed_another(tmp_path):
    def market(seed: int, name: str) -> list:
        settings = SandboxSettings(
            db_path=str(tmp_path / name), seed=seed, machines=300, rate_limits="off"
        )
        with running_sandbox(settings) as sandbox, sandbox.client() as http:
            offers = http.post("/api/v0/bundles/", json={"limit": 100_000}).json()["offers"]
        return sorted(
            (o["machine_id"], o["gpu_name"], o["num_gpus"], o["dph_base"]) for o in offers
        )

    assert market(7, "a.db") == market(7, "b.db")
    assert market(7, "c.db") != market(8, "d.db")


def test_a_restarted_handle_serves_the_same_market_at_the_same_address_on_its_clock(sandbox):
    with sandbox.client() as http:
        (offer,) = http.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"]
        contract = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu:22.04"})
        contract_id = contract.json()["new_contract"]
        http.post(
            "/_sandbox/faults", json={"method": "GET", "path": "/api/v0/instances", "kind": "drop"}
        )
    url, clock = sandbox.url, sandbox.clock
    clock.advance(7_200)  # sandbox time only: a clock restarted from real time would lose it
    before = clock.now()

    sandbox.restart()

    assert sandbox.url == url and sandbox.clock is clock and clock.now() >= before
    with sandbox.client() as http:
        (instance,) = http.get("/api/v0/instances/").json()["instances"]
        assert instance["id"] == contract_id
        # What lived only in memory is gone, as on a real restart.
        assert http.get("/_sandbox/faults").json()["faults"] == []


def test_a_sandbox_in_memory_refuses_to_restart_saying_why(sandbox_factory):
    sandbox = sandbox_factory(db_path=":memory:")
    with pytest.raises(ValueError, match="cannot restart: its market lives in memory"):
        sandbox.restart()

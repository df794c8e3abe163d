"""Two control-plane processes on one PostgreSQL, ticking together: each action runs once, and
when the replica running it is killed, the other takes its lease over after expiry and the
action completes once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dumont_iac.control_plane.clock import RealClock
from dumont_iac.control_plane.store import Store

from .market import contract, rent_stopped_gpu
from .replicas import Replica

LEASE_SECONDS = 3
TICK_SECONDS = 0.2
WAIT_SECONDS = 60.0

pytestmark = pytest.mark.slow


@pytest.fixture
def user_key(postgres_url: str) -> str:
    store = Store.open(postgres_url, RealClock())  # migrated once, before the replicas start
    try:
        return store.users.create("alice")[1]
    finally:
        store.close()


@pytest.fixture
def replicas(postgres_url, user_key, sandbox, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [
        Replica(
            name,
            postgres_url,
            sandbox,
            tmp_path,
            tick_seconds=TICK_SECONDS,
            lease_seconds=LEASE_SECONDS,
        )
        for name in ("replica-a", "replica-b")
    ]
    try:
        for replica in started:
            replica.wait_until_healthy()
        yield started
    finally:
        for replica in started:
            replica.stop()


def _api(replica: Replica, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=replica.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def _wait(what: str, check):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _both_ticked_more(replicas: list[Replica]) -> None:
    """Wait until each replica has ticked a few more times: any double execution would show."""
    before = [r.agent_ticks() for r in replicas]
    _wait(
        "more ticks",
        lambda: all(r.agent_ticks() >= b + 5 for r, b in zip(replicas, before, strict=True)),
    )


def test_two_replicas_execute_each_action_exactly_once(replicas, user_key, sandbox):
    gpus = [f"gpu-00000000000{i}" for i in range(3)]
    contracts = {gpu: rent_stopped_gpu(sandbox, gpu) for gpu in gpus}
    a, b = replicas
    with _api(a, user_key) as api_a, _api(b, user_key) as api_b:
        ids = [
            (api_a if i % 2 else api_b).post("/failover/execute", json={"gpu_id": gpu}).json()["id"]
            for i, gpu in enumerate(gpus)
        ]

        def all_done() -> list[dict] | None:
            actions = [api_a.get(f"/failover/actions/{i}").json() for i in ids]
            return actions if all(x["state"] == "succeeded" for x in actions) else None

        _wait("the actions to succeed", all_done)
        _both_ticked_more(replicas)

        actions = all_done()
        assert actions is not None
        assert [x["attempts"] for x in actions] == [1, 1, 1]
        assert {x["executed_by"] for x in actions} <= {"replica-a", "replica-b"}
        events = api_b.get("/events", params={"kind": "action."}).json()["events"]
        for gpu in gpus:
            kinds = [e["kind"] for e in events if e["gpu_id"] == gpu]
            assert kinds == ["action.requested", "action.started", "action.succeeded"], gpu
            assert contract(sandbox, contracts[gpu]).intended_status == "running"
        assert not [e for e in events if e["kind"] == "lease.taken_over"]


def test_a_killed_replicas_action_is_taken_over_after_its_lease_expires(
    replicas, user_key, sandbox
):
    gpu = "gpu-00000000beef"
    contract_id = rent_stopped_gpu(sandbox, gpu)
    # The first replica to look the contract up hangs there: it is killed mid-action.
    with sandbox.client() as http:
        fault = {"method": "GET", "path": "/api/v0/instances", "kind": "hang", "seconds": 60}
        assert http.post("/_sandbox/faults", json=fault).status_code == 200
    by_name = {r.name: r for r in replicas}
    with _api(replicas[0], user_key) as api:
        action_id = api.post("/failover/execute", json={"gpu_id": gpu}).json()["id"]

        def started() -> list[dict]:
            return api.get("/events", params={"kind": "action.started"}).json()["events"]

        first = _wait("the action to start", started)[0]
        victim = by_name[first["replica"]]
        survivor = next(r for r in replicas if r is not victim)
        assert api.get(f"/failover/actions/{action_id}").json()["state"] == "running"
        victim.kill()

    with _api(survivor, user_key) as api:

        def finished() -> dict | None:
            action = api.get(f"/failover/actions/{action_id}").json()
            return action if action["state"] not in ("requested", "running") else None

        action = _wait("the survivor to finish the action", finished)
        _both_ticked_more([survivor])
        action = api.get(f"/failover/actions/{action_id}").json()
        assert action["state"] == "succeeded", action
        assert (action["attempts"], action["executed_by"]) == (2, survivor.name)
        assert action["result"]["contract_id"] == contract_id
        assert contract(sandbox, contract_id).intended_status == "running"

        events = api.get("/events", params={"gpu_id": gpu}).json()["events"]
        kinds = [(e["kind"], e["replica"]) for e in events]
        assert kinds == [
            ("action.requested", replicas[0].name),
            ("action.started", victim.name),
            ("lease.taken_over", survivor.name),
            ("action.started", survivor.name),
            ("action.succeeded", survivor.name),
        ]
        taken = events[2]
        assert taken["data"]["previous_holder"] == victim.name
        # The takeover waited for the lease to expire: no earlier than its last renewal + TTL.
        assert taken["at"] - first["at"] >= LEASE_SECONDS - LEASE_SECONDS / 3

"""Tenant isolation on every route of the control plane: one user's objects are invisible and
untouchable to another, whatever id the other one guesses.

Alice gets one object of every kind; Bob then calls every route with Alice's ids. Bob must get
exactly the answer he got for ids nobody uses (read before Alice made anything, the id put
back in), nothing of Alice's values anywhere, and after all Bob's writes Alice must see what
she saw before them. ``CASES`` maps every route the app serves to its case; a route added
without one fails ``test_every_route_has_an_isolation_case``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from dumont_iac.control_plane.models.gpus import GPU_SPEC_EXAMPLE
from dumont_iac.control_plane.models.warm_pools import REGISTRATION_EXAMPLE
from tests.routes import operations

ALICE_GPU = "gpu-alice-isolated"
UNUSED_GPU = "gpu-nobody-uses-it"
UNUSED_ROW = 987_654
ALICE_REQUEST = "alice-request-1"
WEBHOOK_SECRET = "alice-budget-webhook-secret-3k9v"
# Values only Alice's objects hold: none may reach an answer to Bob.
MARKERS = (
    "alice-budget",
    "alice-hooks.example.com",
    "vm-alice",
    "alice-bucket",
    WEBHOOK_SECRET,
)

# Open to anyone, and holding no user's objects (each is still checked for Alice's values).
EXEMPT = {
    ("GET", "/health"): "a probe: the service's and its database's status",
    ("GET", "/health/agents"): "a probe: replica-wide agent ticks",
    ("GET", "/metrics"): "replica-wide counters, no user's objects",
    ("GET", "/openapi.json"): "the API's description, the same for everyone",
    ("GET", "/docs"): "the API's description, the same for everyone",
    ("GET", "/docs/oauth2-redirect"): "part of the interactive docs page",
    ("GET", "/redoc"): "the API's description, the same for everyone",
}


@dataclass(frozen=True)
class Case:
    """One call, with ``{gpu}``, ``{budget}``, ``{action}``, ``{webhook}`` in its path and body.

    A ``probe`` (reads, and writes that only find, change or delete an existing object) must
    answer Bob with Alice's ids as it does with unused ids; any other call makes Bob's own
    object and must leave Alice's alone."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    probe: bool = True
    creates: str | None = None  # the kind of id a maker's answer holds

    def call(self, http: httpx.Client, ids: dict[str, Any]) -> httpx.Response:
        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return value.format(**ids)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        return http.request(
            self.method, fill(self.path), json=fill(self.body), params=fill(self.params)
        )


def read(path: str, **params: str) -> Case:
    return Case("GET", path, params=params)


def make(
    method: str, path: str, body: dict[str, Any] | None = None, creates: str | None = None
) -> Case:
    return Case(method, path, body or {}, probe=False, creates=creates)


V1 = "/api/v1"
POOL = {**REGISTRATION_EXAMPLE}
CASES: dict[tuple[str, str], Case] = {
    ("GET", f"{V1}/failover/settings/global"): read(f"{V1}/failover/settings/global"),
    ("PUT", f"{V1}/failover/settings/global"): make(
        "PUT", f"{V1}/failover/settings/global", {"strategy": "both"}
    ),
    ("GET", f"{V1}/failover/settings/machines"): read(f"{V1}/failover/settings/machines"),
    ("GET", f"{V1}/failover/settings/machines/{{gpu_id}}"): read(
        f"{V1}/failover/settings/machines/{{gpu}}"
    ),
    ("PUT", f"{V1}/failover/settings/machines/{{gpu_id}}"): make(
        "PUT", f"{V1}/failover/settings/machines/{{gpu}}", {"use_global_settings": True}
    ),
    ("DELETE", f"{V1}/failover/settings/machines/{{gpu_id}}"): Case(
        "DELETE", f"{V1}/failover/settings/machines/{{gpu}}"
    ),
    ("POST", f"{V1}/failover/execute"): make(
        "POST", f"{V1}/failover/execute", {"gpu_id": "{gpu}", "request_id": ALICE_REQUEST}, "action"
    ),
    ("GET", f"{V1}/failover/actions/{{action_id}}"): read(f"{V1}/failover/actions/{{action}}"),
    ("GET", f"{V1}/failover/readiness/{{gpu_id}}"): read(f"{V1}/failover/readiness/{{gpu}}"),
    ("GET", f"{V1}/failover/status/{{gpu_id}}"): read(f"{V1}/failover/status/{{gpu}}"),
    ("GET", f"{V1}/standby/associations"): read(f"{V1}/standby/associations"),
    ("GET", f"{V1}/standby/associations/{{gpu_id}}"): read(f"{V1}/standby/associations/{{gpu}}"),
    ("PUT", f"{V1}/standby/associations/{{gpu_id}}"): make(
        "PUT",
        f"{V1}/standby/associations/{{gpu}}",
        {"cpu_instance_name": "vm-bob", "zone": "eu-west-1b"},
    ),
    ("DELETE", f"{V1}/standby/associations/{{gpu_id}}"): Case(
        "DELETE", f"{V1}/standby/associations/{{gpu}}"
    ),
    ("GET", f"{V1}/warmpool/status/{{gpu_id}}"): read(f"{V1}/warmpool/status/{{gpu}}"),
    ("GET", f"{V1}/warmpool/pools/{{gpu_id}}"): read(f"{V1}/warmpool/pools/{{gpu}}"),
    ("PUT", f"{V1}/warmpool/pools/{{gpu_id}}"): make(
        "PUT", f"{V1}/warmpool/pools/{{gpu}}", {**POOL, "host_machine_id": 7}
    ),
    ("DELETE", f"{V1}/warmpool/pools/{{gpu_id}}"): Case("DELETE", f"{V1}/warmpool/pools/{{gpu}}"),
    ("GET", f"{V1}/gpus/{{gpu_id}}/state"): read(f"{V1}/gpus/{{gpu}}/state"),
    ("GET", f"{V1}/snapshots/retention-policy"): read(f"{V1}/snapshots/retention-policy"),
    ("PUT", f"{V1}/snapshots/retention-policy"): make(
        "PUT", f"{V1}/snapshots/retention-policy", {"retention_days": 2, "instance_id": "{gpu}"}
    ),
    ("PUT", f"{V1}/snapshots/policies/{{gpu_id}}"): make(
        "PUT", f"{V1}/snapshots/policies/{{gpu}}", {"bucket": "bob-bucket"}
    ),
    ("GET", f"{V1}/snapshots/policies/{{gpu_id}}"): read(f"{V1}/snapshots/policies/{{gpu}}"),
    ("DELETE", f"{V1}/snapshots/policies/{{gpu_id}}"): Case(
        "DELETE", f"{V1}/snapshots/policies/{{gpu}}"
    ),
    ("PUT", f"{V1}/hibernation/policies/{{gpu_id}}"): make(
        "PUT",
        f"{V1}/hibernation/policies/{{gpu}}",
        {"idle_minutes": 99, "gpu_spec": GPU_SPEC_EXAMPLE},
    ),
    ("GET", f"{V1}/hibernation/policies/{{gpu_id}}"): read(f"{V1}/hibernation/policies/{{gpu}}"),
    ("DELETE", f"{V1}/hibernation/policies/{{gpu_id}}"): Case(
        "DELETE", f"{V1}/hibernation/policies/{{gpu}}"
    ),
    # Bob has no policy for the GPU: refused before anything is rented.
    ("POST", f"{V1}/hibernation/wake/{{gpu_id}}"): Case("POST", f"{V1}/hibernation/wake/{{gpu}}"),
    ("GET", f"{V1}/budgets"): read(f"{V1}/budgets"),
    ("POST", f"{V1}/budgets"): make(
        "POST", f"{V1}/budgets", {"name": "bob", "threshold": 1.0, "gpu_ids": ["{gpu}"]}, "budget"
    ),
    ("GET", f"{V1}/budgets/{{budget_id}}"): read(f"{V1}/budgets/{{budget}}"),
    ("GET", f"{V1}/budgets/{{budget_id}}/spend"): read(f"{V1}/budgets/{{budget}}/spend"),
    ("PUT", f"{V1}/budgets/{{budget_id}}"): Case(
        "PUT", f"{V1}/budgets/{{budget}}", {"name": "bob", "threshold": 1.0}
    ),
    ("DELETE", f"{V1}/budgets/{{budget_id}}"): Case("DELETE", f"{V1}/budgets/{{budget}}"),
    ("GET", f"{V1}/events"): read(f"{V1}/events"),
    ("POST", f"{V1}/keys/rotate"): make("POST", f"{V1}/keys/rotate", {"grace_seconds": 3600}),
    ("POST", f"{V1}/webhooks"): make(
        "POST", f"{V1}/webhooks", {"url": "https://bob.example/h"}, "webhook"
    ),
    ("GET", f"{V1}/webhooks"): read(f"{V1}/webhooks"),
    ("DELETE", f"{V1}/webhooks/{{webhook_id}}"): Case("DELETE", f"{V1}/webhooks/{{webhook}}"),
}
# Reads filtered to one GPU answer from other queries than the plain listing.
EXTRA_READS = (
    read(f"{V1}/snapshots/retention-policy", instance_id="{gpu}"),
    read(f"{V1}/events", gpu_id="{gpu}"),
)

UNUSED = {"gpu": UNUSED_GPU, "budget": UNUSED_ROW, "action": UNUSED_ROW, "webhook": UNUSED_ROW}


def seed(alice: httpx.Client) -> dict[str, Any]:
    """One object of every kind for Alice, with values of her own; gives her ids."""

    def ok(response: httpx.Response) -> dict[str, Any]:
        assert response.is_success, response.text
        return response.json()

    gpu = f"{V1}/failover/settings/machines/{ALICE_GPU}"
    ok(alice.put(f"{V1}/failover/settings/global", json={"strategy": "disabled"}))
    ok(alice.put(gpu, json={"use_global_settings": False, "strategy": "warm_pool"}))
    run = {"gpu_id": ALICE_GPU, "request_id": ALICE_REQUEST}
    action = ok(alice.post(f"{V1}/failover/execute", json=run))["id"]
    standby = {"cpu_instance_name": "vm-alice", "zone": "us-east-1a", "sync_enabled": True}
    ok(alice.put(f"{V1}/standby/associations/{ALICE_GPU}", json=standby))
    ok(alice.put(f"{V1}/warmpool/pools/{ALICE_GPU}", json=POOL))
    ok(alice.put(f"{V1}/snapshots/retention-policy", json={"retention_days": 30}))
    mine = {"retention_days": 31, "instance_id": ALICE_GPU}
    ok(alice.put(f"{V1}/snapshots/retention-policy", json=mine))
    ok(alice.put(f"{V1}/snapshots/policies/{ALICE_GPU}", json={"bucket": "alice-bucket"}))
    sleep = {"idle_minutes": 10, "gpu_spec": GPU_SPEC_EXAMPLE}
    ok(alice.put(f"{V1}/hibernation/policies/{ALICE_GPU}", json=sleep))
    budget = {
        "name": "alice-budget",
        "threshold": 10.0,
        "gpu_ids": [ALICE_GPU],
        "webhook_url": "https://alice-hooks.example.com/budget",
        "webhook_secret": WEBHOOK_SECRET,
    }
    budget_id = ok(alice.post(f"{V1}/budgets", json=budget))["id"]
    hook = ok(alice.post(f"{V1}/webhooks", json={"url": "https://alice-hooks.example.com/e"}))
    return {"gpu": ALICE_GPU, "budget": budget_id, "action": action, "webhook": hook["id"]}


def as_if(response: httpx.Response, unused: dict[str, Any], ids: dict[str, Any]) -> tuple:
    """An answer for unused ids, with the ids it echoes put back as the used ones."""
    text = response.text.replace(UNUSED_GPU, ids["gpu"])
    for kind in ("budget", "action", "webhook"):
        text = text.replace(str(unused[kind]), str(ids[kind]))
    return response.status_code, text


def leaks(response: httpx.Response) -> list[str]:
    return [marker for marker in MARKERS if marker in response.text]


def test_every_route_has_an_isolation_case(control_plane):
    served = operations(control_plane.handle.app)
    assert not served - CASES.keys() - EXEMPT.keys(), "routes without an isolation case"
    assert not (CASES.keys() | EXEMPT.keys()) - served, "cases for routes the app no longer has"
    assert not CASES.keys() & EXEMPT.keys()


def test_no_user_sees_or_changes_another_users_objects(serve_control_plane, db):
    # On SQLite and on PostgreSQL; unlimited, so that each of Bob's calls gets its real answer,
    # not a 429 when a fast machine sends a burst (test_ratelimit.py proves the limit).
    served = serve_control_plane(db=db, rate_limit=None)
    probes = [case for case in CASES.values() if case.probe] + list(EXTRA_READS)
    reads = [case for case in probes if case.method == "GET"]
    makers = [case for case in CASES.values() if not case.probe]
    with served.client(served.alice) as alice, served.client(served.bob) as bob:
        # What Bob gets for ids nobody uses, before Alice has anything.
        nothing = [case.call(bob, UNUSED) for case in probes]
        ids = seed(alice)
        alice_saw = [(r.status_code, r.json()) for r in (case.call(alice, ids) for case in reads)]
        assert any(ALICE_GPU in str(body) for _, body in alice_saw)

        for case, reference in zip(probes, nothing, strict=True):
            got = case.call(bob, ids)
            assert got.status_code < 500, f"{case.method} {case.path}: {got.text}"
            assert (got.status_code, got.text) == as_if(reference, UNUSED, ids), case
            assert not leaks(got), f"{case.method} {case.path} shows {leaks(got)}"
        for case in makers:  # Bob's own objects, under Alice's GPU id and request id
            made = case.call(bob, ids)
            assert made.is_success, f"{case.method} {case.path}: {made.text}"
            if case.creates:  # a new object of Bob's, not Alice's handed back
                assert made.json()["id"] != ids[case.creates], f"{case.path}: {made.text}"
            assert not leaks(made), f"{case.method} {case.path} shows {leaks(made)}"
        for case in reads:  # Bob's listings now hold his objects, and still none of Alice's
            assert not leaks(case.call(bob, ids)), case

        alice_sees = [(r.status_code, r.json()) for r in (case.call(alice, ids) for case in reads)]
        assert alice_sees == alice_saw
    with httpx.Client(base_url=served.url, timeout=10) as anyone:
        for method, path in EXEMPT:
            answer = anyone.request(method, path)
            assert answer.status_code == 200 and not leaks(answer), path

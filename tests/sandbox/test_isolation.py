"""Tenant isolation on every route of the sandbox marketplace: one tenant's instances, volumes
and SSH keys are invisible and untouchable to another, whatever id the other one guesses.

Alice rents an instance, creates a volume and adds an SSH key; Bob then calls every route with
her ids. Bob must get exactly the answer he got for ids nobody uses (asked before Alice had
anything, the id put back in), nothing of Alice's values anywhere, and after all Bob's calls
Alice must see what she saw before them. ``CASES`` maps every route the app serves to its
case; a route added without one fails ``test_every_route_has_an_isolation_case``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from dumont_iac.testing import Market
from tests.routes import operations

UNUSED = {"instance": 99_999_991, "volume": 99_999_992, "ssh": 99_999_993}
ALICE_SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceIsolatedKeyMarker0000000000 alice@host"
# Values only Alice's objects hold: none may reach an answer to Bob.
MARKERS = ("alice-label", "alice-volume", "AliceIsolatedKeyMarker")
BOB_SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobsOwnKey000000000000000000000000 bob@host"
# A sandbox clock this slow stands still for the test: Alice's objects change only if Bob does.
FROZEN = 1e-6


@dataclass(frozen=True)
class Case:
    """One call, with ids (``{instance}``, ``{volume}``, ``{ssh}``, ``{machine}``, offers
    ``{ask}`` ...) in its path, query and body.

    ``probe``: Bob's answer with Alice's ids must be his answer for unused ids. ``make``: Bob
    makes his own object. ``sandbox_key``: the fault surface, refused to every tenant."""

    method: str
    path: str
    body: Any = None
    params: dict[str, str] | None = None
    kind: str = "probe"

    def call(self, http: httpx.Client, ids: dict[str, Any]) -> httpx.Response:
        def fill(value: Any) -> Any:
            if isinstance(value, str):
                filled = value.format(**ids)
                return int(filled) if value.startswith("{") and filled.isdigit() else filled
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        kwargs: dict[str, Any] = {"params": fill(self.params)}
        if self.body is not None:
            kwargs["json"] = fill(self.body)
        return http.request(self.method, fill(self.path), **kwargs)


def probe(method: str, path: str, body: Any = None, **params: str) -> Case:
    return Case(method, path, body, params or None)


def make(method: str, path: str, body: Any = None) -> Case:
    return Case(method, path, body, kind="make")


def fault(method: str, path: str, body: Any = None) -> Case:
    return Case(method, path, body if body is not None else {}, kind="sandbox_key")


V0 = "/api/v0"
INSTANCE = f"{V0}/instances/{{instance}}/"
CASES: dict[tuple[str, str], Case] = {
    ("PUT", f"{V0}/asks/{{ask_id}}/"): make("PUT", f"{V0}/asks/{{ask}}/", {"image": "bob"}),
    ("POST", f"{V0}/asks/bulk/"): make(
        "POST", f"{V0}/asks/bulk/", {"ids": ["{bulk_ask}"], "image": "bob"}
    ),
    ("GET", f"{V0}/instances/"): probe("GET", f"{V0}/instances/"),
    ("PUT", f"{V0}/instances/"): probe(
        "PUT", f"{V0}/instances/", {"ids": ["{instance}"], "state": "stopped", "label": "bob"}
    ),
    ("DELETE", f"{V0}/instances/"): probe(
        "DELETE", f"{V0}/instances/", {"instance_ids": ["{instance}"]}
    ),
    ("GET", f"{V0}/instances/filters/"): probe("GET", f"{V0}/instances/filters/"),
    ("GET", "/api/v1/instances/"): probe("GET", "/api/v1/instances/"),
    ("GET", f"{V0}/instances/{{instance_id}}/"): probe("GET", INSTANCE),
    ("PUT", f"{V0}/instances/{{instance_id}}/"): probe("PUT", INSTANCE, {"state": "stopped"}),
    ("DELETE", f"{V0}/instances/{{instance_id}}/"): probe("DELETE", INSTANCE),
    ("PUT", f"{V0}/instances/bid_price/{{instance_id}}/"): probe(
        "PUT", f"{V0}/instances/bid_price/{{instance}}/", {"price": 9.5}
    ),
    ("PUT", f"{V0}/instances/reboot/{{instance_id}}/"): probe(
        "PUT", f"{V0}/instances/reboot/{{instance}}/", {}
    ),
    ("PUT", f"{V0}/volumes/"): make("PUT", f"{V0}/volumes/", {"id": "{volume_offer}"}),
    ("GET", f"{V0}/volumes/"): probe("GET", f"{V0}/volumes/"),
    ("DELETE", f"{V0}/volumes/"): probe("DELETE", f"{V0}/volumes/", id="{volume}"),
    ("GET", f"{V0}/users/current/"): probe("GET", f"{V0}/users/current/"),
    ("GET", f"{V0}/ssh/"): probe("GET", f"{V0}/ssh/"),
    ("POST", f"{V0}/ssh/"): make("POST", f"{V0}/ssh/", {"ssh_key": BOB_SSH}),
    ("DELETE", f"{V0}/ssh/{{key_id}}/"): probe("DELETE", f"{V0}/ssh/{{ssh}}/"),
    # The fault surface: only the sandbox's own key, never a tenant's.
    ("POST", "/_sandbox/offers/{ask_id}/take"): fault("POST", "/_sandbox/offers/{ask}/take"),
    ("POST", "/_sandbox/instances/{instance_id}/outbid"): fault(
        "POST", "/_sandbox/instances/{instance}/outbid"
    ),
    ("POST", "/_sandbox/machines/{machine_id}/fail"): fault(
        "POST", "/_sandbox/machines/{machine}/fail"
    ),
    ("POST", "/_sandbox/machines/{machine_id}/recover"): fault(
        "POST", "/_sandbox/machines/{machine}/recover"
    ),
    ("POST", "/_sandbox/machines/{machine_id}/release"): fault(
        "POST", "/_sandbox/machines/{machine}/release"
    ),
    ("POST", "/_sandbox/instances/{instance_id}/fail"): fault(
        "POST", "/_sandbox/instances/{instance}/fail"
    ),
    ("POST", "/_sandbox/instances/{instance_id}/take_gpus"): fault(
        "POST", "/_sandbox/instances/{instance}/take_gpus"
    ),
    ("PUT", "/_sandbox/instances/{instance_id}/utilization"): fault(
        "PUT", "/_sandbox/instances/{instance}/utilization", {"gpu_util": 99}
    ),
    ("POST", "/_sandbox/aws/instances/{ec2_instance_id}/terminate"): fault(
        "POST", "/_sandbox/aws/instances/i-0123456789abcdef0/terminate"
    ),
    ("POST", "/_sandbox/stalls"): fault("POST", "/_sandbox/stalls"),
    ("DELETE", "/_sandbox/stalls"): fault("DELETE", "/_sandbox/stalls"),
    ("POST", "/_sandbox/users"): fault("POST", "/_sandbox/users"),
    ("GET", "/_sandbox/instances/{instance_id}/workspace/"): fault(
        "GET", "/_sandbox/instances/{instance}/workspace/"
    ),
    ("PUT", "/_sandbox/instances/{instance_id}/workspace/{path:path}"): fault(
        "PUT", "/_sandbox/instances/{instance}/workspace/notes.txt", {"content": "bob"}
    ),
    ("GET", "/_sandbox/instances/{instance_id}/workspace/{path:path}"): fault(
        "GET", "/_sandbox/instances/{instance}/workspace/notes.txt"
    ),
    ("DELETE", "/_sandbox/instances/{instance_id}/workspace/{path:path}"): fault(
        "DELETE", "/_sandbox/instances/{instance}/workspace/notes.txt"
    ),
    ("POST", "/_sandbox/faults"): fault("POST", "/_sandbox/faults", {"path": "/api/v0/ssh/"}),
    ("GET", "/_sandbox/faults"): fault("GET", "/_sandbox/faults"),
    ("DELETE", "/_sandbox/faults"): fault("DELETE", "/_sandbox/faults"),
    ("POST", "/_sandbox/clock/advance"): fault("POST", "/_sandbox/clock/advance", {"seconds": 9}),
    ("PUT", "/_sandbox/clock/speed"): fault("PUT", "/_sandbox/clock/speed", {"speed": 5}),
    ("PUT", "/_sandbox/rate-limits"): fault("PUT", "/_sandbox/rate-limits", {"mode": "off"}),
    ("POST", "/_sandbox/reset"): fault("POST", "/_sandbox/reset"),
    ("GET", "/_sandbox/state"): fault("GET", "/_sandbox/state"),
}
# Renting with Alice's volume attached: refused as for a volume nobody has.
EXTRA_PROBES = (
    probe(
        "PUT",
        f"{V0}/asks/{{spare_ask}}/",
        {"image": "bob", "volume_info": {"volume_id": "{volume}", "mount_path": "/root/v"}},
    ),
)
# Open to anyone: the market's offers and the service's own pages (each still checked for
# Alice's values).
EXEMPT = {
    ("POST", f"{V0}/bundles/"): "public offer search",
    ("GET", f"{V0}/bundles/"): "public offer search",
    ("PUT", f"{V0}/search/asks/"): "public offer search",
    ("GET", f"{V0}/gpu_names/unique/"): "public list of GPU models",
    ("POST", f"{V0}/volumes/search/"): "public volume-offer search",
    ("GET", "/health"): "a probe: the market's size",
    ("GET", "/metrics"): "service-wide counters, no tenant's objects",
    ("GET", "/openapi.json"): "the API's description, the same for everyone",
    ("GET", "/docs"): "the API's description, the same for everyone",
    ("GET", "/docs/oauth2-redirect"): "part of the interactive docs page",
    ("GET", "/redoc"): "the API's description, the same for everyone",
}


def seed(alice: httpx.Client, offers: list[int]) -> dict[str, Any]:
    """Alice's instance, volume and SSH key, each with a value of her own; gives their ids
    and the offers left for Bob."""
    ask, spare_ask, bobs_ask, bobs_bulk_ask = offers
    rented = alice.put(f"{V0}/asks/{ask}/", json={"image": "ubuntu", "label": "alice-label"})
    assert rented.is_success, rented.text
    instance = rented.json()["new_contract"]
    volume_offers = alice.post(f"{V0}/volumes/search/", json={}).json()["offers"]
    volume_offer, bobs_volume_offer = (offer["id"] for offer in volume_offers[:2])
    made = alice.put(f"{V0}/volumes/", json={"id": volume_offer, "name": "alice-volume"})
    assert made.is_success, made.text
    volumes = alice.get(f"{V0}/volumes/").json()["volumes"]
    key = alice.post(f"{V0}/ssh/", json={"ssh_key": ALICE_SSH})
    assert key.is_success, key.text
    (ssh,) = (k["id"] for k in alice.get(f"{V0}/ssh/").json())
    machine = alice.get(INSTANCE.format(instance=instance)).json()["instances"]["machine_id"]
    return {
        "instance": instance,
        "volume": volumes[0]["id"],
        "ssh": ssh,
        "machine": machine,
        "spare_ask": spare_ask,
        "ask": bobs_ask,
        "bulk_ask": bobs_bulk_ask,
        "volume_offer": bobs_volume_offer,
    }


def as_if(response: httpx.Response, ids: dict[str, Any]) -> tuple[int, str]:
    """An answer for unused ids, with the ids it echoes put back as the used ones."""
    text = response.text
    for kind, unused in UNUSED.items():
        text = text.replace(str(unused), str(ids[kind]))
    return response.status_code, text


def leaks(response: httpx.Response) -> list[str]:
    return [marker for marker in MARKERS if marker in response.text]


def steady(value: Any) -> Any:
    """What Alice sees, without what the clock moves by itself (a contract's time left)."""
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items() if k != "duration"}
    if isinstance(value, list):
        return [steady(v) for v in value]
    return round(value, 4) if isinstance(value, float) else value


def test_every_route_has_an_isolation_case(sandbox):
    served = operations(sandbox.app)
    assert not served - CASES.keys() - EXEMPT.keys(), "routes without an isolation case"
    assert not (CASES.keys() | EXEMPT.keys()) - served, "cases for routes the app no longer has"
    assert not CASES.keys() & EXEMPT.keys()


def test_no_tenant_sees_or_changes_another_tenants_objects(sandbox_factory):
    sandbox = sandbox_factory(speed=FROZEN)
    with sandbox.client() as admin:
        alice_key, bob_key = (
            admin.post("/_sandbox/users", json={}).json()["api_key"] for _ in "ab"
        )
    probes = [c for c in CASES.values() if c.kind == "probe"] + list(EXTRA_PROBES)
    reads = [c for c in probes if c.method == "GET"]
    with (
        sandbox.client(alice_key) as alice,
        sandbox.client(bob_key) as bob,
        Market(sandbox) as market,
    ):
        offers = market.cheap_offer_ids(4)
        nothing = [case.call(bob, {**UNUSED, "spare_ask": offers[1]}) for case in probes]
        ids = seed(alice, offers)
        alice_saw = [steady(case.call(alice, ids).json()) for case in reads]
        assert all(m in str(alice_saw) for m in MARKERS)

        for case, reference in zip(probes, nothing, strict=True):
            got = case.call(bob, ids)
            assert got.status_code < 500, f"{case.method} {case.path}: {got.text}"
            assert (got.status_code, got.text) == as_if(reference, ids), case
            assert not leaks(got), f"{case.method} {case.path} shows {leaks(got)}"
        for case in CASES.values():
            if case.kind == "sandbox_key":
                refused = case.call(bob, ids)
                assert refused.status_code == 401, f"{case.method} {case.path}: {refused.text}"
            elif case.kind == "make":
                made = case.call(bob, ids)
                assert made.is_success, f"{case.method} {case.path}: {made.text}"
                assert not leaks(made), f"{case.method} {case.path} shows {leaks(made)}"
        for case in reads:  # Bob's listings now hold his objects, and still none of Alice's
            assert not leaks(case.call(bob, ids)), case
        for method, path in EXEMPT:
            assert not leaks(bob.request(method, path)), path

        assert [steady(case.call(alice, ids).json()) for case in reads] == alice_saw

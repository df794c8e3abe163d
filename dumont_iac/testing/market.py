"""The sandbox marketplace seen from a test: the tenant's rentals and credit, and shortcuts to
break the market on purpose (another tenant takes an offer, a fault is armed, time passes).

    def test_rent_survives_a_taken_offer(sandbox):
        with Market(sandbox) as market:
            offer_id, = market.cheap_offer_ids(1)
            market.take(offer_id)
            ...
            assert market.instances() == []

Everything goes over the sandbox's HTTP API with the key it was started with, independently of
the client or provider under test. ``assert_rentals_match`` checks that the marketplace holds
exactly the GPUs a deployment's state declares.
"""

from __future__ import annotations

from typing import Any

import httpx

from dumont_iac.provider.gpu_instance import logical_id_of
from dumont_iac.provider.labels import standby_id
from dumont_iac.testing.driver import Deployment


class Market:
    """The tenant's side of a running sandbox (``dumont_iac.testing.sandbox``'s handle)."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.http = sandbox.client(timeout=30)

    def __enter__(self) -> Market:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, f"{response.request.url}: {response.text}"
        return response.json()

    # --- what the tenant holds -------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        """Every live rental of the tenant."""
        return (
            self._ok(self.http.get("/api/v0/instances/", params={"owner": "me"}))["instances"] or []
        )

    def labelled(self, label: str) -> list[dict[str, Any]]:
        return [i for i in self.instances() if i.get("label") == label]

    def rentals_of(self, logical_id: str) -> list[dict[str, Any]]:
        return [i for i in self.instances() if logical_id_of(i["label"]) == logical_id]

    def managed(self) -> list[dict[str, Any]]:
        """Live rentals carrying a GPU's logical id marker."""
        return [i for i in self.instances() if logical_id_of(i["label"]) is not None]

    def volumes(self) -> list[dict[str, Any]]:
        """Every volume of the tenant."""
        return self._ok(self.http.get("/api/v0/volumes/"))["volumes"] or []

    def instance(self, contract_id: int) -> dict[str, Any] | None:
        return self._ok(self.http.get(f"/api/v0/instances/{int(contract_id)}/"))["instances"]

    def credit(self) -> float:
        return self._ok(self.http.get("/api/v0/users/current/"))["credit"]

    def destroy(self, contract_id: int) -> None:
        self._ok(self.http.delete(f"/api/v0/instances/{int(contract_id)}/"))

    def search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return self._ok(self.http.post("/api/v0/bundles/", json=query))["offers"]

    def cheap_offer_ids(self, count: int) -> list[int]:
        """The cheapest verified offers on distinct machines (renting a slice re-lists the
        other offers of its machine under new ids)."""
        rows = self.search(
            {"verified": {"eq": True}, "order": [["dph_total", "asc"]], "limit": 2000}
        )
        chosen: dict[int, int] = {}
        for row in rows:
            chosen.setdefault(row["machine_id"], row["id"])
        ids = list(chosen.values())[:count]
        assert len(ids) == count, "the sandbox market is too small for this test"
        return ids

    # --- breaking it on purpose ----------------------------------------------------------

    def fault(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        """Call ``/_sandbox/<path>`` (see the sandbox's OpenAPI document for each)."""
        return self._ok(self.http.request(method, f"/_sandbox/{path}", json=body))

    def arm(self, **fault: Any) -> dict[str, Any]:
        """Arm a transport fault: ``arm(method="POST", path="/api/v0/asks/*", kind="drop")``."""
        return self.fault("faults", fault)["fault"]

    def armed(self) -> list[dict[str, Any]]:
        return self.fault("faults", method="GET")["faults"]

    def take(self, offer_id: int) -> None:
        """Another tenant rents the offer."""
        self.fault(f"offers/{int(offer_id)}/take")

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward."""
        self.fault("clock/advance", {"seconds": seconds})


def assert_nothing_bills(market: Market) -> None:
    """No rental and no volume left, and a day of sandbox time costs the tenant nothing."""
    assert market.instances() == []
    assert market.volumes() == []
    before = market.credit()
    market.advance(24 * 3600)
    assert market.credit() == before


def assert_rentals_match(market: Market, deployment: Deployment) -> None:
    """Exactly the rentals the stack's state declares: one per GPU, one per fleet member and
    one per warm-pool standby, no orphan, no duplicate."""
    declared: dict[str, Any] = {}  # logical id -> the contract id the state records
    for resource in deployment.state.resources.values():
        if "members" in resource.outputs:  # a GpuFleet: its members are the GPUs
            for member in resource.outputs["members"]:
                declared[member["logical_id"]] = member["contract_id"]
            continue
        if not resource.type.endswith((":GpuInstance", ":WarmPool")):
            continue  # rents nothing of its own (a policy, a standby on AWS, a budget)
        declared[resource.id] = resource.outputs["contract_id"]
        # A WarmPool: its standbys carry the pool's id and their index.
        for index, contract_id in enumerate(resource.outputs.get("standby_contract_ids", []), 1):
            declared[standby_id(resource.id, index)] = contract_id
    wanted = sorted(declared)
    held = sorted(str(logical_id_of(i["label"])) for i in market.managed())
    assert held == wanted, f"rentals carry {held}, the stack declares {wanted}"
    for logical_id, contract_id in declared.items():
        (rental,) = market.rentals_of(logical_id)
        assert rental["id"] == contract_id

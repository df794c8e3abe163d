"""Looking into the sandbox from a test: the tenant's rentals, its credit, the fault surface."""

from __future__ import annotations

from typing import Any

import httpx

from dumont_iac.provider.gpu_instance import logical_id_of
from dumont_iac.testing import Deployment

API_KEY = "sk-sandbox-gpu-3f9a1c77d2e04b6b"
SANDBOX = {"machines": 40, "speed": 200.0, "rate_limits": "off", "api_key": API_KEY}
# Settings from the test process's environment must not reach the provider process.
CLEAN_ENV = {"VAST_URL": "", "VAST_API_KEY": "", "DUMONT_PACING_SCALE": "0"}


class Market:
    """The sandbox seen from outside: the tenant's rentals, its credit, the fault surface."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.http = sandbox.client(timeout=30)

    def __enter__(self) -> Market:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, f"{response.request.url}: {response.text}"
        return response.json()

    def instances(self) -> list[dict[str, Any]]:
        """Every live rental of the tenant."""
        return (
            self._ok(self.http.get("/api/v0/instances/", params={"owner": "me"}))["instances"] or []
        )

    def rentals_of(self, logical_id: str) -> list[dict[str, Any]]:
        return [i for i in self.instances() if logical_id_of(i["label"]) == logical_id]

    def managed(self) -> list[dict[str, Any]]:
        """Live rentals carrying a GPU's logical id marker."""
        return [i for i in self.instances() if logical_id_of(i["label"]) is not None]

    def instance(self, contract_id: int) -> dict[str, Any] | None:
        return self._ok(self.http.get(f"/api/v0/instances/{int(contract_id)}/"))["instances"]

    def credit(self) -> float:
        return self._ok(self.http.get("/api/v0/users/current/"))["credit"]

    def destroy(self, contract_id: int) -> None:
        self._ok(self.http.delete(f"/api/v0/instances/{int(contract_id)}/"))

    def fault(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        return self._ok(self.http.request(method, f"/_sandbox/{path}", json=body))

    def advance(self, seconds: float) -> None:
        self.fault("clock/advance", {"seconds": seconds})

    def search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return self._ok(self.http.post("/api/v0/bundles/", json=query))["offers"]


def assert_rentals_match(market: Market, deployment: Deployment) -> None:
    """Exactly the rentals the stack's state declares: one per GPU, no orphan, no duplicate."""
    wanted = sorted(deployment.state.ids().values())
    held = sorted(logical_id_of(i["label"]) for i in market.managed())
    assert held == wanted, f"rentals carry {held}, the stack declares {wanted}"
    for resource in deployment.state.resources.values():
        (rental,) = market.rentals_of(resource.id)
        assert rental["id"] == resource.outputs["contract_id"]

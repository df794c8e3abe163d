"""Keys: every operation refuses a missing key (401) and a wrong one (403); users are private
to each other; a rotated-out key works through its grace period and is refused after it."""

from __future__ import annotations

import re
from typing import Any

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
PUBLIC = {"/health", "/health/agents"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


def concrete(path: str) -> str:
    """A path with each parameter filled in with a valid value."""
    return re.sub(r"\{[^}]*_id\}", lambda m: "1" if m.group(0) in BY_NUMBER else "gpu-1", path)


BY_NUMBER = {"{budget_id}", "{action_id}"}


@pytest.fixture
def openapi(control_plane) -> dict[str, Any]:
    with control_plane.client() as http:
        response = http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_refuses_a_missing_and_a_wrong_key(control_plane, openapi):
    checked = 0
    with control_plane.client() as http:
        for method, path in operations(openapi):
            if path in PUBLIC:
                continue
            url = concrete(path)
            missing = http.request(method, url, json={})
            wrong = http.request(
                method, url, json={}, headers={"Authorization": "Bearer dcp_not-a-key"}
            )
            assert missing.status_code == 401, f"{method} {path}: {missing.text}"
            assert missing.json()["error"].startswith("An API key is required")
            assert missing.headers["www-authenticate"] == "Bearer"
            assert wrong.status_code == 403, f"{method} {path}: {wrong.text}"
            assert wrong.json() == {"error": "Invalid API key."}
            checked += 1
    assert checked >= 20  # every router is listed in the document


def test_the_document_declares_the_bearer_scheme_on_every_api_operation(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert any(s == {"type": "http", "scheme": "bearer", **s} for s in schemes.values())
    for method, path in operations(openapi):
        if path not in PUBLIC:
            operation = openapi["paths"][path][method.lower()]
            assert operation.get("security"), f"{method} {path} does not declare its key"


def test_a_malformed_authorization_header_counts_as_missing(control_plane):
    with control_plane.client() as http:
        for header in ("Basic abc", "Bearer", "dcp_key"):
            response = http.get("/api/v1/budgets", headers={"Authorization": header})
            assert response.status_code == 401, header


def test_health_needs_no_key(control_plane):
    with control_plane.client() as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/health/agents").status_code == 200
        assert http.get("/openapi.json").status_code == 200


def test_one_user_cannot_read_or_change_another_users_settings(serve_control_plane, db):
    control_plane = serve_control_plane(db=db)  # on SQLite and on PostgreSQL
    alice, bob = control_plane.client(control_plane.alice), control_plane.client(control_plane.bob)
    with alice, bob:
        assert alice.put(
            "/api/v1/failover/settings/global", json={"strategy": "disabled"}
        ).is_success
        machine = "/api/v1/failover/settings/machines/gpu-a"
        own = {"use_global_settings": False, "strategy": "warm_pool"}
        assert alice.put(machine, json=own).is_success
        standby = {"cpu_instance_name": "vm-a", "zone": "us-east-1a"}
        assert alice.put("/api/v1/standby/associations/gpu-a", json=standby).is_success
        budget = alice.post("/api/v1/budgets", json={"name": "a", "threshold": 10.0}).json()
        retention = {"retention_days": 30}
        assert alice.put("/api/v1/snapshots/retention-policy", json=retention).is_success

        # Bob sees defaults and nothing of Alice's...
        assert bob.get("/api/v1/failover/settings/global").json()["strategy"] == "both"
        assert bob.get(machine).json()["effective_strategy"] == "both"
        assert bob.get("/api/v1/standby/associations").json() == {"associations": []}
        assert bob.get("/api/v1/standby/associations/gpu-a").status_code == 404
        assert bob.get(f"/api/v1/budgets/{budget['id']}").status_code == 404
        assert bob.get("/api/v1/budgets").json() == {"budgets": []}
        assert bob.get("/api/v1/snapshots/retention-policy").json()["retention_days"] == 7
        assert bob.get("/api/v1/events").json() == {"events": []}
        # ...and cannot change or delete it.
        change = {"name": "b", "threshold": 1.0}
        assert bob.put(f"/api/v1/budgets/{budget['id']}", json=change).status_code == 404
        assert bob.delete(f"/api/v1/budgets/{budget['id']}").status_code == 404
        assert bob.delete("/api/v1/standby/associations/gpu-a").status_code == 404
        assert bob.delete(machine).json()["deleted"] is False
        assert bob.put("/api/v1/failover/settings/global", json={"strategy": "both"}).is_success

        assert alice.get("/api/v1/failover/settings/global").json()["strategy"] == "disabled"
        assert alice.get(machine).json()["effective_strategy"] == "warm_pool"
        assert alice.get("/api/v1/standby/associations/gpu-a").json()["cpu_instance_name"] == "vm-a"
        assert alice.get(f"/api/v1/budgets/{budget['id']}").json() == budget
        assert alice.get("/api/v1/snapshots/retention-policy").json()["retention_days"] == 30


def test_a_rotated_key_works_until_its_grace_period_ends(control_plane):
    clock = control_plane.clock
    with control_plane.client(control_plane.alice) as old:
        rotated = old.post("/api/v1/keys/rotate", json={"grace_seconds": 600})
        assert rotated.status_code == 200, rotated.text
        body = rotated.json()
        assert body["previous_key_expires_at"] == clock.now() + 600
        new_key = body["api_key"]
        assert new_key != control_plane.alice
        clock.advance(599)
        assert old.get("/api/v1/budgets").status_code == 200  # still in its grace period
        clock.advance(1)
        refused = old.get("/api/v1/budgets")
        assert refused.status_code == 403
        assert "grace period has ended" in refused.json()["error"]
    with control_plane.client(new_key) as new:
        assert new.get("/api/v1/budgets").status_code == 200
        events = new.get("/api/v1/events", params={"kind": "key.rotated"}).json()["events"]
        assert [e["data"]["grace_seconds"] for e in events] == [600]


def test_rotating_again_never_extends_a_key_that_is_going(control_plane):
    with control_plane.client(control_plane.alice) as old:
        first = old.post("/api/v1/keys/rotate", json={"grace_seconds": 60}).json()
        second = old.post("/api/v1/keys/rotate", json={"grace_seconds": 3600}).json()
        assert second["previous_key_expires_at"] == first["previous_key_expires_at"]
        control_plane.clock.advance(60)
        assert old.get("/api/v1/budgets").status_code == 403
    for key in (first["api_key"], second["api_key"]):
        with control_plane.client(key) as http:
            assert http.get("/api/v1/budgets").status_code == 200


def test_the_grace_period_is_bounded(control_plane):
    with control_plane.client(control_plane.alice) as http:
        for grace in (-1, 7 * 86_400 + 1, "60", 1.5):
            response = http.post("/api/v1/keys/rotate", json={"grace_seconds": grace})
            assert response.status_code == 422, grace
        assert http.get("/api/v1/budgets").status_code == 200  # no rotation happened

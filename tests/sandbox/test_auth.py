"""Who may call what: 401 for a wrong key, 403 for none, search open to all, the fault surface
reserved to the sandbox's own key."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v0/instances/"),
        ("GET", "/api/v1/instances/"),
        ("GET", "/api/v0/users/current/"),
        ("PUT", "/api/v0/asks/12000001/"),
        ("GET", "/api/v0/volumes/"),
    ],
)
def test_a_wrong_key_gets_401_and_no_key_403(sandbox, method, path):
    with sandbox.client("not-a-real-key") as wrong, sandbox.client(anonymous=True) as nobody:
        refused = wrong.request(method, path, json={"image": "ubuntu"})
        missing = nobody.request(method, path, json={"image": "ubuntu"})
    assert refused.status_code == 401
    assert refused.json() == {"success": False, "error": "auth_error", "msg": "Invalid user key"}
    assert missing.status_code == 403
    assert missing.json()["success"] is False
    assert missing.json()["error"] == "auth_error"
    assert missing.headers["content-type"] == "application/json"


def test_offer_search_works_without_a_key(sandbox):
    with sandbox.client(anonymous=True) as nobody:
        found = nobody.post("/api/v0/bundles/", json={"limit": 3})
        names = nobody.get("/api/v0/gpu_names/unique/")
    assert found.status_code == 200
    assert len(found.json()["offers"]) == 3
    assert names.status_code == 200 and names.json()["gpu_names"]


def test_the_key_is_accepted_in_the_query_string(sandbox):
    with sandbox.client(anonymous=True) as nobody:
        answer = nobody.get("/api/v0/users/current/", params={"api_key": sandbox.api_key})
        wrong = nobody.get("/api/v0/users/current/", params={"api_key": "nope"})
    assert answer.status_code == 200 and "credit" in answer.json()
    assert wrong.status_code == 401


def test_a_bearer_header_wins_and_each_key_is_its_own_user(sandbox):
    with sandbox.client() as admin:
        created = admin.post("/_sandbox/users", json={"credit": 42.5}).json()
        me = admin.get("/api/v0/users/current/").json()
    with sandbox.client(created["api_key"]) as tenant:
        them = tenant.get("/api/v0/users/current/").json()
    assert them["id"] == created["user_id"] != me["id"]
    assert them["credit"] == pytest.approx(42.5)


def test_the_fault_surface_needs_the_sandbox_key(sandbox):
    with sandbox.client() as admin:
        tenant_key = admin.post("/_sandbox/users", json={}).json()["api_key"]
        assert admin.get("/_sandbox/state").status_code == 200
    with sandbox.client(tenant_key) as tenant:
        assert tenant.get("/_sandbox/state").status_code == 401
        assert tenant.post("/_sandbox/clock/advance", json={"seconds": 60}).status_code == 401
    with sandbox.client(anonymous=True) as nobody:
        assert nobody.get("/_sandbox/state").status_code == 403
        assert nobody.get("/health").status_code == 200  # health stays open to probes


def test_no_key_appears_in_an_error(sandbox):
    secret = "tenant-secret-key-0123456789"
    with sandbox.client(secret) as wrong:
        refused = wrong.get("/api/v0/instances/")
    with sandbox.client(anonymous=True) as nobody:
        also = nobody.get("/api/v0/instances/", params={"api_key": secret})
    assert secret not in refused.text and secret not in also.text

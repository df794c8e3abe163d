"""``/api/v1/webhooks`` on SQLite and PostgreSQL: the secret is shown once, each user sees and
deletes only their own webhooks, and bad input is 422 in the control plane's envelope."""

from __future__ import annotations

import pytest

from dumont_iac.control_plane.store.webhooks import SECRET_PREFIX

URL = "https://hooks.example.com/dumont?token=abc"


def test_the_secret_is_shown_once_at_creation(serve_control_plane, db):
    served = serve_control_plane(db)
    with served.client(served.alice) as http:
        created = http.post("/api/v1/webhooks", json={"url": URL, "kinds": ["failover"]})
        assert created.status_code == 201, created.text
        body = created.json()
        secret = body.pop("secret")
        assert secret.startswith(SECRET_PREFIX) and len(secret) > 40
        assert body == {
            "id": body["id"],
            "url": URL,
            "kinds": ["failover"],
            "created_at": served.clock.now(),
        }
        listed = http.get("/api/v1/webhooks")
        assert listed.status_code == 200
        assert listed.json() == {"webhooks": [body]}
        assert secret not in listed.text
        # Stored so it can sign: the row holds it, its repr does not show it.
        alice = served.handle.store.users.check(served.alice).user_id
        (row,) = served.handle.store.webhooks.list(alice)
        assert row.secret == secret and secret not in repr(row)


def test_every_kind_by_default_and_kinds_are_kept_once(serve_control_plane):
    served = serve_control_plane()
    with served.client(served.alice) as http:
        everything = http.post("/api/v1/webhooks", json={"url": URL})
        twice = http.post("/api/v1/webhooks", json={"url": URL, "kinds": ["budget", "budget"]})
    assert everything.status_code == 201 and everything.json()["kinds"] == []
    assert twice.status_code == 201 and twice.json()["kinds"] == ["budget"]


def test_one_user_cannot_list_or_delete_anothers_webhooks(serve_control_plane, db):
    served = serve_control_plane(db)
    with served.client(served.alice) as alice, served.client(served.bob) as bob:
        webhook_id = alice.post("/api/v1/webhooks", json={"url": URL}).json()["id"]
        assert bob.get("/api/v1/webhooks").json() == {"webhooks": []}
        refused = bob.delete(f"/api/v1/webhooks/{webhook_id}")
        assert refused.status_code == 404
        assert refused.json() == {"error": f"No webhook {webhook_id}."}
        assert [w["id"] for w in alice.get("/api/v1/webhooks").json()["webhooks"]] == [webhook_id]

        deleted = alice.delete(f"/api/v1/webhooks/{webhook_id}")
        assert deleted.status_code == 200
        assert deleted.json() == {"id": webhook_id, "deleted": True}
        assert alice.get("/api/v1/webhooks").json() == {"webhooks": []}
        assert alice.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"url": "ftp://hooks.example.com/x"}, ["body", "url"]),
        ({"url": "https://"}, ["body", "url"]),
        ({"url": "https://host/a b"}, ["body", "url"]),
        ({"url": URL, "kinds": ["payday"]}, ["body", "kinds", 0]),
        ({"url": URL, "kinds": "failover"}, ["body", "kinds"]),
        ({"url": URL, "secret": "mine"}, ["body", "secret"]),
        ({}, ["body", "url"]),
    ],
)
def test_bad_input_is_a_validation_error(control_plane, body, where):
    with control_plane.client(control_plane.alice) as http:
        refused = http.post("/api/v1/webhooks", json=body)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["error"] == "Validation error"
    assert [detail["loc"] for detail in answer["details"]] == [where]


def test_a_webhook_id_must_be_a_row_id(control_plane):
    with control_plane.client(control_plane.alice) as http:
        refused = http.delete("/api/v1/webhooks/zero")
    assert refused.status_code == 422
    assert refused.json()["details"][0]["loc"] == ["path", "webhook_id"]


def test_webhooks_per_user_are_bounded(serve_control_plane):
    served = serve_control_plane(rate_limit=None)
    with served.client(served.alice) as http:
        codes = [http.post("/api/v1/webhooks", json={"url": URL}).status_code for _ in range(21)]
    assert codes == [201] * 20 + [409]

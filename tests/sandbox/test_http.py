"""The sandbox's HTTP surface: paths, headers, the error envelope, and bad input answered 400."""

from __future__ import annotations

import json

import pytest


def _first_offer(http) -> dict:
    offers = http.post("/api/v0/bundles/", json={"limit": 1, "order": [["dph_total", "asc"]]})
    return offers.json()["offers"][0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v0/instances", None),
        ("GET", "/api/v1/instances", None),
        ("GET", "/api/v0/users/current", None),
        ("GET", "/api/v0/gpu_names/unique", None),
        ("POST", "/api/v0/bundles", {"limit": 1}),
        ("GET", "/api/v0/volumes", None),
        ("GET", "/api/v0/ssh", None),
    ],
)
def test_every_path_answers_with_and_without_its_trailing_slash(sandbox, method, path, body):
    with sandbox.client() as http:
        bare = http.request(method, path, json=body)
        slashed = http.request(method, path + "/", json=body)
    assert bare.status_code == slashed.status_code == 200, (bare.text, slashed.text)
    assert bare.headers["content-type"] == slashed.headers["content-type"] == "application/json"


def test_a_put_without_trailing_slash_is_served_not_redirected(sandbox):
    with sandbox.client() as http:
        offer = _first_offer(http)
        rented = http.put(f"/api/v0/asks/{offer['id']}", json={"image": "ubuntu:22.04"})
    assert rented.status_code == 200
    assert rented.json()["success"] is True and rented.json()["new_contract"] > 0


def test_content_type_is_exactly_application_json_on_success_and_error(sandbox):
    with sandbox.client() as http:
        answers = [
            http.get("/health"),
            http.get("/api/v0/instances/"),
            http.get("/api/v0/instances/1/"),
            http.put("/api/v0/asks/1/", json={"image": "x"}),  # no such ask
            http.put("/api/v0/asks/1/", content=b"{"),  # malformed
            http.get("/no/such/path"),
            http.get("/_sandbox/state"),
        ]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json", answer.request.url


def test_health_reports_the_market(sandbox):
    with sandbox.client(anonymous=True) as http:
        health = http.get("/health").json()
    assert health["status"] == "ok"
    assert health["machines"] == 300
    assert health["offers"] >= 300
    assert health["instances"] == 0


def test_a_taken_offer_answers_404_no_such_ask_in_the_real_shape(sandbox):
    with sandbox.client() as http:
        offer = _first_offer(http)
        assert http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu"}).is_success
        again = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu"})
    assert again.status_code == 404
    assert again.json() == {
        "success": False,
        "error": "invalid_args",
        "msg": f"error 404/3603: no_such_ask Instance type by id {offer['id']} is not available.",
        "ask_id": offer["id"],
    }


def test_an_unknown_path_answers_the_envelope(sandbox):
    with sandbox.client() as http:
        missing = http.get("/api/v0/nothing-here/")
        wrong_method = http.patch("/api/v0/bundles/", json={})
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "not_found",
        "msg": "No such endpoint: GET /api/v0/nothing-here/",
    }
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


BAD_SEARCHES = [
    # (raw body, the field the error must name)
    (b'{"gpu_name": {"eq": "RTX 4090"', "body"),  # malformed JSON
    (json.dumps({"num_gpus": {"approx": 2}}).encode(), "num_gpus"),  # unknown operator
    (json.dumps({"num_gpus": {"gte": "two"}}).encode(), "num_gpus"),  # wrong type
    (json.dumps({"no_such_field": {"eq": 1}}).encode(), "no_such_field"),
    (json.dumps({"limit": -3}).encode(), "limit"),
    (json.dumps({"order": 5}).encode(), "order"),
    (json.dumps({"order": [["dph_total", "sideways"]]}).encode(), "order"),
    (json.dumps({"type": "free"}).encode(), "type"),
    (json.dumps([1, 2, 3]).encode(), "q"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_SEARCHES)
def test_a_bad_search_gets_400_naming_the_field(sandbox, raw, field):
    with sandbox.client(anonymous=True) as http:
        answer = http.post(
            "/api/v0/bundles/", content=raw, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"] == "invalid_args"
    assert body.get("field") == field or field in body["msg"], body


BAD_RENTALS = [
    # (rent body, the error code, the field named in the message)
    ({"image": "ubuntu", "disk": -5}, "invalid_args", "disk"),
    ({"image": "ubuntu", "disk": "lots"}, "invalid_args", "disk"),
    ({"image": "ubuntu", "label": "x" * 257}, "label_too_long", "label"),
    ({"image": ""}, "invalid_args", "image"),
    ({"image": "   "}, "invalid_args", "image"),
    ({}, "invalid_args", "image"),
    ({"image": "ubuntu", "env": ["A=1"]}, "invalid_args", "env"),
    ({"image": "ubuntu", "price": -1}, "invalid_args", "price"),
    ({"image": "ubuntu", "price": "cheap"}, "invalid_args", "price"),
    ({"image": "ubuntu", "volume_info": {"volume_id": "v"}}, "invalid_args", "volume_info"),
]


@pytest.mark.parametrize(("body", "code", "field"), BAD_RENTALS)
def test_a_bad_rental_gets_400_in_the_real_shape_and_rents_nothing(sandbox, body, code, field):
    with sandbox.client() as http:
        offer = _first_offer(http)
        answer = http.put(f"/api/v0/asks/{offer['id']}/", json=body)
        instances = http.get("/api/v0/instances/").json()["instances"]
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    envelope = answer.json()
    assert envelope["success"] is False
    assert envelope["error"] == code
    assert field in envelope["msg"]
    assert not instances


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v0/instances/abc/", None),
        ("PUT", "/api/v0/instances/abc/", {"label": "x"}),
        ("DELETE", "/api/v0/instances/1.5/", None),
        ("PUT", "/api/v0/asks/-x-/", {"image": "ubuntu"}),
        ("PUT", "/api/v0/instances/1/", "not an object"),
        ("PUT", "/api/v0/volumes/", {"id": "vol", "size": 10}),
        ("PUT", "/api/v0/volumes/", {"id": 1, "size": -10}),
        ("DELETE", "/api/v0/volumes/", None),
        ("GET", "/api/v1/instances/?limit=zero", None),
        ("GET", "/api/v1/instances/?select_filters=%7Bbad", None),
        ("GET", "/api/v1/instances/?after_token=forged", None),
        ("POST", "/api/v0/ssh/", {"ssh_key": "not a key"}),
    ],
)
def test_wrong_types_and_malformed_values_get_400_never_500(sandbox, method, path, body):
    with sandbox.client() as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["success"] is False
    assert answer.json()["error"] in {"invalid_args", "invalid_request"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "PUT", "path": "/api/v0/asks/*", "kind": "explode"}, "kind"),
        ({"method": "PUT", "path": "/api/v0/asks/*", "kind": "error", "status": 404}, "status"),
        ({"method": "PUT", "path": "/api/v0/asks/*", "kind": "hang"}, "seconds"),
        ({"method": "PUT", "path": "/api/v0/asks/*", "kind": "hang", "seconds": 999}, "seconds"),
        ({"method": "PUT", "path": "api/v0/asks/*", "kind": "drop"}, "path"),
        ({"method": "PUT", "path": "/api/v0/asks/*", "kind": "drop", "times": 0}, "times"),
    ],
)
def test_the_fault_surface_validates_with_the_same_envelope(sandbox, body, field):
    with sandbox.client() as http:
        answer = http.post("/_sandbox/faults", json=body)
        armed = http.get("/_sandbox/faults").json()["faults"]
    assert answer.status_code == 400, answer.text
    envelope = answer.json()
    assert envelope["error"] == "invalid_args"
    assert field in envelope["msg"]
    assert armed == []


def test_fastapi_validation_never_answers_422(sandbox):
    with sandbox.client() as http:
        answers = [
            http.post("/_sandbox/clock/advance", json={"seconds": -1}),
            http.post("/_sandbox/clock/advance", json={"seconds": "soon"}),
            http.post("/_sandbox/clock/advance", content=b"[not json"),
            http.put("/_sandbox/clock/speed", json={"speed": 0}),
            http.post("/_sandbox/users", json={"credit": -5}),
            http.post("/_sandbox/offers/not-a-number/take"),
        ]
    for answer in answers:
        assert answer.status_code == 400, (answer.request.url, answer.text)
        assert answer.json()["error"] == "invalid_args"
        assert answer.json()["field"], answer.text


def test_an_unexpected_failure_is_a_logged_500_in_the_envelope(sandbox, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sandbox.store, "gpu_names", broken)
    with sandbox.client() as http:
        answer = http.get("/api/v0/gpu_names/unique/")
        after = http.get("/api/v0/users/current/")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "success": False,
        "error": "internal_error",
        "msg": "The sandbox failed unexpectedly; see its log.",
    }
    assert "disk on fire" not in answer.text  # internals stay in the log
    assert any(
        record.exc_info and "disk on fire" in str(record.exc_info[1]) for record in caplog.records
    )
    assert after.status_code == 200  # the server carries on

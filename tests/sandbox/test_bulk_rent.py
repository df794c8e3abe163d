"""``POST /api/v0/asks/bulk/`` (``vastai create instances``): several offers rented with one
body, each on its own, with the marketplace's error envelope when nothing could be rented."""

from __future__ import annotations

from typing import Any


def _cheap_ids(http: Any, count: int) -> list[int]:
    rows = http.post(
        "/api/v0/bundles/", json={"order": [["dph_total", "asc"]], "limit": 500}
    ).json()["offers"]
    by_machine: dict[int, int] = {}
    for row in rows:
        by_machine.setdefault(row["machine_id"], row["id"])
    return list(by_machine.values())[:count]


def _mine(http: Any) -> list[dict]:
    return http.get("/api/v0/instances/").json()["instances"] or []


BODY = {"client_id": "me", "image": "ubuntu:22.04", "disk": 12, "label": "bulk", "price": None}


def test_every_offer_is_rented_with_the_one_body(sandbox):
    with sandbox.client() as http:
        ids = _cheap_ids(http, 3)
        answer = http.post("/api/v0/asks/bulk/", json={**BODY, "ids": ids})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["success"] is True and len(body["new_contracts"]) == 3
        assert list(body["results"]) == [str(i) for i in ids]
        assert [r["new_contract"] for r in body["results"].values()] == body["new_contracts"]
        rented = {row["id"]: row for row in _mine(http)}
        assert set(rented) == set(body["new_contracts"])
        assert {(r["label"], r["disk_space"], r["is_bid"]) for r in rented.values()} == {
            ("bulk", 12.0, False)
        }
        # The offers are gone from the market.
        assert http.post("/api/v0/bundles/", json={"id": {"in": ids}}).json()["offers"] == []


def test_a_taken_offer_fails_alone_and_the_others_are_rented(sandbox):
    with sandbox.client() as http:
        first, taken, last = _cheap_ids(http, 3)
        http.post(f"/_sandbox/offers/{taken}/take")
        body = http.post("/api/v0/asks/bulk/", json={**BODY, "ids": [first, taken, last]}).json()
        assert body["success"] is False
        assert body["msg"] == "2 of 3 offers rented; see results for the others."
        # The taken offer's result is the envelope a single rent of it answers.
        single = http.put(f"/api/v0/asks/{taken}/", json=BODY).json()
        assert body["results"][str(taken)] == {
            "success": False, "error": single["error"], "msg": single["msg"]
        }  # fmt: skip
        assert f"by id {taken} is not available" in single["msg"]
        assert len(body["new_contracts"]) == 2
        assert sorted(row["id"] for row in _mine(http)) == sorted(body["new_contracts"])


def test_a_bid_below_the_minimum_rents_nothing_and_answers_the_envelope(sandbox):
    with sandbox.client() as http:
        ids = _cheap_ids(http, 2)
        answer = http.post("/api/v0/asks/bulk/", json={**BODY, "price": 0.0001, "ids": ids})
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["success"] is False and body["error"] == "invalid_price"
        assert "below the minimum bid" in body["msg"]
        assert _mine(http) == []


def test_bad_bodies_name_the_field(sandbox):
    with sandbox.client() as http:
        cases = [
            ({**BODY}, "ids"),
            ({**BODY, "ids": []}, "ids"),
            ({**BODY, "ids": ["x"]}, "ids"),
            ({**BODY, "ids": [1, 1]}, "ids"),
            ({**BODY, "ids": [1], "image": ""}, "image"),
        ]
        for body, field in cases:
            answer = http.post("/api/v0/asks/bulk/", json=body)
            assert answer.status_code == 400, (body, answer.text)
            envelope = answer.json()
            assert envelope["success"] is False and envelope["error"] == "invalid_args"
            assert envelope["msg"].startswith(field), envelope
        assert _mine(http) == []


def test_a_bulk_rent_needs_the_key(sandbox):
    with sandbox.client(anonymous=True) as http:
        answer = http.post("/api/v0/asks/bulk/", json={**BODY, "ids": [1]})
    assert answer.status_code in (401, 403) and answer.json()["success"] is False


def test_a_bulk_rent_shares_the_rent_rate_limit(sandbox_factory):
    strict = sandbox_factory(rate_limits="realistic")
    with strict.client() as http:
        first, second = _cheap_ids(http, 2)
        assert http.put(f"/api/v0/asks/{first}/", json=BODY).status_code == 200
        refused = http.post("/api/v0/asks/bulk/", json={**BODY, "ids": [second]})
        assert refused.status_code == 429, refused.text
        assert len(_mine(http)) == 1  # the refused bulk rented nothing

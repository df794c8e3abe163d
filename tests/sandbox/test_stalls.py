"""The stalled image pull: armed rentals stay ``loading`` until released, for create timeouts."""

from __future__ import annotations


def _offers(http, count: int) -> list[dict]:
    answer = http.post("/api/v0/bundles/", json={"order": [["dph_total", "asc"]], "limit": count})
    assert answer.status_code == 200, answer.text
    return answer.json()["offers"]


def _rent(http, offer: dict, **body) -> int:
    answer = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu:22.04", **body})
    assert answer.status_code == 200, answer.text
    return answer.json()["new_contract"]


def _status(http, instance_id: int) -> str:
    return http.get(f"/api/v0/instances/{instance_id}/").json()["instances"]["actual_status"]


def test_the_next_rentals_stay_loading_until_released(sandbox):
    with sandbox.client() as http:
        armed = http.post("/_sandbox/stalls", json={"times": 1}).json()
        stopped_first, stalled_offer, normal_offer = _offers(http, 3)
        # A rental created stopped never loads, so it does not use the stall up.
        stopped = _rent(http, stopped_first, target_state="stopped")
        stalled = _rent(http, stalled_offer)
        normal = _rent(http, normal_offer)
        http.post("/_sandbox/clock/advance", json={"seconds": 3600})
        before = (_status(http, stopped), _status(http, stalled), _status(http, normal))
        released = http.delete("/_sandbox/stalls").json()
        after = _status(http, stalled)
    assert armed == {"success": True, "armed": 1}
    assert before == ("stopped", "loading", "running")
    assert released == {"success": True, "released": 1, "disarmed": 0}
    assert after == "running"  # it has been loading far longer than its pull takes


def test_release_disarms_stalls_not_yet_used(sandbox):
    with sandbox.client() as http:
        http.post("/_sandbox/stalls", json={"times": 2})
        http.post("/_sandbox/stalls", json={"times": 1})
        released = http.delete("/_sandbox/stalls").json()
        (offer,) = _offers(http, 1)
        rented = _rent(http, offer)
        http.post("/_sandbox/clock/advance", json={"seconds": 3600})
        status = _status(http, rented)
    assert released == {"success": True, "released": 0, "disarmed": 3}
    assert status == "running"


def test_stall_counts_are_checked(sandbox):
    with sandbox.client() as http:
        answers = [http.post("/_sandbox/stalls", json={"times": t}) for t in (0, 1001, "x")]
        wrong_key = http.post("/_sandbox/stalls", json={}, headers={"Authorization": "Bearer no"})
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["success"] is False and "times" in answer.text
    assert wrong_key.status_code in (401, 403)

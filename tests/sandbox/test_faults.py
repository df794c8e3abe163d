"""The fault-injection surface: market events, transport faults, the clock, limits, tenants."""

from __future__ import annotations

import time

import httpx
import pytest


def _offers(http, **query) -> list[dict]:
    answer = http.post("/api/v0/bundles/", json={"order": [["dph_total", "asc"]], **query})
    assert answer.status_code == 200, answer.text
    return answer.json()["offers"]


def _rent(http, offer: dict, **body) -> int:
    answer = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu:22.04", **body})
    assert answer.status_code == 200, answer.text
    return answer.json()["new_contract"]


def _instance(http, instance_id: int) -> dict | None:
    return http.get(f"/api/v0/instances/{instance_id}/").json()["instances"]


def _labels(http) -> list[str]:
    return [row["label"] for row in http.get("/api/v0/instances/").json()["instances"] or []]


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_another_tenant_takes_an_offer(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1)[0]
        taken = http.post(f"/_sandbox/offers/{offer['id']}/take")
        assert taken.json() == {
            "success": True,
            "ask_id": offer["id"],
            "machine_id": offer["machine_id"],
        }
        answer = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu"})
        remaining = _offers(http, id={"eq": offer["id"]})
        unknown = http.post("/_sandbox/offers/1/take")
    assert answer.status_code == 404 and "no_such_ask" in answer.json()["msg"]
    assert remaining == []
    assert unknown.status_code == 404


def test_an_outbid_instance_stops_and_keeps_its_data(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1, type="bid")[0]
        instance_id = _rent(http, offer, price=round(offer["min_bid"] + 0.05, 4), label="spot")
        outbid = http.post(f"/_sandbox/instances/{instance_id}/outbid")
        row = _instance(http, instance_id)
    assert outbid.status_code == 200, outbid.text
    assert outbid.json()["instance_id"] == instance_id
    assert outbid.json()["winning_bid"] > offer["min_bid"]
    assert row is not None
    assert row["actual_status"] == "stopped"
    assert row["label"] == "spot" and row["disk_space"] >= 8  # its disk is kept
    assert "outbid" in row["status_msg"].lower()


def test_only_an_interruptible_instance_can_be_outbid(sandbox):
    with sandbox.client() as http:
        instance_id = _rent(http, _offers(http, limit=1)[0])
        refused = http.post(f"/_sandbox/instances/{instance_id}/outbid")
        missing = http.post("/_sandbox/instances/999/outbid")
    assert refused.status_code == 400 and refused.json()["success"] is False
    assert missing.status_code == 404 and missing.json()["error"] == "no_such_instance"


def test_a_failed_machine_takes_its_instances_offline_and_recovers(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1)[0]
        machine = offer["machine_id"]
        instance_id = _rent(http, offer, label="doomed")
        failed = http.post(f"/_sandbox/machines/{machine}/fail")
        row = _instance(http, instance_id)
        offered_while_failed = _offers(http, machine_id={"eq": machine})
        recovered = http.post(f"/_sandbox/machines/{machine}/recover")
        offered_after = _offers(http, machine_id={"eq": machine})
        row_after = _instance(http, instance_id)
        unknown = http.post("/_sandbox/machines/1/fail")
    assert failed.json() == {"success": True, "machine_id": machine, "instances_offline": 1}
    assert row is not None and row["actual_status"] == "offline"
    assert offered_while_failed == []
    assert recovered.status_code == 200 and offered_after
    assert row_after["actual_status"] == "offline"  # an offline instance never comes back
    assert unknown.status_code == 404


def test_the_next_n_calls_answer_the_given_5xx_then_all_is_well(sandbox):
    with sandbox.client() as http:
        armed = http.post(
            "/_sandbox/faults",
            json={"method": "GET", "path": "/api/v0/instances", "kind": "error", "times": 2,
                  "status": 502},
        )  # fmt: skip
        assert armed.status_code == 200, armed.text
        first, second = http.get("/api/v0/instances/"), http.get("/api/v0/instances")
        other_method = http.post("/api/v0/bundles/", json={"limit": 1})
        third = http.get("/api/v0/instances/")
        left = http.get("/_sandbox/faults").json()["faults"]
    assert (first.status_code, second.status_code, third.status_code) == (502, 502, 200)
    assert first.json() == {
        "success": False,
        "error": "server_error",
        "msg": "Injected fault: HTTP 502.",
    }
    assert first.headers["content-type"] == "application/json"
    assert other_method.status_code == 200
    assert left == []


def test_an_error_fault_does_not_run_the_call(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1)[0]
        http.post(
            "/_sandbox/faults", json={"method": "PUT", "path": "/api/v0/asks/*", "kind": "error"}
        )
        failed = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu", "label": "x"})
        labels = _labels(http)
    assert failed.status_code == 503
    assert labels == []


def test_a_hang_stalls_the_client_while_the_call_still_happens(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1)[0]
        http.post(
            "/_sandbox/faults",
            json={"method": "PUT", "path": "/api/v0/asks/*", "kind": "hang", "seconds": 2.0},
        )
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.put(
                f"/api/v0/asks/{offer['id']}/",
                json={"image": "ubuntu", "label": "late"},
                timeout=0.3,
            )
        assert time.monotonic() - started < 1.5
        assert _labels(http) == []  # still hanging
        assert _wait_for(lambda: _labels(http)) == ["late"]


def test_a_hang_answers_normally_when_the_client_waits(sandbox):
    with sandbox.client() as http:
        http.post(
            "/_sandbox/faults",
            json={"method": "GET", "path": "/api/v0/users/current", "kind": "hang", "seconds": 0.4},
        )
        started = time.monotonic()
        answer = http.get("/api/v0/users/current/")
        elapsed = time.monotonic() - started
    assert answer.status_code == 200 and "credit" in answer.json()
    assert elapsed >= 0.4


def test_a_dropped_response_commits_the_rental_the_client_never_hears_of(sandbox):
    with sandbox.client() as http:
        offer = _offers(http, limit=1)[0]
        http.post(
            "/_sandbox/faults", json={"method": "PUT", "path": "/api/v0/asks/*", "kind": "drop"}
        )
        with pytest.raises(httpx.RemoteProtocolError):
            http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu", "label": "ghost"})
        labels = _labels(http)
        retried = http.put(
            f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu", "label": "ghost"}
        )
    assert labels == ["ghost"]  # the rental exists though its answer was lost
    assert retried.status_code == 404  # and a blind retry cannot rent the same offer again


def test_a_dropped_destroy_is_done_anyway(sandbox):
    with sandbox.client() as http:
        instance_id = _rent(http, _offers(http, limit=1)[0], label="gone")
        http.post(
            "/_sandbox/faults",
            json={"method": "DELETE", "path": "/api/v0/instances/*", "kind": "drop"},
        )
        with pytest.raises(httpx.RemoteProtocolError):
            http.delete(f"/api/v0/instances/{instance_id}/")
        assert _instance(http, instance_id) is None


def test_faults_never_touch_the_fault_surface_or_health(sandbox):
    with sandbox.client() as http:
        http.post(
            "/_sandbox/faults", json={"method": "*", "path": "/*", "kind": "error", "times": 5}
        )
        assert http.get("/health").status_code == 200
        assert http.get("/_sandbox/state").status_code == 200
        assert http.get("/api/v0/users/current/").status_code == 503
        cleared = http.delete("/_sandbox/faults").json()
        assert cleared == {"success": True, "cleared": 1}
        assert http.get("/api/v0/users/current/").status_code == 200


def test_advancing_the_clock_moves_lifecycles_and_billing(sandbox):
    with sandbox.client() as http:
        http.put("/_sandbox/clock/speed", json={"speed": 1})
        instance_id = _rent(http, _offers(http, limit=1)[0])
        credit_before = http.get("/api/v0/users/current/").json()["credit"]
        before = http.get("/_sandbox/state").json()["now"]
        advanced = http.post("/_sandbox/clock/advance", json={"seconds": 3600}).json()
        row = _instance(http, instance_id)
        credit_after = http.get("/api/v0/users/current/").json()["credit"]
    assert advanced["now"] - before >= 3600
    assert row["actual_status"] == "running"
    assert credit_after < credit_before - 0.5 * row["dph_total"]


def test_the_clock_speed_changes_while_running(sandbox):
    with sandbox.client() as http:
        changed = http.put("/_sandbox/clock/speed", json={"speed": 1000}).json()
        first = http.get("/_sandbox/state").json()["now"]
        time.sleep(0.05)
        second = http.get("/_sandbox/state").json()["now"]
    assert changed["speed"] == 1000
    assert second - first >= 40  # 50 ms of real time is 50 s of sandbox time


def test_reset_disarms_faults_and_restores_the_started_settings(sandbox):
    with sandbox.client() as http:
        http.post("/_sandbox/faults", json={"method": "GET", "path": "/x", "kind": "error"})
        http.put("/_sandbox/rate-limits", json={"rate_limits": "realistic"})
        http.put("/_sandbox/clock/speed", json={"speed": 5})
        reset = http.post("/_sandbox/reset").json()
        state = http.get("/_sandbox/state").json()
    assert reset == {"success": True, "cleared_faults": 1, "rate_limits": "off"}
    assert state["faults"] == [] and state["rate_limits"] == "off"
    assert state["speed"] == sandbox.settings.speed


def test_an_extra_tenant_has_its_own_key_credit_and_instances(sandbox):
    with sandbox.client() as admin:
        tenant = admin.post("/_sandbox/users", json={"credit": 25, "api_key": "tenant-two-key"})
        assert tenant.status_code == 200, tenant.text
        mine = _rent(admin, _offers(admin, limit=1)[0], label="admin's")
        duplicate = admin.post("/_sandbox/users", json={"api_key": "tenant-two-key"})
    with sandbox.client("tenant-two-key") as other:
        theirs = _rent(other, _offers(other, limit=1)[0], label="tenant's")
        assert _labels(other) == ["tenant's"]
        assert _instance(other, mine) is None
        assert other.delete(f"/api/v0/instances/{mine}/").status_code == 404
        assert other.get("/api/v0/users/current/").json()["credit"] <= 25
    with sandbox.client() as admin:
        assert _labels(admin) == ["admin's"]
        assert _instance(admin, theirs) is None
    assert duplicate.status_code == 400


def test_the_state_summary(sandbox):
    with sandbox.client() as http:
        _rent(http, _offers(http, limit=1)[0])
        state = http.get("/_sandbox/state").json()
    assert state["instances"] == 1
    assert state["machines"] == 300
    assert state["speed"] == 60.0 and state["rate_limits"] == "off"
    assert abs(state["now"] - sandbox.clock.now()) < 60


# --- stalled image pulls: armed rentals stay loading until released, for create timeouts ---


def _status(http, instance_id: int) -> str:
    return http.get(f"/api/v0/instances/{instance_id}/").json()["instances"]["actual_status"]


def test_the_next_rentals_stay_loading_until_released(sandbox):
    with sandbox.client() as http:
        armed = http.post("/_sandbox/stalls", json={"times": 1}).json()
        stopped_first, stalled_offer, normal_offer = _offers(http, limit=3)
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
        (offer,) = _offers(http, limit=1)
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


def test_an_armed_429_is_refused_as_the_rate_limiter_refuses(sandbox_factory):
    strict = sandbox_factory(rate_limits="realistic")
    with strict.client() as http:
        offer = _offers(http, limit=1)[0]
        http.post("/_sandbox/faults", json={"method": "PUT", "path": "/api/v0/asks/*",
                                             "kind": "error", "status": 429})  # fmt: skip
        injected = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu"})
        _rent(http, offer)  # the fault was used up: the rent passes and starts the gap
        limited = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu"})
        assert injected.status_code == limited.status_code == 429
        assert injected.headers.get("content-type") == limited.headers.get("content-type")
        assert "API requests too frequent" in injected.text
        assert "retry-after" not in injected.headers
        refused = http.post("/_sandbox/faults", json={"method": "GET", "path": "/x",
                                                      "kind": "error", "status": 450})  # fmt: skip
        assert refused.status_code == 400 and "429 or a 5xx" in refused.text

"""The marketplace's per-endpoint, per-key minimum gaps: the limiter alone, then over HTTP."""

from __future__ import annotations

import time

import pytest

from dumont_iac.sandbox.core.errors import InvalidSetting, RateLimited
from dumont_iac.sandbox.core.ratelimit import Limit, RateLimiter, parse_mode
from dumont_iac.sandbox.marketplace.limits import SEARCH, limit_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def test_a_second_call_inside_the_gap_is_refused_and_passes_after_it(fake_time):
    limiter = RateLimiter("realistic", now=fake_time)
    destroy = limit_for("DELETE", "/api/v0/instances/7/")
    assert destroy is not None and destroy.gap == 3.0
    limiter.check(destroy, "key:a")
    fake_time.now += 2.9
    with pytest.raises(RateLimited) as refused:
        limiter.check(destroy, "key:a")
    assert refused.value.msg == "API requests too frequent endpoint threshold=3"
    fake_time.now += 0.2  # 3.1 s after the accepted call
    limiter.check(destroy, "key:a")


def test_gaps_are_per_key_and_per_endpoint(fake_time):
    limiter = RateLimiter("realistic", now=fake_time)
    show = limit_for("GET", "/api/v0/instances/7/")
    listing = limit_for("GET", "/api/v0/instances/")
    assert show is not None and listing is not None and show != listing
    limiter.check(show, "key:a")
    limiter.check(show, "key:b")  # another key has its own gap
    limiter.check(listing, "key:a")  # another endpoint has its own gap
    with pytest.raises(RateLimited):
        limiter.check(show, "key:a")


def test_the_documented_gaps():
    expected = {
        ("PUT", "/api/v0/asks/12/"): 4.5,
        ("GET", "/api/v0/instances/12/"): 2.0,
        ("GET", "/api/v0/instances"): 1.0,
        ("GET", "/api/v1/instances/"): 1.0,
        ("PUT", "/api/v0/instances/12/"): 1.0,
        ("PUT", "/api/v0/instances/reboot/12/"): 1.0,
        ("DELETE", "/api/v0/instances/12/"): 3.0,
        ("PUT", "/api/v0/instances/bid_price/12/"): 5.5,
        ("PUT", "/api/v0/volumes/"): 5.5,
        ("GET", "/api/v0/volumes"): 5.5,
        ("DELETE", "/api/v0/volumes/"): 5.5,
    }
    for (method, path), gap in expected.items():
        limit = limit_for(method, path)
        assert limit is not None, (method, path)
        assert limit.gap == gap, (method, path, limit)
    assert limit_for("POST", "/api/v0/bundles/") is SEARCH
    assert limit_for("GET", "/api/v0/users/current/") is None
    assert limit_for("GET", "/api/v0/gpu_names/unique/") is None


def test_hammering_the_rent_endpoint_earns_the_12_second_penalty(fake_time):
    limiter = RateLimiter("realistic", now=fake_time)
    rent = limit_for("PUT", "/api/v0/asks/1/")
    assert rent is not None and rent.penalty == 12.0
    limiter.check(rent, "key:a")
    fake_time.now += 1.0
    with pytest.raises(RateLimited):  # first refusal: the plain 4.5 s gap
        limiter.check(rent, "key:a")
    fake_time.now += 1.0
    with pytest.raises(RateLimited):  # refused again while refused: locked out 12 s
        limiter.check(rent, "key:a")
    fake_time.now += 5.0  # 7 s after the accepted call: past 4.5 s, inside the penalty
    with pytest.raises(RateLimited):
        limiter.check(rent, "key:a")
    fake_time.now += 12.0
    limiter.check(rent, "key:a")


def test_a_polite_renter_is_never_penalised(fake_time):
    limiter = RateLimiter("realistic", now=fake_time)
    rent = limit_for("PUT", "/api/v0/asks/1/")
    assert rent is not None
    limiter.check(rent, "key:a")
    fake_time.now += 1.0
    with pytest.raises(RateLimited):
        limiter.check(rent, "key:a")
    fake_time.now += 3.6  # 4.6 s after the accepted call
    limiter.check(rent, "key:a")


def test_search_allows_a_burst_of_ten_then_one_call_per_six_seconds(fake_time):
    limiter = RateLimiter("realistic", now=fake_time)
    for _ in range(10):
        limiter.check(SEARCH, "ip:1.2.3.4")
    with pytest.raises(RateLimited) as refused:
        limiter.check(SEARCH, "ip:1.2.3.4")
    assert "threshold=6" in refused.value.msg
    limiter.check(SEARCH, "ip:5.6.7.8")  # another address has its own bucket
    fake_time.now += 6.0
    limiter.check(SEARCH, "ip:1.2.3.4")
    with pytest.raises(RateLimited):
        limiter.check(SEARCH, "ip:1.2.3.4")


def test_scale_shortens_every_gap_and_off_disables_them(fake_time):
    limiter = RateLimiter("0.1", now=fake_time)
    bid = limit_for("PUT", "/api/v0/instances/bid_price/3")
    assert bid is not None
    limiter.check(bid, "key:a")
    fake_time.now += 0.5
    with pytest.raises(RateLimited) as refused:
        limiter.check(bid, "key:a")
    assert refused.value.msg.endswith("threshold=0.55")
    fake_time.now += 0.1
    limiter.check(bid, "key:a")

    limiter.set_mode("off")
    for _ in range(50):
        limiter.check(bid, "key:a")
    assert limiter.mode == "off" and limiter.scale is None


@pytest.mark.parametrize("mode", ["fast", "0", "-1", "", "nan", "inf"])
def test_a_bad_mode_is_refused_naming_the_setting(mode):
    with pytest.raises(InvalidSetting) as refused:
        parse_mode(mode)
    assert "rate_limits" in refused.value.msg and repr(mode) in refused.value.msg


def test_modes():
    assert parse_mode("realistic") == 1.0
    assert parse_mode("OFF") is None
    assert parse_mode("0.25") == 0.25
    assert Limit("x", gap=1.0).burst == 1


# --- over HTTP ---------------------------------------------------------------------------------


def test_429_is_plain_text_without_retry_after(sandbox_factory):
    sandbox = sandbox_factory(rate_limits="realistic")
    with sandbox.client() as http:
        assert http.get("/api/v0/instances/").status_code == 200
        refused = http.get("/api/v0/instances/")
    assert refused.status_code == 429
    assert refused.text == "API requests too frequent endpoint threshold=1"
    assert refused.headers["content-type"].startswith("text/plain")
    assert "retry-after" not in refused.headers


def test_renting_twice_at_once_is_refused_with_the_rent_gap(sandbox_factory):
    sandbox = sandbox_factory(rate_limits="realistic")
    with sandbox.client() as http:
        offers = http.post("/api/v0/bundles/", json={"limit": 2}).json()["offers"]
        first = http.put(f"/api/v0/asks/{offers[0]['id']}/", json={"image": "ubuntu:22.04"})
        second = http.put(f"/api/v0/asks/{offers[1]['id']}/", json={"image": "ubuntu:22.04"})
    assert first.status_code == 200, first.text
    assert second.status_code == 429
    assert second.text == "API requests too frequent endpoint threshold=4.5"


def test_the_gap_is_per_key_over_http(sandbox_factory):
    sandbox = sandbox_factory(rate_limits="realistic")
    with sandbox.client() as admin:
        tenant_key = admin.post("/_sandbox/users", json={"credit": 10}).json()["api_key"]
        assert admin.get("/api/v0/instances/").status_code == 200
        with sandbox.client(tenant_key) as tenant:
            assert tenant.get("/api/v0/instances/").status_code == 200
        # The key may come in the query string, as older clients send it: the same identity.
        with sandbox.client(anonymous=True) as anonymous:
            again = anonymous.get("/api/v0/instances/", params={"api_key": sandbox.api_key})
        assert again.status_code == 429


def test_scaled_limits_refuse_early_calls_and_accept_after_the_scaled_gap(sandbox_factory):
    sandbox = sandbox_factory(rate_limits="0.3")
    with sandbox.client() as http:
        assert http.get("/api/v0/instances/").status_code == 200
        refused = http.get("/api/v0/instances/")
        assert refused.status_code == 429
        assert refused.text == "API requests too frequent endpoint threshold=0.3"
        time.sleep(0.35)
        assert http.get("/api/v0/instances/").status_code == 200


def test_off_lets_every_call_through(sandbox):
    with sandbox.client() as http:
        statuses = {http.get("/api/v0/instances/").status_code for _ in range(20)}
    assert statuses == {200}


def test_limits_change_while_running(sandbox):
    with sandbox.client() as http:
        changed = http.put("/_sandbox/rate-limits", json={"rate_limits": "realistic"})
        assert changed.json() == {"success": True, "rate_limits": "realistic"}
        assert http.get("/api/v0/instances/").status_code == 200
        assert http.get("/api/v0/instances/").status_code == 429
        assert http.put("/_sandbox/rate-limits", json={"rate_limits": "off"}).status_code == 200
        assert http.get("/api/v0/instances/").status_code == 200
        bad = http.put("/_sandbox/rate-limits", json={"rate_limits": "sometimes"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_args" and "'sometimes'" in bad.json()["msg"]

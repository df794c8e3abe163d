"""Client-side pacing: paced calls are never refused by the marketplace's own limit rules."""

from __future__ import annotations

import threading

import pytest

from dumont_iac.clients import pacing
from dumont_iac.clients.marketplace import client as mp
from dumont_iac.clients.pacing import Pacer, key_fingerprint, pacer_for
from dumont_iac.sandbox.core.errors import RateLimited
from dumont_iac.sandbox.core.ratelimit import RateLimiter
from dumont_iac.sandbox.marketplace.limits import limit_for

# Every paced call the client makes, with a path as it sends it.
CALLS = [
    ("POST", "/api/v0/bundles/", mp.SEARCH),
    ("PUT", "/api/v0/asks/123/", mp.RENT),
    ("GET", "/api/v0/instances/7/", mp.SHOW_INSTANCE),
    ("GET", "/api/v0/instances/", mp.LIST_INSTANCES),
    ("PUT", "/api/v0/instances/7/", mp.MANAGE),
    ("PUT", "/api/v0/instances/reboot/7/", mp.REBOOT),
    ("DELETE", "/api/v0/instances/7/", mp.DESTROY),
    ("PUT", "/api/v0/instances/bid_price/7/", mp.CHANGE_BID),
    ("POST", "/api/v0/volumes/search/", mp.SEARCH_VOLUMES),
    ("PUT", "/api/v0/volumes/", mp.CREATE_VOLUME),
    ("GET", "/api/v0/volumes/", mp.LIST_VOLUMES),
    ("DELETE", "/api/v0/volumes/", mp.DELETE_VOLUME),
]


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(("method", "path", "endpoint"), CALLS, ids=[c[2].name for c in CALLS])
def test_each_endpoint_is_paced_with_the_marketplace_gap_and_burst(method, path, endpoint):
    limit = limit_for(method, path)
    assert limit is not None
    assert (endpoint.name, endpoint.gap, endpoint.burst) == (limit.endpoint, limit.gap, limit.burst)


@pytest.mark.parametrize(("method", "path", "endpoint"), CALLS, ids=[c[2].name for c in CALLS])
def test_a_paced_burst_is_never_refused_by_the_marketplace_rules(method, path, endpoint):
    clock = FakeTime()
    limiter = RateLimiter("realistic", now=clock)
    pacer = Pacer(endpoint.gap, endpoint.burst, now=clock, sleep=clock.sleep)
    started = clock.now
    for _ in range(25):
        pacer.wait()
        limiter.check(limit_for(method, path), "key:k")  # raises RateLimited if too early
    # ... and it waits no longer than the rules demand.
    assert clock.now - started == pytest.approx(endpoint.gap * (25 - endpoint.burst))


def test_an_unpaced_burst_is_refused_which_is_what_pacing_prevents():
    clock = FakeTime()
    limiter = RateLimiter("realistic", now=clock)
    limiter.check(limit_for("PUT", "/api/v0/asks/1/"), "key:k")
    with pytest.raises(RateLimited):
        limiter.check(limit_for("PUT", "/api/v0/asks/2/"), "key:k")


def test_after_a_refusal_the_next_slot_is_a_full_gap_later():
    clock = FakeTime()
    pacer = Pacer(4.5, now=clock, sleep=clock.sleep)
    assert pacer.reserve() == 0
    clock.now += 10  # long idle: the next call could go at once...
    pacer.refused()  # ...but another process of the same key just used the budget
    assert pacer.reserve() == pytest.approx(4.5)


def test_threads_get_distinct_slots_a_gap_apart():
    # The clock stands still, so every reservation shows where its slot is: 20 threads racing
    # for the pacer must get 20 different slots, exactly one gap apart.
    clock = FakeTime()
    pacer = Pacer(0.5, now=clock, sleep=clock.sleep)
    delays: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def work() -> None:
        barrier.wait()
        delay = pacer.reserve()
        with lock:
            delays.append(delay)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(delays) == pytest.approx([0.5 * i for i in range(20)])


def test_the_registry_shares_one_pacer_per_url_key_and_endpoint_and_scales_the_gap():
    a = pacer_for("http://x", key_fingerprint("key-1"), "rent", 4.5)
    assert pacer_for("http://x", key_fingerprint("key-1"), "rent", 4.5) is a
    assert pacer_for("http://x", key_fingerprint("key-2"), "rent", 4.5) is not a
    assert pacer_for("http://y", key_fingerprint("key-1"), "rent", 4.5) is not a
    assert pacer_for("http://x", key_fingerprint("key-1"), "rent", 0) is None
    assert a.gap >= 4.5  # plus a small margin for uneven arrival


def test_the_fingerprint_does_not_contain_the_key():
    fingerprint = key_fingerprint("super-secret-key")
    assert "super-secret-key" not in fingerprint and len(fingerprint) == 16
    assert key_fingerprint(None) == "anonymous"


def test_each_refusal_widens_the_gap_up_to_a_cap_and_honours_retry_after():
    clock = FakeTime()
    pacer = Pacer(1.0, now=clock, sleep=clock.sleep)
    pacer.refused()
    assert pacer.gap == pytest.approx(1.5)  # a server stricter than documented is learned
    pacer.refused()  # a call booked at the old spacing: nothing new, no wider
    assert pacer.gap == pytest.approx(1.5)
    for _ in range(20):
        clock.now += pacer.gap
        pacer.refused()
    assert pacer.gap == pytest.approx(8.0)  # never more than 8 documented gaps
    fresh = Pacer(1.0, now=clock, sleep=clock.sleep)
    fresh.refused(retry_after=5.0)
    assert fresh.reserve() == pytest.approx(5.0) and fresh.gap == pytest.approx(5.0)


def test_the_registry_keeps_a_learned_gap():
    pacing.forget_all()
    learned = pacer_for("http://x", key_fingerprint("k"), "rent", 4.5)
    assert learned is not None
    learned.refused()
    assert pacer_for("http://x", key_fingerprint("k"), "rent", 4.5) is learned
    pacing.forget_all()


def test_after_a_refusal_the_next_call_waits_out_the_lockout_as_far_as_it_has_learned():
    clock = FakeTime()
    pacer = Pacer(1.0, penalty=3.0, now=clock, sleep=clock.sleep)
    pacer.reserve()
    pacer.refused()  # the server is stricter: 1.5 s gaps, and its lock-out 1.5 x 3 s
    assert pacer.reserve() == pytest.approx(4.5)


def test_a_slot_booked_before_a_refusal_is_booked_again():
    clock = FakeTime()
    pacer = Pacer(1.0, penalty=2.0, now=clock)
    pacer.reserve()  # another caller holds the first slot; this one is booked at t=1

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now == pytest.approx(5001.0):
            pacer.refused()  # while this caller slept, the other one was refused

    pacer._sleep = sleep
    waited = pacer.wait()
    # Not at t=1, inside the lock-out, but after it: 1.5 x 2 s from the refusal.
    assert waited == pytest.approx(1.0 + 3.0)

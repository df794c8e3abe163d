"""Per-GPU leases on SQLite and PostgreSQL: one holder at a time, renewal, expiry, takeover."""

from __future__ import annotations

import threading

import pytest

from dumont_iac.control_plane.clock import ManualClock
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.store import Store


@pytest.fixture
def leases(db: str, clock: ManualClock):
    store = Store.open(db, clock)
    yield Leases(store.engine, clock)
    store.close()


def test_one_holder_at_a_time_until_release(leases):
    first = leases.acquire(1, "gpu-1", "r1", ttl=30)
    assert first is not None and first.took_over_from is None
    assert leases.acquire(1, "gpu-1", "r2", ttl=30) is None
    assert leases.acquire(1, "gpu-2", "r2", ttl=30) is not None  # another GPU is free
    assert leases.acquire(2, "gpu-1", "r2", ttl=30) is not None  # another user's GPU too
    current = leases.current(1, "gpu-1")
    assert current is not None and current.holder == "r1"
    assert leases.release(first)
    assert leases.current(1, "gpu-1") is None
    second = leases.acquire(1, "gpu-1", "r2", ttl=30)
    assert second is not None and second.token > first.token


def test_a_live_lease_is_not_acquired_again_by_its_own_holder(leases):
    # Two agents of one replica share its name: the second must not bump the first's token.
    first = leases.acquire(1, "gpu-1", "r1", ttl=30)
    assert first is not None
    assert leases.acquire(1, "gpu-1", "r1", ttl=30) is None
    assert leases.renew(first, ttl=30) is not None  # the first still holds it
    assert leases.release(first)
    assert leases.acquire(1, "gpu-1", "r1", ttl=30) is not None


def test_renewal_keeps_a_lease_and_expiry_hands_it_over(leases, clock):
    first = leases.acquire(1, "gpu-1", "r1", ttl=10)
    assert first is not None
    clock.advance(8)
    renewed = leases.renew(first, ttl=10)
    assert renewed is not None
    clock.advance(8)  # 16 s after acquiring, 8 after renewing: still held
    assert leases.acquire(1, "gpu-1", "r2", ttl=10) is None
    clock.advance(3)
    taken = leases.acquire(1, "gpu-1", "r2", ttl=10)
    assert taken is not None and taken.took_over_from == "r1"
    assert taken.token == first.token + 1
    assert leases.renew(renewed, ttl=10) is None  # the old holder is fenced out
    assert not leases.release(renewed)
    current = leases.current(1, "gpu-1")
    assert current is not None and current.holder == "r2"


def test_racing_acquirers_get_exactly_one_lease(leases):
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def race(name: str) -> None:
        barrier.wait()
        if leases.acquire(1, "gpu-race", name, ttl=30) is not None:
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1

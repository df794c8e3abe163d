"""The short-lived search cache: entries expire, taken offers are remembered as long."""

from __future__ import annotations

from dumont_iac.clients.cache import GoneSet, TtlCache


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl_then_is_forgotten():
    clock = FakeTime()
    cache: TtlCache[str] = TtlCache(60, now=clock)
    cache.put(("url", "q"), "answer")
    clock.now += 59.9
    assert cache.get(("url", "q")) == "answer"
    clock.now += 0.1
    assert cache.get(("url", "q")) is None and len(cache) == 0


def test_a_full_cache_drops_expired_then_oldest_entries():
    clock = FakeTime()
    cache: TtlCache[int] = TtlCache(60, max_entries=3, now=clock)
    for number in range(3):
        cache.put(number, number)
        clock.now += 1
    cache.put(3, 3)
    assert cache.get(0) is None and [cache.get(n) for n in (1, 2, 3)] == [1, 2, 3]


def test_taken_offers_are_remembered_per_url_for_the_ttl():
    clock = FakeTime()
    gone = GoneSet(60, now=clock)
    gone.add("http://a", 7)
    assert gone.ids("http://a") == {7} and gone.ids("http://b") == frozenset()
    clock.now += 60
    assert gone.ids("http://a") == frozenset()

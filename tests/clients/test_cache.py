"""The short-lived search cache: entries expire, taken offers are remembered as long."""

from __future__ import annotations

from dumont_iac.clients.cache import GoneSet, SharedListing, TtlCache


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


def test_a_shared_listing_is_fetched_once_by_concurrent_readers():
    import threading

    listing: SharedListing[int] = SharedListing(5)
    calls: list[int] = []
    entered = threading.Event()
    release = threading.Event()

    def fetch() -> int:
        calls.append(1)
        entered.set()
        release.wait(5)
        return len(calls)

    answers: list[int] = []
    readers = [
        threading.Thread(target=lambda: answers.append(listing.get("key", fetch))) for _ in range(4)
    ]
    for reader in readers:
        reader.start()
    entered.wait(5)
    release.set()
    for reader in readers:
        reader.join(5)
    assert calls == [1] and answers == [1, 1, 1, 1]


def test_a_shared_listing_expires_and_is_dropped_by_invalidate():
    clock = FakeTime()
    listing: SharedListing[str] = SharedListing(5, now=clock)
    assert listing.get("k", lambda: "first") == "first"
    assert listing.get("k", lambda: "second") == "first"
    clock.now += 5
    assert listing.get("k", lambda: "third") == "third"
    listing.invalidate("k")
    assert listing.get("k", lambda: "fourth") == "fourth"
    assert listing.get("other", lambda: "apart") == "apart"


def test_a_listing_fetched_while_a_write_was_in_flight_is_not_kept():
    listing: SharedListing[str] = SharedListing(60)

    def fetch_during_a_write() -> str:
        listing.invalidate("k")  # a write of this process starts or ends meanwhile
        return "stale"

    assert listing.get("k", fetch_during_a_write) == "stale"  # the caller gets its answer
    assert listing.get("k", lambda: "fresh") == "fresh"  # but nobody else does


def test_a_shared_listing_serves_each_reader_once():
    listing: SharedListing[str] = SharedListing(60)
    assert listing.get("k", lambda: "first", reader="gpu-a") == "first"
    assert listing.get("k", lambda: "second", reader="gpu-b") == "first"  # one refresh
    assert listing.get("k", lambda: "third", reader="gpu-a") == "third"  # a new look at gpu-a
    assert listing.get("k", lambda: "fourth", reader="gpu-b") == "third"

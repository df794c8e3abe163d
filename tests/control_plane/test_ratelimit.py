import threading
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dumont_iac.control_plane.ratelimit import RateLimit, RateLimitMiddleware, TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(limit: RateLimit, clock: FakeClock) -> FastAPI:
    app = FastAPI()

    @app.get("/gpus")
    def list_gpus() -> list[str]:
        return []

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> str:
        return ""

    app.add_middleware(RateLimitMiddleware, limit=limit, clock=clock)
    return app


def statuses(client: httpx.Client, count: int, **kwargs: Any) -> list[int]:
    return [client.get("/gpus", **kwargs).status_code for _ in range(count)]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_two_keys_are_limited_independently(serve, clock):
    url = serve(make_app(RateLimit(requests=2, per=10), clock))
    with httpx.Client(base_url=url) as client:
        assert statuses(client, 3, headers=bearer("alpha")) == [200, 200, 429]
        # Another key still has its whole burst, and using it leaves alpha's bucket as it was.
        assert statuses(client, 3, headers=bearer("beta")) == [200, 200, 429]
        assert client.get("/gpus", headers=bearer("alpha")).status_code == 429


def test_retry_after_and_body_follow_the_fake_clock(serve, clock):
    url = serve(make_app(RateLimit(requests=1, per=10), clock))
    with httpx.Client(base_url=url, headers=bearer("alpha")) as client:
        assert client.get("/gpus").status_code == 200
        refused = client.get("/gpus")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"
        assert refused.json() == {
            "error": "rate limit exceeded: 1 requests per 10 s for this key; retry after 10 s"
        }
        clock.advance(3.5)  # 6.5 s to go: rounded up, never down
        refused = client.get("/gpus")
        assert refused.headers["retry-after"] == "7"
        assert refused.json()["error"].endswith("retry after 7 s")
        clock.advance(6.4)  # 0.1 s to go still asks for a whole second
        assert client.get("/gpus").headers["retry-after"] == "1"


def test_the_bucket_refills_at_the_configured_rate(serve, clock):
    url = serve(make_app(RateLimit(requests=3, per=30), clock))  # one token per 10 s
    with httpx.Client(base_url=url, headers=bearer("alpha")) as client:
        assert statuses(client, 4) == [200, 200, 200, 429]
        clock.advance(10)
        assert statuses(client, 2) == [200, 429]
        clock.advance(1000)  # a long pause refills to the burst, never beyond it
        assert statuses(client, 4) == [200, 200, 200, 429]


def test_burst_can_differ_from_the_rate(serve, clock):
    url = serve(make_app(RateLimit(requests=1, per=1, burst=5), clock))
    with httpx.Client(base_url=url, headers=bearer("alpha")) as client:
        assert statuses(client, 6) == [200] * 5 + [429]


def test_health_and_metrics_are_never_limited(serve, clock):
    url = serve(make_app(RateLimit(requests=1, per=60), clock))
    with httpx.Client(base_url=url, headers=bearer("alpha")) as client:
        assert client.get("/gpus").status_code == 200
        for _ in range(5):
            assert client.get("/health").status_code == 200
            assert client.get("/metrics").status_code == 200
        assert client.get("/gpus").status_code == 429


def test_callers_without_a_key_are_limited_by_address(serve, clock):
    url = serve(make_app(RateLimit(requests=1, per=60), clock))
    with httpx.Client(base_url=url) as client:
        assert client.get("/gpus").status_code == 200
        assert client.get("/gpus").status_code == 429
        # Not a bearer key: still counted against the address.
        assert client.get("/gpus", headers={"Authorization": "Basic abc"}).status_code == 429
        assert client.get("/gpus", headers={"Authorization": "bearer gamma"}).status_code == 200


def test_buckets_are_thread_safe():
    # 8 threads race for 50 tokens with a clock that never moves: exactly 50 are granted.
    buckets = TokenBuckets(RateLimit(requests=50, per=60), clock=lambda: 0.0)
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        granted.append(sum(buckets.take("alpha") == 0.0 for _ in range(20)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(granted) == 50 and len(granted) == 8


def test_the_table_forgets_the_least_recently_seen_caller_beyond_max_keys():
    clock = FakeClock()
    buckets = TokenBuckets(RateLimit(requests=1, per=60), clock=clock, max_keys=2)
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0
    assert buckets.take("a") == 60.0  # a is now the most recently seen
    assert buckets.take("c") == 0.0  # pushes out b, not a
    assert buckets.take("a") == 60.0
    assert buckets.take("b") == 0.0  # b starts over with a full bucket


@pytest.mark.parametrize(
    "kwargs", [{"requests": 0}, {"requests": 1, "per": 0}, {"requests": 1, "burst": 0}]
)
def test_a_limit_that_could_never_pass_is_refused(kwargs):
    with pytest.raises(ValueError, match="A rate limit needs"):
        RateLimit(**kwargs)

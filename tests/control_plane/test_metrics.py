import asyncio

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from dumont_iac.control_plane.metrics import (
    AgentMetrics,
    HttpMetrics,
    MetricsMiddleware,
    metrics_route,
)


class StepClock:
    """Each reading is a quarter second after the previous one, so every request lasts 0.25 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def make_app(registry: CollectorRegistry) -> FastAPI:
    app = FastAPI()

    @app.get("/gpus/{gpu_id}")
    def show_gpu(gpu_id: str) -> dict[str, str]:
        return {"id": gpu_id}

    @app.post("/gpus")
    def add_gpu() -> dict[str, str]:
        return {"id": "new"}

    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry), clock=StepClock())
    app.router.routes.append(metrics_route(registry))
    return app


def scrape(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**kwargs: str) -> frozenset[tuple[str, str]]:
    return frozenset(kwargs.items())


def test_requests_are_counted_by_route_template_method_and_status(serve):
    registry = CollectorRegistry()
    with httpx.Client(base_url=serve(make_app(registry))) as client:
        for gpu in ("a", "b", "c"):
            assert client.get(f"/gpus/{gpu}").status_code == 200
        assert client.post("/gpus").status_code == 200
        assert client.get("/no/such/path").status_code == 404
        assert client.get("/another/unknown").status_code == 404
        assert client.delete("/gpus/a").status_code == 405
        samples = scrape(client)

    total = "dumont_http_requests_total"
    assert samples[(total, labels(route="/gpus/{gpu_id}", method="GET", status="200"))] == 3
    assert samples[(total, labels(route="/gpus", method="POST", status="200"))] == 1
    assert samples[(total, labels(route="unmatched", method="GET", status="404"))] == 2
    assert samples[(total, labels(route="/gpus/{gpu_id}", method="DELETE", status="405"))] == 1
    # Raw paths never become labels: that is what keeps the number of series bounded.
    routes = {dict(lab)["route"] for name, lab in samples if name == total}
    assert routes == {"/gpus/{gpu_id}", "/gpus", "unmatched"}
    # The scrape itself is counted once it has been answered, so it is not in its own output.
    assert not any(dict(lab).get("route") == "/metrics" for _, lab in samples)


def test_latency_histogram_has_exact_counts_and_sums(serve):
    registry = CollectorRegistry()
    with httpx.Client(base_url=serve(make_app(registry))) as client:
        client.get("/gpus/a")
        client.get("/gpus/b")
        samples = scrape(client)

    route = labels(route="/gpus/{gpu_id}", method="GET")
    assert samples[("dumont_http_request_duration_seconds_count", route)] == 2
    assert samples[("dumont_http_request_duration_seconds_sum", route)] == 0.5
    bucket = "dumont_http_request_duration_seconds_bucket"
    assert samples[(bucket, route | labels(le="0.1"))] == 0
    assert samples[(bucket, route | labels(le="0.25"))] == 2
    assert samples[(bucket, route | labels(le="+Inf"))] == 2


def test_an_app_that_raises_is_counted_as_a_500_and_the_error_goes_on():
    # Driven as bare ASGI: behind a real server the client would only see the reset connection.
    registry = CollectorRegistry()

    async def failing_app(scope, receive, send) -> None:
        raise RuntimeError("handler failed")

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message) -> None:
        raise AssertionError("nothing is sent by an app that failed")

    middleware = MetricsMiddleware(failing_app, HttpMetrics(registry), clock=StepClock())
    scope = {"type": "http", "method": "GET", "path": "/boom", "root_path": "", "headers": []}
    with pytest.raises(RuntimeError, match="handler failed"):
        asyncio.run(middleware(scope, receive, send))
    total = {"route": "unmatched", "method": "GET", "status": "500"}
    assert registry.get_sample_value("dumont_http_requests_total", total) == 1


def test_two_apps_in_one_process_keep_separate_counts(serve):
    first, second = CollectorRegistry(), CollectorRegistry()
    with (
        httpx.Client(base_url=serve(make_app(first))) as one,
        httpx.Client(base_url=serve(make_app(second))) as two,
    ):
        one.get("/gpus/a")
        one.get("/gpus/b")
        two.get("/gpus/a")
        key = (
            "dumont_http_requests_total",
            labels(route="/gpus/{gpu_id}", method="GET", status="200"),
        )
        assert scrape(one)[key] == 2
        assert scrape(two)[key] == 1


def test_agent_metrics_are_scraped_with_exact_values(serve):
    registry = CollectorRegistry()
    agents = AgentMetrics(registry)
    agents.ticks.labels(agent="standby").inc()
    agents.ticks.labels(agent="standby").inc()
    agents.ticks.labels(agent="hibernation").inc()
    agents.leases_acquired.inc(3)
    agents.leases_taken_over.inc()
    agents.leases_held.set(2)
    agents.actions.labels(kind="failover", outcome="done").inc()
    agents.actions.labels(kind="failover", outcome="failed").inc()
    agents.spend.labels(user="ana").inc(0.125)
    agents.spend.labels(user="ana").inc(0.25)
    agents.spend.labels(user="bo").inc(1.5)

    with httpx.Client(base_url=serve(make_app(registry))) as client:
        samples = scrape(client)

    assert samples[("dumont_agent_ticks_total", labels(agent="standby"))] == 2
    assert samples[("dumont_agent_ticks_total", labels(agent="hibernation"))] == 1
    assert samples[("dumont_leases_acquired_total", labels())] == 3
    assert samples[("dumont_leases_expired_taken_over_total", labels())] == 1
    assert samples[("dumont_leases_held", labels())] == 2
    assert samples[("dumont_actions_total", labels(kind="failover", outcome="done"))] == 1
    assert samples[("dumont_actions_total", labels(kind="failover", outcome="failed"))] == 1
    assert samples[("dumont_spend_accrued_usd_total", labels(user="ana"))] == 0.375
    assert samples[("dumont_spend_accrued_usd_total", labels(user="bo"))] == 1.5


def test_unknown_methods_share_one_label(serve):
    registry = CollectorRegistry()
    with httpx.Client(base_url=serve(make_app(registry))) as client:
        assert client.request("BREW", "/gpus/a").status_code == 405
        assert client.request("PROPFIND", "/gpus/a").status_code == 405
        samples = scrape(client)
    total = "dumont_http_requests_total"
    assert samples[(total, labels(route="/gpus/{gpu_id}", method="other", status="405"))] == 2
    methods = {dict(lab)["method"] for name, lab in samples if name == total}
    assert methods == {"other"}


def test_a_mounted_app_counts_its_routes_under_the_mount_prefix(serve):
    registry = CollectorRegistry()
    app = make_app(registry)
    inner = FastAPI()

    @inner.get("/items/{item_id}")
    def show_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app.mount("/v1", inner)
    with httpx.Client(base_url=serve(app)) as client:
        assert client.get("/v1/items/7").status_code == 200
        assert client.get("/v1/items/8").status_code == 200
        assert client.get("/v1/nothing").status_code == 404
        samples = scrape(client)
    total = "dumont_http_requests_total"
    assert samples[(total, labels(route="/v1/items/{item_id}", method="GET", status="200"))] == 2
    assert samples[(total, labels(route="unmatched", method="GET", status="404"))] == 1

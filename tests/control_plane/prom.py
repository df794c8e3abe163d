"""Reading a served app's ``/metrics`` as samples keyed by name and labels."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**kwargs: str) -> frozenset[tuple[str, str]]:
    return frozenset(kwargs.items())


def requests(samples: Samples, route: str, method: str, status: int) -> float:
    """How many requests ``/metrics`` counted for one route template, method and status."""
    key = ("dumont_http_requests_total", labels(route=route, method=method, status=str(status)))
    return samples.get(key, 0.0)

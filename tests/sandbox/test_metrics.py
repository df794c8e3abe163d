"""``/metrics`` on the served sandbox marketplace: requests by route template and status, and
the OpenAPI document left as the marketplace's."""

from __future__ import annotations

from ..control_plane.prom import requests, scrape


def test_requests_are_counted_by_route_template_and_status(sandbox):
    with sandbox.client() as http:
        assert http.get("/api/v0/instances/").status_code == 200
        assert http.get("/api/v0/instances").status_code == 200  # either slash finds the route
        assert http.get("/api/v0/gpu_names/unique/").status_code == 200
        assert http.get("/api/v0/no-such-thing/").status_code == 404
    with sandbox.client(anonymous=True) as anonymous:
        assert anonymous.get("/api/v0/instances/").status_code == 403  # as the marketplace
        samples = scrape(anonymous)

    assert requests(samples, "/api/v0/instances/", "GET", 200) == 2
    assert requests(samples, "/api/v0/instances/", "GET", 403) == 1
    assert requests(samples, "/api/v0/gpu_names/unique/", "GET", 200) == 1
    assert requests(samples, "unmatched", "GET", 404) == 1


def test_metrics_is_not_in_the_openapi_document(sandbox):
    with sandbox.client(anonymous=True) as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths and "/api/v0/instances/" in paths

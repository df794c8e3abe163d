"""The shared HTTP layer: retries where safe, error translation, and one log line per call."""

from __future__ import annotations

import time

import pytest

from dumont_iac import errors
from dumont_iac.clients.control_plane.decoder import ControlPlaneErrors
from dumont_iac.clients.http import Endpoint, HttpApi
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.decoder import MarketplaceErrors
from dumont_iac.config import control_plane_settings, marketplace_settings

INSTANCES = "/api/v0/instances"


def test_a_burst_of_503s_on_a_read_is_retried_until_it_succeeds(client, probe, http_log):
    probe.arm(method="GET", path=INSTANCES, kind="error", status=503, times=3)
    assert client.instances() == []
    assert http_log.statuses("GET", "/api/v0/instances/") == [503, 503, 503, 200]
    assert [r.attempt for r in http_log.calls("GET")] == [1, 2, 3, 4]
    assert probe.armed() == []


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried(client, probe, status):
    probe.arm(method="GET", path="/api/v0/users/current", kind="error", status=status, times=2)
    assert client.user().credit > 0


def test_more_failures_than_attempts_surface_as_server_error(client, probe, http_log):
    probe.arm(method="GET", path=INSTANCES, kind="error", status=503, times=10)
    with pytest.raises(errors.ServerError) as caught:
        client.instances()
    assert caught.value.status == 503
    assert str(caught.value) == (
        "The marketplace failed on GET /api/v0/instances/ (HTTP 503: Injected fault: HTTP 503.)."
    )
    assert len(http_log.calls("GET")) == 4
    assert probe.armed()[0]["remaining"] == 6


def test_a_500_is_not_retried(client, probe):
    probe.arm(method="GET", path=INSTANCES, kind="error", status=500, times=2)
    with pytest.raises(errors.ServerError):
        client.instances()
    assert probe.armed()[0]["remaining"] == 1


def test_a_call_that_is_not_idempotent_is_not_resent_after_a_503(client, probe):
    probe.arm(method="PUT", path="/api/v0/instances/reboot/*", kind="error", status=503, times=2)
    with pytest.raises(errors.ServerError):
        client.reboot(123)
    assert probe.armed()[0]["remaining"] == 1  # exactly one call went out


def test_a_read_that_times_out_is_retried(sandbox, probe, http_log):
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0, timeout=0.3)
    probe.arm(method="GET", path=INSTANCES, kind="hang", seconds=2)
    assert client.instances() == []
    assert http_log.statuses("GET") == ["ReadTimeout", 200]


def test_a_dropped_response_to_a_read_is_retried(client, probe, http_log):
    probe.arm(method="GET", path="/api/v0/users/current", kind="drop")
    assert client.user().id > 0
    assert http_log.statuses("GET")[-1] == 200
    assert len(http_log.calls("GET")) == 2


def test_429_is_retried_even_for_calls_that_are_not_idempotent(sandbox_factory, http_log):
    # The sandbox's gaps halved (reboot: 500 ms, long enough that a busy machine still sends
    # the second reboot inside it), no pacing on this side: the second reboot arrives too
    # early, is refused before anything happens, and is sent again.
    sandbox = sandbox_factory(rate_limits="0.5")
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0)
    with pytest.raises(errors.NotFound):
        client.reboot(1)
    with pytest.raises(errors.NotFound):
        client.reboot(1)
    first, *refused, last = http_log.statuses("PUT")
    assert (first, last) == (404, 404)  # each reboot reached the API, the second after retries
    assert refused and set(refused) == {429}


def test_nothing_secret_is_logged_and_each_line_has_the_call(sandbox, client, http_log, caplog):
    caplog.set_level("DEBUG")
    client.instances()
    client.search_offers()
    with pytest.raises(errors.AuthError):
        MarketplaceClient(sandbox.url, "wrong-key-123456", pacing_scale=0).user()
    assert len(http_log.records) == 3
    for record in http_log.records:
        for name in ("method", "path", "status", "attempt", "latency_ms", "endpoint"):
            assert hasattr(record, name)
        assert "?" not in record.path
    everything = caplog.text + " ".join(str(vars(r)) for r in http_log.records)
    assert sandbox.api_key not in everything and "wrong-key-123456" not in everything
    assert http_log.records[0].getMessage().startswith("GET /api/v0/instances/ status=200")


def test_the_key_is_sent_as_a_bearer_header_never_in_the_url(scripted):
    scripted.answer(
        "GET", "/api/v0/users/current/", 200, {"id": 1, "credit": 5}, "application/json"
    )
    MarketplaceClient(scripted.url, "key-abc", pacing_scale=0).user()
    method, path, headers = scripted.received[0]
    assert headers["Authorization"] == "Bearer key-abc"
    assert "key-abc" not in path


def test_http_200_with_success_false_is_a_failure(scripted):
    scripted.answer(
        "PUT", "/api/v0/instances/7/", 200,
        {"success": False, "msg": "Instance is not running."}, "application/json",
    )  # fmt: skip
    with pytest.raises(errors.ApiError) as caught:
        MarketplaceClient(scripted.url, "k", pacing_scale=0).stop(7)
    assert type(caught.value) is errors.ApiError
    assert str(caught.value) == (
        "The marketplace refused PUT /api/v0/instances/7/: Instance is not running. (HTTP 200)."
    )


def test_a_bad_request_names_the_field(client):
    with pytest.raises(errors.BadRequest) as caught:
        client.change_bid(1, 5000)
    assert caught.value.field == "price"
    assert "(field 'price')" in str(caught.value)


def test_a_plain_text_429_that_never_clears_is_rate_limited(scripted):
    scripted.answer(
        "GET", "/api/v0/instances/", 429, b"API requests too frequent endpoint threshold=1.0",
        "text/plain",
    )  # fmt: skip
    client = MarketplaceClient(scripted.url, "k", pacing_scale=0)
    client.http = HttpApi(client.http.service, retry=client.http.retry.__class__(attempts=2))
    with pytest.raises(errors.RateLimited) as caught:
        client.instances()
    assert "threshold=1.0" in str(caught.value)
    assert len(scripted.received) == 2


def test_an_html_error_page_from_a_proxy_is_a_server_error_not_a_decoding_error(scripted):
    scripted.answer("GET", "/api/v0/instances/", 502, b"<html>Bad Gateway</html>", "text/html")
    api = HttpApi(marketplace_settings(scripted.url, "k", pacing_scale=0))
    with pytest.raises(errors.ServerError, match="HTTP 502 text/html"):
        api.call("GET", "/api/v0/instances/", Endpoint("list", idempotent=False))


def test_a_redirect_is_not_followed_and_says_where_it_points(scripted):
    scripted.answers[("GET", "/api/v0/users/current/")] = (301, "text/html", b"")
    with pytest.raises(errors.NotTheApi, match="answered HTTP 301"):
        MarketplaceClient(scripted.url, "k", pacing_scale=0).user()


def test_a_json_answer_of_the_wrong_shape_is_not_the_api(scripted):
    scripted.answer("GET", "/api/v0/users/current/", 200, {"hello": "world"}, "application/json")
    with pytest.raises(errors.NotTheApi, match=r"answered id: Field required"):
        MarketplaceClient(scripted.url, "k", pacing_scale=0).user()


def test_each_service_decodes_its_own_error_envelope(scripted):
    # The control plane answers a sentence under "error" (not a code) and 422 for bad input;
    # read with the marketplace's decoder, "Validation error" would pass for an error code.
    scripted.answer(
        "PUT",
        "/api/v1/failover/settings/global",
        422,
        {"error": "Validation error", "details": [{"loc": ["body", "strategy"], "msg": "bad"}]},
        "application/json",
    )
    scripted.answer(
        "GET", "/api/v1/warmpool/status/gpu-1", 404, {"error": "no warm pool"}, "application/json"
    )
    api = HttpApi(
        control_plane_settings(scripted.url, "k", pacing_scale=0),
        "control plane",
        decoder=ControlPlaneErrors(),
    )
    with pytest.raises(errors.BadRequest) as caught:
        api.call("PUT", "/api/v1/failover/settings/global", Endpoint("settings"), json={})
    assert caught.value.field == "strategy" and caught.value.code is None
    assert str(caught.value) == (
        "The control plane refused PUT /api/v1/failover/settings/global (field 'strategy'): "
        "Validation error: strategy: bad."
    )
    with pytest.raises(errors.NotFound, match="GET /api/v1/warmpool/status/gpu-1: no warm pool"):
        api.call("GET", "/api/v1/warmpool/status/gpu-1", Endpoint("status"))


def test_a_marketplace_failure_with_http_200_is_decoded_only_by_the_marketplace(scripted):
    body = {"success": False, "error": "invalid_args", "msg": "bad", "field": "price"}
    scripted.answer("GET", "/api/v0/thing/", 200, body, "application/json")
    generic = HttpApi(marketplace_settings(scripted.url, "k", pacing_scale=0))
    assert generic.call("GET", "/api/v0/thing/", Endpoint("thing")) == body
    marketplace = HttpApi(
        marketplace_settings(scripted.url, "k", pacing_scale=0), decoder=MarketplaceErrors()
    )
    with pytest.raises(errors.BadRequest) as caught:
        marketplace.call("GET", "/api/v0/thing/", Endpoint("thing"))
    assert caught.value.code == "invalid_args" and caught.value.field == "price"


def test_a_deadline_bounds_a_hanging_call_retries_included(client, probe):
    probe.arm(method="GET", path="/api/v0/instances/*", kind="hang", seconds=20, times=5)
    with pytest.raises(errors.NoResponse):
        client.instance(1, deadline=time.monotonic() + 0.5)
    # One call went out and timed out at the deadline; no retry started after it.
    assert probe.armed()[0]["remaining"] == 4

"""A marketplace that answered earlier in this process and then stops answering is down for the
moment: the error says so and that a retry is safe, not that the URL setting is wrong."""

from __future__ import annotations

import socket

import pytest

from dumont_iac.clients.http import RetryPolicy, answered_before
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.errors import Unreachable

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02, jitter=0.01)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_marketplace_stopped_mid_run_is_reported_as_down_not_misconfigured(sandbox_factory):
    sandbox = sandbox_factory()
    client = MarketplaceClient(sandbox.url, sandbox.api_key, retry=FAST, pacing_scale=0)
    assert not answered_before(sandbox.url)
    assert client.user().credit > 0
    assert answered_before(sandbox.url)

    sandbox.stop()
    with pytest.raises(Unreachable) as caught:
        client.user()
    message = str(caught.value)
    assert message == (
        f"The marketplace URL {sandbox.url} (given as an argument) answered earlier in this run "
        "but is not answering now (connection refused); the call had no effect and is safe to "
        "retry once the service is back."
    )
    assert "pulumi config set" not in message and "VAST_URL" not in message
    assert caught.value.reason == "connection refused"


def test_a_url_that_never_answered_still_names_the_setting(sandbox_factory, closed_port):
    sandbox = sandbox_factory()
    MarketplaceClient(sandbox.url, sandbox.api_key, retry=FAST, pacing_scale=0).user()
    # Another URL in the same process has answered; this one never did.
    client = MarketplaceClient(f"http://127.0.0.1:{closed_port}", "k", retry=FAST)
    with pytest.raises(Unreachable) as caught:
        client.user()
    assert "cannot be reached (connection refused)" in str(caught.value)
    assert "pulumi config set dumont:vastUrl <url>" in str(caught.value)

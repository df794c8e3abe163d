"""Settings resolution (argument > Pulumi config > environment > default) and its sentences."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys

import pytest

from dumont_iac.clients.http import Endpoint, HttpApi, RetryPolicy
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.config import (
    DUMONT_API_KEY,
    DUMONT_API_URL,
    VAST_API_KEY,
    VAST_URL,
    Source,
    control_plane_settings,
    marketplace_settings,
    resolve_pacing_scale,
)
from dumont_iac.errors import (
    AuthError,
    NotTheApi,
    SettingInvalid,
    SettingMissing,
    Unreachable,
)

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02, jitter=0.01)
ALL_VARS = ("VAST_URL", "VAST_API_KEY", "DUMONT_API_URL", "DUMONT_API_KEY", "DUMONT_PACING_SCALE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- resolution order ----------------------------------------------------------------------


def test_argument_beats_environment_beats_default(monkeypatch):
    assert VAST_URL.resolve().plain() == "https://console.vast.ai"
    assert VAST_URL.resolve().source is Source.DEFAULT
    monkeypatch.setenv("VAST_URL", "http://from-env:1")
    assert VAST_URL.resolve().plain() == "http://from-env:1"
    assert VAST_URL.resolve().source is Source.ENVIRONMENT
    assert VAST_URL.resolve("http://explicit:2").plain() == "http://explicit:2"
    assert VAST_URL.resolve("http://explicit:2").source is Source.ARGUMENT


def test_defaults_of_every_setting():
    assert DUMONT_API_URL.resolve().plain() == "http://localhost:8000"
    assert VAST_API_KEY.resolve().plain() is None
    assert DUMONT_API_KEY.resolve().plain() is None
    assert resolve_pacing_scale() == 1.0


def test_an_empty_environment_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("VAST_URL", "  ")
    assert VAST_URL.resolve().source is Source.DEFAULT


def test_pulumi_config_is_ignored_outside_a_program(monkeypatch):
    # The engine passes config through PULUMI_CONFIG; outside a program it must not count.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"dumont:vastUrl": "http://from-pulumi:3"}))
    monkeypatch.setenv("VAST_URL", "http://from-env:1")
    assert VAST_URL.resolve().plain() == "http://from-env:1"


PROGRAM = """
import json, os
import pulumi
from pulumi.runtime import set_all_config, set_mocks, Mocks

class NoResources(Mocks):
    def new_resource(self, args):
        return [args.name + "_id", args.inputs]
    def call(self, args):
        return {}

set_mocks(NoResources())
set_all_config({"dumont:vastUrl": "http://from-pulumi:3", "dumont:vastApiKey": "pulumi-key"},
               ["dumont:vastApiKey"])
from dumont_iac.config import VAST_URL, VAST_API_KEY, DUMONT_API_URL
print(json.dumps({
    "url": VAST_URL.resolve().plain(),
    "url_source": VAST_URL.resolve().source.value,
    "explicit": VAST_URL.resolve("http://explicit:2").plain(),
    "key": VAST_API_KEY.resolve().plain(),
    "key_origin": VAST_API_KEY.resolve().origin(),
    "control_plane": DUMONT_API_URL.resolve().plain(),
}))
"""


def test_inside_a_program_pulumi_config_beats_the_environment_but_not_an_argument():
    # A separate process: Pulumi's runtime settings are process-wide.
    env = {"VAST_URL": "http://from-env:1", "DUMONT_API_URL": "http://cp-env:4", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "url": "http://from-pulumi:3",
        "url_source": "pulumi",
        "explicit": "http://explicit:2",
        "key": "pulumi-key",
        "key_origin": "from Pulumi config dumont:vastApiKey",
        "control_plane": "http://cp-env:4",
    }


# --- keys stay secret ----------------------------------------------------------------------


def test_keys_are_never_shown_and_never_pickled():
    key = VAST_API_KEY.resolve("very-secret-key")
    assert "very-secret-key" not in repr(key) and "very-secret-key" not in str(key)
    client = MarketplaceClient("http://127.0.0.1:1", "very-secret-key")
    assert "very-secret-key" not in repr(client) and "very-secret-key" not in repr(client.http)
    with pytest.raises(TypeError, match="marketplace API key is a secret"):
        pickle.dumps(client)
    url = VAST_URL.resolve("http://127.0.0.1:1")
    assert pickle.loads(pickle.dumps(url)) == url  # settings without secrets pickle fine


# --- the sentences -------------------------------------------------------------------------


def test_missing_key_sentence():
    client = MarketplaceClient("http://127.0.0.1:1", retry=FAST)
    with pytest.raises(SettingMissing) as caught:
        client.user()
    assert str(caught.value) == (
        "The marketplace API key is not set: run `pulumi config set --secret "
        "dumont:vastApiKey <key>` or set the environment variable VAST_API_KEY."
    )
    assert caught.value.setting == "dumont:vastApiKey"


def test_missing_control_plane_key_sentence():
    with pytest.raises(SettingMissing) as caught:
        control_plane_settings().key.require()
    assert str(caught.value) == (
        "The control-plane API key is not set: run `pulumi config set --secret "
        "dumont:apiKey <key>` or set the environment variable DUMONT_API_KEY."
    )


def test_unreachable_url_sentence(closed_port):
    client = MarketplaceClient(f"http://127.0.0.1:{closed_port}", "k", retry=FAST)
    with pytest.raises(Unreachable) as caught:
        client.user()
    assert str(caught.value) == (
        f"The marketplace URL http://127.0.0.1:{closed_port} (given as an argument) cannot be "
        "reached (connection refused): run `pulumi config set dumont:vastUrl <url>` or set the "
        "environment variable VAST_URL."
    )
    assert caught.value.__cause__ is not None  # translated from httpx, not swallowed


def test_unreachable_control_plane_url_from_the_environment(monkeypatch, closed_port):
    monkeypatch.setenv("DUMONT_API_URL", f"http://127.0.0.1:{closed_port}")
    api = HttpApi(control_plane_settings(), "control plane", retry=FAST)
    with pytest.raises(Unreachable) as caught:
        api.call("GET", "/api/v1/health", Endpoint("health"), auth="none")
    assert str(caught.value) == (
        f"The control-plane URL http://127.0.0.1:{closed_port} (from the environment variable "
        "DUMONT_API_URL) cannot be reached (connection refused): run `pulumi config set "
        "dumont:apiUrl <url>` or set the environment variable DUMONT_API_URL."
    )


def test_a_url_serving_html_sentence(html_url):
    client = MarketplaceClient(html_url, "k", retry=FAST)
    with pytest.raises(NotTheApi) as caught:
        client.user()
    assert str(caught.value) == (
        f"The marketplace URL {html_url} (given as an argument) does not serve the marketplace "
        "API (GET /api/v0/users/current/ answered HTTP 200 text/html): run `pulumi config set "
        "dumont:vastUrl <url>` or set the environment variable VAST_URL."
    )


def test_a_url_without_scheme_sentence(monkeypatch):
    monkeypatch.setenv("VAST_URL", "localhost:8000")
    with pytest.raises(SettingInvalid) as caught:
        marketplace_settings()
    assert str(caught.value) == (
        "The marketplace URL 'localhost:8000' (from the environment variable VAST_URL) is not "
        "an http:// or https:// URL: run `pulumi config set dumont:vastUrl <url>` or set the "
        "environment variable VAST_URL."
    )


def test_a_refused_key_sentence(sandbox):
    client = MarketplaceClient(sandbox.url, "not-the-right-key", retry=FAST)
    with pytest.raises(AuthError) as caught:
        client.user()
    assert str(caught.value) == (
        f"The marketplace API key (given as an argument) was refused by {sandbox.url} "
        "(HTTP 401: Invalid user key): run `pulumi config set --secret dumont:vastApiKey <key>` "
        "or set the environment variable VAST_API_KEY."
    )
    assert "not-the-right-key" not in str(caught.value)


def test_a_bad_pacing_scale_sentence(monkeypatch):
    monkeypatch.setenv("DUMONT_PACING_SCALE", "fast")
    with pytest.raises(SettingInvalid) as caught:
        resolve_pacing_scale()
    assert str(caught.value) == (
        "The pacing scale 'fast' (from the environment variable DUMONT_PACING_SCALE) is not a "
        "number >= 0: run `pulumi config set dumont:pacingScale <value>` or set the environment "
        "variable DUMONT_PACING_SCALE."
    )

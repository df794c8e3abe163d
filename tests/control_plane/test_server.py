"""Serving: HTTPS with a given certificate, compressed answers on request, and the CLI that
creates users and prints the key a first start generates."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.control_plane.cli import bootstrap
from dumont_iac.control_plane.clock import RealClock
from dumont_iac.control_plane.server import Tls, running_control_plane
from dumont_iac.control_plane.settings import ControlPlaneSettings
from dumont_iac.control_plane.store import Store

from .replicas import Replica


def self_signed(directory: Path) -> Tls:
    """A certificate for 127.0.0.1, signed by its own key (it is its own trust anchor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(str(cert_path), str(key_path))


def test_tls_serves_https_that_a_client_trusting_the_certificate_accepts(tmp_path):
    tls = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=tls.cert)
    settings = ControlPlaneSettings(db=str(tmp_path / "cp.db"), run_agents=False)
    with running_control_plane(settings, tls=tls, verify=trusted) as served:
        assert served.url.startswith("https://127.0.0.1:")
        _, key = served.store.users.create("alice")
        with served.client(key, verify=trusted) as http:
            assert http.get("/api/v1/budgets").json() == {"budgets": []}
        with httpx.Client(base_url=served.url) as untrusting:  # the system's CAs only
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                untrusting.get("/health")
        plain = served.url.replace("https://", "http://")
        with httpx.Client(base_url=plain) as http:
            with pytest.raises(httpx.HTTPError):
                http.get("/health").raise_for_status()


def test_answers_are_compressed_when_the_client_asks(control_plane):
    with control_plane.client(control_plane.alice) as http:
        asked = http.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert asked.headers["content-encoding"] == "gzip"
        assert asked.json()["info"]["title"] == "dumont-iac control plane"  # decoded fine
        unasked = http.get("/openapi.json", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in unasked.headers
        assert int(unasked.headers["content-length"]) > int(asked.headers["content-length"])
        body = http.get("/api/v1/failover/settings/global", headers={"Accept-Encoding": "gzip"})
        assert body.headers["content-encoding"] == "gzip" and body.json()["strategy"] == "both"


def test_add_user_prints_a_working_key_once(tmp_path):
    db = str(tmp_path / "cp.db")
    runner = CliRunner()
    created = runner.invoke(app, ["control-plane", "add-user", "carol", "--db", db])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    again = runner.invoke(app, ["control-plane", "add-user", "carol", "--db", db])
    assert again.exit_code != 0 and "already exists" in again.output
    store = Store.open(db, RealClock())
    try:
        assert store.users.check(key).user_id == store.users.id_of("carol")
    finally:
        store.close()


def test_bootstrap_generates_a_first_key_and_keeps_a_given_one(tmp_path):
    db = str(tmp_path / "cp.db")
    key, generated = bootstrap(db, "admin", None)
    assert generated and key is not None
    assert bootstrap(db, "admin", None) == (None, False)  # users exist: nothing new
    assert bootstrap(db, "admin", "my-own-key") == ("my-own-key", False)
    assert bootstrap(db, "admin", "my-own-key") == ("my-own-key", False)  # idempotent
    store = Store.open(db, RealClock())
    try:
        admin = store.users.id_of("admin")
        assert store.users.check(key).user_id == admin
        assert store.users.check("my-own-key").user_id == admin
        assert store.users.count() == 1
    finally:
        store.close()


@pytest.mark.slow
def test_the_command_prints_the_exports_and_serves_with_the_generated_key(tmp_path):
    replica = Replica("cli", str(tmp_path / "cp.db"), None, tmp_path, no_agents=True)
    try:
        replica.wait_until_healthy()
        output = replica.log_path.read_text()
        assert f"export DUMONT_API_URL={replica.url}" in output
        key = re.search(r"export DUMONT_API_KEY=(\S+)", output)
        assert key is not None, output
        with httpx.Client(base_url=replica.url) as http:
            auth = {"Authorization": f"Bearer {key.group(1)}"}
            assert http.get("/api/v1/budgets", headers=auth).status_code == 200
            assert http.get("/health/agents").json()["running"] is False
    finally:
        replica.stop()


class Recorder:
    """An extra middleware, as a rate limiter or a metrics collector would be installed."""

    seen: list[tuple[str, int]] = []

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                Recorder.seen.append((scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, watch)


def test_extra_middleware_sees_every_request_refused_ones_included(tmp_path):
    from starlette.middleware import Middleware

    Recorder.seen = []
    settings = ControlPlaneSettings(db=str(tmp_path / "cp.db"), run_agents=False)
    with running_control_plane(settings, middleware=[Middleware(Recorder)]) as served:
        _, key = served.store.users.create("alice")
        with served.client() as http:
            http.get("/api/v1/budgets")
            http.get("/api/v1/budgets", headers={"Authorization": f"Bearer {key}"})
    assert ("/api/v1/budgets", 401) in Recorder.seen
    assert ("/api/v1/budgets", 200) in Recorder.seen


def test_a_database_that_goes_away_is_a_503_not_a_crash(serve_control_plane, postgres_url):
    import psycopg

    served = serve_control_plane(db=postgres_url)
    with served.client(served.alice) as http:
        assert http.get("/health").json()["store"] == "postgresql"
        admin_url, _, name = postgres_url.rpartition("/")
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        health = http.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        refused = http.get("/api/v1/budgets")
        assert refused.status_code == 503
        assert refused.json() == {"error": "The control plane's database does not answer; "
                                           "try again shortly."}  # fmt: skip
        assert refused.headers["retry-after"] == "5"

"""A world for budgets: the sandbox marketplace (60x clock), the real control plane on its
clock with quick webhook retries, moto's server for EC2, and a webhook receiver on 127.0.0.1.

The control plane can be restarted on the same database (``restart``), to show that what the
budgets agent persisted (spend, alerts sent) survives it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dumont_iac.control_plane.cli import bootstrap
from dumont_iac.control_plane.server import ControlPlaneHandle, start_control_plane
from dumont_iac.control_plane.settings import ControlPlaneSettings
from dumont_iac.control_plane.webhooks import DeliveryPolicy
from dumont_iac.sandbox.world import AWS_CREDENTIALS, _start_aws, aws_available

# Retries within a few real seconds, so a receiver down for a moment is retried quickly.
QUICK_RETRIES = DeliveryPolicy(attempts=4, initial=0.2, maximum=0.5, jitter=0.05, deadline=5.0,
                               timeout=2.0)  # fmt: skip
SECRET = "whsec-" + "b" * 32
SANDBOX = {"machines": 40, "speed": 60.0, "rate_limits": "off"}


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: records every request; answers ``failures`` 500s first."""

    failures: int = 0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/budget-token-in-path"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(Received(body, dict(self.headers)))
                    failing = receiver.failures > 0
                    receiver.failures -= 1 if failing else 0
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def accepted(self) -> list[Received]:
        """Requests answered 2xx, in order (the first ``failures`` were refused)."""
        with self.lock:
            return list(self.requests)


@dataclass
class BudgetWorld:
    market: Any
    db: str
    key: str
    aws_url: str | None
    control_plane: ControlPlaneHandle | None = None

    def start_control_plane(self) -> None:
        self.control_plane = start_control_plane(
            ControlPlaneSettings(
                db=self.db,
                marketplace_url=self.market.url,
                marketplace_key=self.market.api_key,
                marketplace_pacing=0.0,
                webhook_delivery=QUICK_RETRIES,
            ),
            clock=self.market.clock,
        )

    def restart(self) -> None:
        assert self.control_plane is not None
        self.control_plane.stop()
        self.start_control_plane()

    def env(self) -> dict[str, str]:
        assert self.control_plane is not None
        values = {
            "VAST_URL": self.market.url,
            "VAST_API_KEY": self.market.api_key,
            "DUMONT_API_URL": self.control_plane.url,
            "DUMONT_API_KEY": self.key,
        }
        if self.aws_url:
            values |= {"AWS_ENDPOINT_URL": self.aws_url, **AWS_CREDENTIALS}
        return values


@pytest.fixture
def budget_world(
    tmp_path: Path, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BudgetWorld]:
    market = sandbox_factory(**SANDBOX)
    db = str(tmp_path / "control-plane.db")
    key = secrets.token_urlsafe(24)
    bootstrap(db, "budgets", key)
    aws = _start_aws("127.0.0.1", 0) if aws_available() else None
    world = BudgetWorld(market, db, key, aws.url if aws else None)
    # The control plane runs in this process: its agent reaches moto through the environment.
    for name in ("AWS_ENDPOINT_URL", *AWS_CREDENTIALS):
        monkeypatch.delenv(name, raising=False)
    if aws is not None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
        for name, value in AWS_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
    world.start_control_plane()
    yield world
    if world.control_plane is not None:
        world.control_plane.stop()
    if aws is not None:
        aws.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.start()
    yield hook
    hook.stop()


def marker() -> str:
    """A fresh GpuInstance-style logical id."""
    return "gpu-" + hashlib.sha256(secrets.token_bytes(8)).hexdigest()[:12]

"""Event webhooks end to end: an action's outcome on a served control plane is POSTed, signed,
to a real receiver on 127.0.0.1 that fails its first calls and then accepts, and the delivery's
outcome lands in the event log without the secret."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dumont_iac.control_plane.notify import webhook_kind
from dumont_iac.control_plane.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DeliveryPolicy,
    SignatureError,
    verify,
)

from .market import rent_stopped_gpu

GPU = "gpu-0123456789ab"
WAIT = 30.0  # upper bound on waiting for the delivery threads; never reached when things work
# Real but short backoffs, so the retries are really waited out.
QUICK = DeliveryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.0, deadline=60.0)


class Receiver:
    """A real HTTP server that checks each request's signature with ``verify`` (400 when it
    fails), answers ``failures`` 503s first, then 200."""

    def __init__(self, failures: int) -> None:
        self.secret = ""  # known once the webhook is registered
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        self.answered = threading.Semaphore(0)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(body, self.headers.get(SIGNATURE_HEADER, ""), receiver.secret)
                    signed = True
                except SignatureError:
                    signed = False
                with receiver.lock:
                    failing = signed and receiver.failures > 0
                    receiver.failures -= failing
                    status = 400 if not signed else 503 if failing else 200
                    receiver.requests.append((dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.answered.release()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/dumont"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int) -> None:
        for _ in range(count):
            assert self.answered.acquire(timeout=WAIT), f"{len(self.requests)} request(s) came"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[[int], Receiver]]:
    started: list[Receiver] = []

    def start(failures: int = 0) -> Receiver:
        started.append(Receiver(failures))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def outcomes(http: Any) -> list[dict[str, Any]]:
    """The caller's webhook.* events, once there is one (bounded wait on the delivery thread)."""
    deadline = time.monotonic() + WAIT
    while True:
        answer = http.get("/api/v1/events", params={"kind": "webhook."})
        assert answer.status_code == 200, answer.text
        found = answer.json()["events"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)  # well within the default rate limit (20 requests/s)


def register(http: Any, receiver: Receiver, kinds: list[str]) -> int:
    created = http.post("/api/v1/webhooks", json={"url": receiver.url, "kinds": kinds})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    return created.json()["id"]


def test_a_failover_is_posted_signed_retried_and_its_delivery_logged(
    sandbox, serve_control_plane, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    contract_id = rent_stopped_gpu(sandbox, GPU)
    served = serve_control_plane(
        marketplace_url=sandbox.url,
        marketplace_key=sandbox.api_key,
        marketplace_pacing=0,
        webhook_delivery=QUICK,
    )
    alices, bobs, budgets_only = receiver(failures=2), receiver(), receiver()
    with served.client(served.alice) as alice, served.client(served.bob) as bob:
        webhook_id = register(alice, alices, ["failover"])
        register(alice, budgets_only, ["budget"])
        register(bob, bobs, [])
        assert alice.post("/api/v1/failover/execute", json={"gpu_id": GPU}).status_code == 202
        served.handle.app.state.agents.tick_once()

        alices.wait_for(3)
        logged = outcomes(alice)
        # Bob's webhook wants every kind, but the event is Alice's: nothing was queued for him.
        assert bob.get("/api/v1/events", params={"kind": "webhook."}).json()["events"] == []
        events = alice.get("/api/v1/events").text

    assert [status for _, _, status in alices.requests] == [503, 503, 200]
    bodies = {body for _, body, _ in alices.requests}
    assert len(bodies) == 1  # the same body on every retry, signed afresh each time
    ids = {headers[EVENT_ID_HEADER] for headers, _, _ in alices.requests}
    sent = json.loads(bodies.pop())
    assert ids == {sent["id"]}
    assert sent["kind"] == "failover" and sent["gpu_id"] == GPU
    assert sent["data"]["outcome"] == "succeeded"
    assert sent["data"]["event_kind"] == "action.succeeded"
    assert sent["data"]["result"] == {"contract_id": contract_id, "did": "start", "was": "stopped"}

    assert len(logged) == 1
    (delivered,) = logged
    assert delivered["kind"] == "webhook.delivered"
    assert delivered["data"] == {
        "webhook_id": webhook_id,
        "event_id": sent["id"],
        "kind": "failover",
        "origin": alices.url.removesuffix("/hooks/dumont"),
        "attempts": 3,
        "status": 200,
        "error": None,
    }
    # Neither another user's receiver nor one that wants other kinds heard of it.
    assert bobs.requests == [] and budgets_only.requests == []
    for secret in (alices.secret, bobs.secret, budgets_only.secret):
        assert secret not in events and secret not in caplog.text


def test_a_delivery_that_never_succeeds_is_logged_as_failed(sandbox, serve_control_plane, receiver):
    served = serve_control_plane(
        marketplace_url=sandbox.url,
        marketplace_key=sandbox.api_key,
        marketplace_pacing=0,
        webhook_delivery=QUICK,
    )
    refusing = receiver(failures=QUICK.attempts)
    with served.client(served.alice) as http:
        webhook_id = register(http, refusing, [])
        # A GPU nothing rents: the action fails, which is a failover event too.
        assert http.post("/api/v1/failover/execute", json={"gpu_id": GPU}).status_code == 202
        served.handle.app.state.agents.tick_once()
        refusing.wait_for(QUICK.attempts)
        (failed,) = outcomes(http)

    assert [status for _, _, status in refusing.requests] == [503] * QUICK.attempts
    sent = json.loads(refusing.requests[0][1])
    assert sent["kind"] == "failover" and sent["data"]["outcome"] == "failed"
    assert failed["kind"] == "webhook.failed"
    assert failed["data"]["webhook_id"] == webhook_id
    assert failed["data"]["attempts"] == QUICK.attempts and failed["data"]["status"] == 503
    assert failed["data"]["error"] == f"HTTP 503 after {QUICK.attempts} attempts"
    assert refusing.secret not in json.dumps(failed)


@pytest.mark.parametrize(
    ("kind", "sent_as"),
    [
        ("action.succeeded", "failover"),
        ("action.failed", "failover"),
        ("recovery.done", "recovery"),
        ("hibernation.paused", "hibernation"),
        ("wake.done", "wake"),
        ("budget.crossed", "budget"),
        ("action.requested", None),
        ("action.started", None),
        ("action.abandoned", None),
        ("lease.taken_over", None),
        ("key.rotated", None),
        ("webhook.delivered", None),
        ("webhook.failed", None),
    ],
)
def test_the_documented_mapping_of_event_kinds(kind, sent_as):
    assert webhook_kind(kind) == sent_as

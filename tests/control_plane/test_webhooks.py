import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from dumont_iac.control_plane.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DeliveryOutcome,
    DeliveryPolicy,
    Event,
    SignatureError,
    WebhookDispatcher,
    WebhookEndpoint,
    deliver,
    sign,
    verify,
)

SECRET = "whsec_test_4c1f0e9b"
WAIT = 30.0  # upper bound on waiting for another thread; never reached when things work

# No real backoff in tests: waits are recorded by the injected sleep instead of slept.
FAST = DeliveryPolicy(attempts=5, initial=1.0, maximum=8.0, jitter=0.0, deadline=600.0)


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with scripted statuses, then 200."""

    def __init__(self, script: list[int | tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Semaphore(0)
        self.gate = threading.Event()
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                    answer = receiver.script.pop(0) if receiver.script else 200
                receiver.arrived.release()
                receiver.gate.wait(WAIT)
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/dumont"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*script: int | tuple[int, dict[str, str]]) -> Receiver:
        started.append(Receiver(list(script)))
        return started[-1]

    yield start
    for each in started:
        each.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=True) as client:  # delivery must refuse redirects anyway
        yield client


def failover_event() -> Event:
    return Event("failover", "gpu-train", {"from": "c-1", "to": "c-2", "strategy": "warm_pool"})


def deliver_recording(event, endpoint, client, policy=FAST) -> tuple[DeliveryOutcome, list[float]]:
    waits: list[float] = []
    return deliver(event, endpoint, client, policy, sleep=waits.append), waits


def test_transient_failures_are_retried_with_one_event_id_and_valid_signatures(receiver, client):
    server = receiver(500, 503)
    event = failover_event()
    outcome, waits = deliver_recording(event, WebhookEndpoint(server.url, SECRET), client)

    assert (outcome.delivered, outcome.attempts, outcome.status) == (True, 3, 200)
    assert outcome.error is None
    assert waits == [1.0, 2.0]  # exponential: initial, then doubled
    assert len(server.requests) == 3
    assert {headers[EVENT_ID_HEADER] for headers, _ in server.requests} == {event.id}
    for headers, body in server.requests:
        assert body == event.body()
        assert headers["Content-Type"] == "application/json"
        verify(body, headers[SIGNATURE_HEADER], SECRET)
        with pytest.raises(SignatureError, match="does not match"):
            verify(body, headers[SIGNATURE_HEADER], "whsec_someone_else")
        with pytest.raises(SignatureError, match="does not match"):
            verify(body.replace(b"c-2", b"c-3"), headers[SIGNATURE_HEADER], SECRET)


def test_the_payload_has_the_documented_shape(receiver, client):
    server = receiver()
    created = datetime(2026, 12, 1, 22, 40, 5, tzinfo=UTC)
    event = Event("budget", None, {"threshold": 0.8, "spent_usd": 40.0}, "evt_1", created)
    outcome, _ = deliver_recording(event, WebhookEndpoint(server.url, SECRET), client)
    assert outcome.delivered
    assert json.loads(server.requests[0][1]) == {
        "id": "evt_1",
        "kind": "budget",
        "gpu_id": None,
        "created_at": "2026-12-01T22:40:05Z",
        "data": {"threshold": 0.8, "spent_usd": 40.0},
    }


def test_an_expired_or_future_timestamp_is_refused():
    body = failover_event().body()
    header = sign(body, SECRET, 1_800_000_000)
    verify(body, header, SECRET, tolerance=300, now=1_800_000_299)
    verify(body, header, SECRET, tolerance=300, now=1_799_999_701)
    with pytest.raises(SignatureError, match="301 s from now, more than the 300 s allowed"):
        verify(body, header, SECRET, tolerance=300, now=1_800_000_301)
    with pytest.raises(SignatureError, match="more than the 300 s allowed"):
        verify(body, header, SECRET, tolerance=300, now=1_799_999_600)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=123", "t=soon,v1=abc", "garbage"])
def test_a_malformed_signature_header_is_refused(header):
    with pytest.raises(SignatureError, match="not of the form"):
        verify(b"{}", header, SECRET, now=123)


def test_any_matching_v1_passes_so_secrets_can_rotate():
    body = b'{"id":"evt_1"}'
    old = sign(body, "whsec_old", 1_800_000_000)
    new = sign(body, "whsec_new", 1_800_000_000).partition(",")[2]
    verify(body, f"{old},{new}", "whsec_new", now=1_800_000_000)
    verify(body, f"{old},{new}", "whsec_old", now=1_800_000_000)


def test_a_400_is_not_retried(receiver, client):
    server = receiver(400)
    outcome, waits = deliver_recording(
        failover_event(), WebhookEndpoint(server.url, SECRET), client
    )
    assert (outcome.delivered, outcome.attempts, outcome.status) == (False, 1, 400)
    assert outcome.error == "refused with HTTP 400; not retried"
    assert len(server.requests) == 1 and waits == []


def test_a_redirect_is_neither_followed_nor_retried(receiver, client):
    server = receiver((302, {"Location": "http://127.0.0.1:9/elsewhere"}))
    outcome, _ = deliver_recording(failover_event(), WebhookEndpoint(server.url, SECRET), client)
    assert (outcome.delivered, outcome.attempts, outcome.status) == (False, 1, 302)


def test_a_429_is_retried_after_the_time_it_asks_for(receiver, client):
    server = receiver((429, {"Retry-After": "7"}))
    outcome, waits = deliver_recording(
        failover_event(), WebhookEndpoint(server.url, SECRET), client
    )
    assert (outcome.delivered, outcome.attempts) == (True, 2)
    assert waits == [7.0]


def test_attempts_are_bounded_and_backoff_is_capped(receiver, client):
    server = receiver(*[503] * 10)
    policy = DeliveryPolicy(attempts=4, initial=1.0, maximum=3.0, jitter=0.0)
    endpoint = WebhookEndpoint(server.url, SECRET)
    outcome, waits = deliver_recording(failover_event(), endpoint, client, policy)
    assert (outcome.delivered, outcome.attempts, outcome.status) == (False, 4, 503)
    assert outcome.error == "HTTP 503 after 4 attempts"
    assert waits == [1.0, 2.0, 3.0]
    assert len(server.requests) == 4


def test_jitter_stays_within_its_bound(receiver, client):
    server = receiver(500, 500, 500)
    policy = DeliveryPolicy(attempts=4, initial=1.0, maximum=60.0, jitter=0.5)
    endpoint = WebhookEndpoint(server.url, SECRET)
    outcome, waits = deliver_recording(failover_event(), endpoint, client, policy)
    assert outcome.delivered
    assert [int(w) for w in waits] == [1, 2, 4]
    assert all(0 <= w - base <= 0.5 for w, base in zip(waits, [1, 2, 4], strict=True))


def test_no_retry_starts_past_the_deadline(receiver, client):
    server = receiver(500, 500)
    policy = DeliveryPolicy(attempts=10, initial=5.0, jitter=0.0, deadline=4.0)
    outcome, waits = deliver_recording(
        failover_event(), WebhookEndpoint(server.url, SECRET), client, policy
    )
    assert (outcome.delivered, outcome.attempts, waits) == (False, 1, [])


def test_a_refused_connection_is_retried(client):
    with socket.socket() as sock:  # a port that was free a moment ago, with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = DeliveryPolicy(attempts=3, initial=1.0, jitter=0.0)
    endpoint = WebhookEndpoint(f"http://127.0.0.1:{port}/hook", SECRET)
    outcome, waits = deliver_recording(failover_event(), endpoint, client, policy)
    assert (outcome.delivered, outcome.attempts, outcome.status) == (False, 3, None)
    assert outcome.error is not None and outcome.error.startswith("ConnectError after 3 attempts")
    assert waits == [1.0, 2.0]


def test_a_timeout_is_retried(receiver, client):
    server = receiver()
    server.gate.clear()  # the receiver holds every request until the test ends
    policy = DeliveryPolicy(attempts=2, initial=1.0, jitter=0.0, timeout=0.2)
    endpoint = WebhookEndpoint(server.url, SECRET)
    outcome, _ = deliver_recording(failover_event(), endpoint, client, policy)
    assert (outcome.delivered, outcome.attempts, outcome.status) == (False, 2, None)
    assert outcome.error is not None and outcome.error.startswith("ReadTimeout after 2 attempts")
    assert len(server.requests) == 2


def test_secrets_stay_out_of_reprs_outcomes_and_logs(receiver, client, caplog):
    server = receiver(500)
    endpoint = WebhookEndpoint(server.url + "/T0KEN-IN-PATH", SECRET)
    with caplog.at_level(logging.DEBUG):
        outcome, _ = deliver_recording(failover_event(), endpoint, client)
    assert outcome.delivered
    assert SECRET not in repr(endpoint) and SECRET not in str(endpoint)
    assert SECRET not in repr(outcome)
    assert SECRET not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name == "dumont_iac.webhooks"]
    assert len(ours) == 1 and "T0KEN-IN-PATH" not in ours[0]
    assert outcome.origin == server.url.removesuffix("/hooks/dumont")


def test_an_unknown_kind_or_unserialisable_data_fails_in_the_caller():
    with pytest.raises(ValueError, match="Unknown event kind 'failvoer'"):
        Event("failvoer", "gpu-1")
    with WebhookDispatcher(on_outcome=lambda outcome: None) as dispatcher:
        with pytest.raises(TypeError):
            dispatcher.publish(Event("wake", "gpu-1", {"at": object()}), [])


def test_publishing_does_not_wait_for_delivery(receiver):
    server = receiver()
    server.gate.clear()
    outcomes: list[DeliveryOutcome] = []
    with WebhookDispatcher(outcomes.append, policy=FAST) as dispatcher:
        event = failover_event()
        assert dispatcher.publish(event, [WebhookEndpoint(server.url, SECRET)]) is True
        # The receiver is holding the request, yet publish has returned.
        assert server.arrived.acquire(timeout=WAIT)
        assert outcomes == []
        server.gate.set()
    assert [(o.event_id, o.delivered, o.attempts, o.status) for o in outcomes] == [
        (event.id, True, 1, 200)
    ]


def test_each_endpoint_gets_only_the_kinds_it_asked_for(receiver):
    everything, budgets = receiver(), receiver()
    endpoints = [
        WebhookEndpoint(everything.url, SECRET),
        WebhookEndpoint(budgets.url, "whsec_budgets", frozenset({"budget"})),
    ]
    outcomes: list[DeliveryOutcome] = []
    with WebhookDispatcher(outcomes.append, policy=FAST) as dispatcher:
        dispatcher.publish(failover_event(), endpoints)
        dispatcher.publish(Event("budget", None, {"threshold": 1.0}), endpoints)
    assert len(everything.requests) == 2
    assert len(budgets.requests) == 1
    headers, body = budgets.requests[0]
    assert json.loads(body)["kind"] == "budget"
    verify(body, headers[SIGNATURE_HEADER], "whsec_budgets")
    assert sorted(o.kind for o in outcomes) == ["budget", "budget", "failover"]


def test_a_full_queue_drops_and_reports_instead_of_blocking(receiver):
    server = receiver()
    server.gate.clear()
    endpoint = WebhookEndpoint(server.url, SECRET)
    outcomes: list[DeliveryOutcome] = []
    first, second, third = failover_event(), failover_event(), failover_event()
    with WebhookDispatcher(outcomes.append, policy=FAST, max_queue=1, workers=1) as dispatcher:
        assert dispatcher.publish(first, [endpoint])
        assert server.arrived.acquire(timeout=WAIT)  # the worker is busy with the first
        assert dispatcher.publish(second, [endpoint])  # waits in the queue's one place
        assert dispatcher.publish(third, [endpoint]) is False
        assert [(o.event_id, o.attempts, o.error) for o in outcomes] == [
            (third.id, 0, "the delivery queue is full; the event was not sent")
        ]
        server.gate.set()
    assert [(o.event_id, o.delivered) for o in outcomes[1:]] == [
        (first.id, True),
        (second.id, True),
    ]
    with pytest.raises(RuntimeError, match="closed"):
        dispatcher.publish(first, [endpoint])


def test_a_failing_callback_does_not_stop_the_workers(receiver):
    server = receiver()
    seen: list[str] = []

    def on_outcome(outcome: DeliveryOutcome) -> None:
        seen.append(outcome.event_id)
        if len(seen) == 1:
            raise RuntimeError("the event log is down")

    first, second = failover_event(), failover_event()
    with WebhookDispatcher(on_outcome, policy=FAST, workers=1) as dispatcher:
        dispatcher.publish(first, [WebhookEndpoint(server.url, SECRET)])
        dispatcher.publish(second, [WebhookEndpoint(server.url, SECRET)])
    assert seen == [first.id, second.id]


def test_the_documented_example_request_verifies():
    doc = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    request = doc.split("```http\n", 1)[1].split("```", 1)[0]
    head, body = request.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    raw = body.strip().encode()
    signed_at = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
    verify(raw, headers[SIGNATURE_HEADER], "whsec_example", now=signed_at)
    payload = json.loads(raw)
    assert payload["id"] == headers[EVENT_ID_HEADER]
    assert set(payload) == {"id", "kind", "gpu_id", "created_at", "data"}
    # It is exactly what Event would send for it.
    created = datetime.fromisoformat(payload["created_at"])
    event = Event(payload["kind"], payload["gpu_id"], payload["data"], payload["id"], created)
    assert event.body() == raw


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "not a url at all", "http://[::1"])
def test_an_unusable_url_fails_at_once(client, url):
    outcome, waits = deliver_recording(failover_event(), WebhookEndpoint(url, SECRET), client)
    assert (outcome.delivered, outcome.attempts, outcome.status, waits) == (False, 1, None, [])
    assert outcome.error is not None
    assert outcome.origin in {"ftp://127.0.0.1", "<invalid URL>"}


def test_an_endpoint_needs_a_secret_and_known_kinds():
    with pytest.raises(ValueError, match="needs a secret"):
        WebhookEndpoint("http://127.0.0.1:9/hook", "")
    with pytest.raises(ValueError, match=r"Unknown event kinds \['budgte'\]"):
        WebhookEndpoint("http://127.0.0.1:9/hook", SECRET, frozenset({"budgte"}))


def test_httpx_logs_a_deliverys_url_by_origin_only(receiver, client, caplog):
    caplog.set_level(logging.INFO)
    target = receiver()
    endpoint = WebhookEndpoint(target.url + "?token=in-the-path", SECRET)
    outcome, _ = deliver_recording(failover_event(), endpoint, client)
    assert outcome.delivered
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert requests == [f'HTTP Request: POST {outcome.origin} "HTTP/1.0 200 OK"']
    assert "token=in-the-path" not in caplog.text and "/hooks/dumont" not in caplog.text
    # Requests that are not deliveries keep their full URL in httpx's line.
    caplog.clear()
    client.post(target.url)
    assert [r.getMessage() for r in caplog.records if r.name == "httpx"] == [
        f'HTTP Request: POST {target.url} "HTTP/1.0 200 OK"'
    ]

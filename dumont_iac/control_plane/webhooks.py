"""Signed event webhooks: the control plane tells a user's URLs about failovers, budgets and more.

An event is POSTed as JSON (``{"id", "kind", "gpu_id", "created_at", "data"}``) with two headers:

    Dumont-Event-Id: evt_...              the same on every retry, so receivers can drop repeats
    Dumont-Signature: t=<unix>,v1=<hex>   HMAC-SHA256 of f"{t}.{body}" keyed by the endpoint secret

as Stripe signs its webhooks; ``verify`` is the receiver's side. ``docs/webhooks.md`` is the
contract for receivers.

Delivery retries connection errors, timeouts, 429 and 5xx with exponential backoff and jitter,
within a number of attempts and a total time; any other answer is final (a 4xx will not change
by resending). ``WebhookDispatcher`` delivers from worker threads behind a bounded queue, so an
agent publishing an event never waits on a user's server; each delivery ends in one
``DeliveryOutcome`` given to a callback (the event log).

Secrets stay out of reprs, logs and outcomes; URLs are logged by origin only (httpx's own
request lines included), since some services carry a token in the path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from dumont_iac._version import __version__

log = logging.getLogger("dumont_iac.webhooks")
# Set while ``deliver`` sends, so httpx's own log line for each request names the origin only.
_delivering: ContextVar[bool] = ContextVar("dumont_webhook_delivering", default=False)

EVENT_KINDS = frozenset({"failover", "recovery", "hibernation", "wake", "budget"})
SIGNATURE_HEADER = "Dumont-Signature"
EVENT_ID_HEADER = "Dumont-Event-Id"
DEFAULT_TOLERANCE = 300.0  # seconds a signature stays acceptable, as Stripe's default
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class SignatureError(ValueError):
    """A webhook request whose signature does not prove it came from the control plane."""


@dataclass(frozen=True)
class Event:
    kind: str
    gpu_id: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"Unknown event kind {self.kind!r}; use one of {sorted(EVENT_KINDS)}.")

    def body(self) -> bytes:
        """The exact bytes that are sent and signed; raises TypeError for data JSON cannot hold."""
        payload = {
            "id": self.id,
            "kind": self.kind,
            "gpu_id": self.gpu_id,
            "created_at": self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": dict(self.data),
        }
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class Endpoint(Protocol):
    """What delivery needs of a registered URL; the store's rows can provide it as they are."""

    @property
    def url(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def kinds(self) -> Collection[str]: ...  # empty: every kind


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    secret: str = field(repr=False)
    kinds: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError(f"A webhook endpoint needs a secret to sign with: {origin(self.url)}")
        if unknown := set(self.kinds) - EVENT_KINDS:
            raise ValueError(f"Unknown event kinds {sorted(unknown)}; use {sorted(EVENT_KINDS)}.")


def wants(endpoint: Endpoint, kind: str) -> bool:
    return not endpoint.kinds or kind in endpoint.kinds


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``Dumont-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    body: bytes,
    header: str,
    secret: str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a received webhook, raising ``SignatureError`` unless ``header`` signs ``body``
    with ``secret`` within ``tolerance`` seconds of ``now`` (default: the current time).

    ``body`` must be the raw request bytes, before any JSON parsing. Several ``v1`` entries are
    accepted (any one matching passes), so a secret can be rotated without a gap.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"The {SIGNATURE_HEADER} header is not of the form t=<unix>,v1=<hex>.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"The signature's timestamp is {abs(current - timestamp):.0f} s from now, more than "
            f"the {tolerance:g} s allowed; the request may be replayed."
        )
    expected = sign(body, secret, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("The signature does not match the body for this endpoint's secret.")


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 6
    initial: float = 1.0  # first backoff, seconds; doubled each attempt
    maximum: float = 60.0  # longest single backoff
    jitter: float = 1.0  # up to this many seconds added at random, so retries do not align
    deadline: float = 300.0  # no retry is started that would begin later than this after the first
    timeout: float = 10.0  # per attempt


DEFAULT_POLICY = DeliveryPolicy()


@dataclass(frozen=True)
class DeliveryOutcome:
    event_id: str
    kind: str
    origin: str  # scheme://host:port of the endpoint; safe to log
    delivered: bool
    attempts: int
    status: int | None  # the last HTTP status, None when no answer came
    error: str | None  # why it failed, None when delivered
    endpoint: Endpoint = field(repr=False, compare=False)  # to find the store's row again


class _Retryable(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL: enough to tell endpoints apart in a log, and no path."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    if not parsed.scheme or not parsed.host:
        return "<invalid URL>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def deliver(
    event: Event,
    endpoint: Endpoint,
    client: httpx.Client,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    body: bytes | None = None,
) -> DeliveryOutcome:
    """POST ``event`` to ``endpoint`` until it is accepted (2xx), refused for good, or the
    policy's attempts or time run out. Never raises for the endpoint's behaviour."""
    body = event.body() if body is None else body
    attempts = 0
    status: int | None = None

    def attempt() -> int:
        nonlocal attempts, status
        attempts += 1
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"dumont-iac/{__version__}",
            EVENT_ID_HEADER: event.id,
            # Signed afresh each attempt: a retry minutes later must still be within tolerance.
            SIGNATURE_HEADER: sign(body, endpoint.secret, int(clock())),
        }
        # Streamed and never read: only the status matters, and a receiver's body could be huge.
        # No redirects: a signed body goes to the URL the user registered, never elsewhere.
        with client.stream(
            "POST",
            endpoint.url,
            content=body,
            headers=headers,
            timeout=policy.timeout,
            follow_redirects=False,
        ) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise _Retryable(status, _retry_after(response))
            return status

    backoff = wait_exponential(multiplier=policy.initial, max=policy.maximum) + wait_random(
        0, policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        # A server that says when to come back (429/503 Retry-After) is believed, within maximum.
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.retry_after if isinstance(exc, _Retryable) else None
        return max(backoff(state), min(asked or 0.0, policy.maximum))

    retrying = Retrying(
        retry=retry_if_exception_type((_Retryable, *_TRANSIENT)),
        stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.deadline),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    error: str | None = None
    delivering = _delivering.set(True)
    try:
        final = retrying(attempt)
        if not 200 <= final < 300:
            error = f"refused with HTTP {final}; not retried"
    except _Retryable as exc:
        error = f"HTTP {exc.status} after {attempts} attempts"
    except _TRANSIENT as exc:
        status = None
        error = f"{type(exc).__name__} after {attempts} attempts: {exc}"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # an unusable URL: resending won't help
        status = None
        error = f"{type(exc).__name__}: {exc}"
    finally:
        _delivering.reset(delivering)
    if error and endpoint.secret:
        error = error.replace(endpoint.secret, "***")
    outcome = DeliveryOutcome(
        event_id=event.id,
        kind=event.kind,
        origin=origin(endpoint.url),
        delivered=error is None,
        attempts=attempts,
        status=status,
        error=error,
        endpoint=endpoint,
    )
    log.log(
        logging.INFO if outcome.delivered else logging.WARNING,
        "webhook %s %s to %s: %s after %d attempt(s), status %s",
        event.kind,
        event.id,
        outcome.origin,
        "delivered" if outcome.delivered else "failed",
        attempts,
        status,
    )
    return outcome


class _OriginOnly(logging.Filter):
    """httpx logs every request's full URL at INFO; during a delivery it is cut to its origin,
    as this module's own lines are. Other requests' lines are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _delivering.get() and isinstance(record.args, tuple):
            record.args = tuple(
                origin(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_OriginOnly())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class WebhookDispatcher:
    """Delivers events from worker threads so publishing never blocks, behind a bounded queue.

    ``publish`` returns False (and reports each dropped delivery to ``on_outcome``) when the
    queue is full, rather than waiting: an agent in mid-failover must not stall on a slow URL.
    """

    def __init__(
        self,
        on_outcome: Callable[[DeliveryOutcome], None],
        policy: DeliveryPolicy = DEFAULT_POLICY,
        max_queue: int = 1000,
        workers: int = 2,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.on_outcome = on_outcome
        self.policy = policy
        self._sleep = sleep
        self._queue: queue.Queue[tuple[Event, bytes, Endpoint] | None] = queue.Queue(max_queue)
        self._client = client or httpx.Client()
        self._owns_client = client is None
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"webhooks-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def publish(self, event: Event, endpoints: Iterable[Endpoint]) -> bool:
        """Queue ``event`` for every endpoint that wants its kind; False if any was dropped."""
        if self._closed:
            raise RuntimeError("This webhook dispatcher is closed; publish before close().")
        body = event.body()  # fails here, in the caller, for data JSON cannot hold
        queued = True
        for endpoint in endpoints:
            if not wants(endpoint, event.kind):
                continue
            try:
                self._queue.put_nowait((event, body, endpoint))
            except queue.Full:
                queued = False
                dropped = DeliveryOutcome(
                    event_id=event.id,
                    kind=event.kind,
                    origin=origin(endpoint.url),
                    delivered=False,
                    attempts=0,
                    status=None,
                    error="the delivery queue is full; the event was not sent",
                    endpoint=endpoint,
                )
                self._report(dropped)
        return queued

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, then stop the workers (waiting ``timeout`` s for each)."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)  # blocks only while the workers drain a full queue
        for thread in self._threads:
            thread.join(timeout)
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> WebhookDispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            event, body, endpoint = job
            try:
                outcome = deliver(
                    event, endpoint, self._client, self.policy, sleep=self._sleep, body=body
                )
            except Exception:  # a bug must not kill the worker and strand the queue
                log.exception("webhook %s %s could not be delivered", event.kind, event.id)
                continue
            self._report(outcome)

    def _report(self, outcome: DeliveryOutcome) -> None:
        try:
            self.on_outcome(outcome)
        except Exception:
            log.exception("the webhook outcome callback failed for event %s", outcome.event_id)

"""The one HTTP layer every outside system is called through (marketplace, control plane).

A call goes: pace (wait for this endpoint's slot, shared by all threads) -> send -> translate
(httpx errors, non-JSON answers, error envelopes, HTTP 200 with ``success: false``) into
``dumont_iac.errors`` -> retry with exponential backoff and jitter when that is safe ->
one log line per attempt on the ``dumont_iac.http`` logger.

What is retried: a 429 and a failed connection always (the server did not act on the call);
502/503/504, timeouts and dropped connections only for calls marked idempotent, because the
server may have acted on them; a 500 (usually the same bug again) only for calls that must get
through, such as destroying. A 429 has its own, larger budget of attempts: each one widens the
endpoint's pacing (see ``pacing.Pacer.refused``) and waits at least the ``Retry-After`` the
server sent. A call given a ``deadline`` never outlives it: each attempt's read timeout is cut
to the time left, and no attempt starts after it. Renting is not idempotent: the marketplace
client recovers a rent by looking its label up instead (see ``MarketplaceClient.rent``).

``HttpApi`` holds only settings; the ``httpx.Client`` (a connection pool) lives in a
per-process registry, created on first use, so no connection ever rides along in a pickle.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from dumont_iac import errors
from dumont_iac._version import __version__
from dumont_iac.clients.decoding import ErrorDecoder
from dumont_iac.clients.pacing import key_fingerprint, pacer_for
from dumont_iac.config import (
    ServiceSettings,
    gone_quiet_sentence,
    not_the_api_sentence,
    unreachable_sentence,
)

log = logging.getLogger("dumont_iac.http")

Auth = Literal["required", "optional", "none"]
RETRIED_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Endpoint:
    """A kind of call: the rate limit it shares and whether repeating it is harmless."""

    name: str  # as the API's rate limiter names it; also the pacing key
    gap: float = 0.0  # documented minimum seconds between two calls (0: no limit)
    burst: int = 1  # calls allowed back to back before the gap applies
    idempotent: bool = True  # False: never resent after a 5xx or a lost answer
    per_address: bool = False  # limited per client address rather than per key
    retries_500: bool = False  # a 500 is retried too: for calls that must finish (destroy)
    penalty: float = 0.0  # lock-out when called again too soon after a refusal


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    initial: float = 0.2  # first backoff, seconds; doubled each attempt
    maximum: float = 10.0
    jitter: float = 0.2
    rate_limited_attempts: int | None = None  # for a 429, when not ``attempts``

    @property
    def attempts_after_429(self) -> int:
        return self.rate_limited_attempts or self.attempts


# A 429 changed nothing on the server, so a call refused as too frequent is sent again longer.
DEFAULT_RETRY = RetryPolicy(rate_limited_attempts=8)


@dataclass(frozen=True)
class HttpApi:
    """Calls one outside system. Holds settings only, never a connection; settings holding a
    key refuse to be pickled (see ``dumont_iac.config``), so build one where it is used."""

    service: ServiceSettings
    api_name: str = "marketplace"  # how "does not serve the ... API" messages name it
    decoder: ErrorDecoder = field(default_factory=ErrorDecoder)
    timeout: float = 30.0
    connect_timeout: float = 5.0
    retry: RetryPolicy = DEFAULT_RETRY

    @property
    def base_url(self) -> str:
        return self.service.base_url

    def call(
        self,
        method: str,
        path: str,
        endpoint: Endpoint,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        auth: Auth = "required",
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Send one logical call (retrying as allowed) and return the parsed JSON answer.

        ``deadline`` is a ``time.monotonic()`` instant the whole call must finish by."""
        if auth == "required":
            key: str | None = self.service.key.require()
        else:
            key = self.service.key.plain() if auth == "optional" else None
        headers = {"Accept": "application/json", "User-Agent": f"dumont-iac/{__version__}"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        identity = "address" if endpoint.per_address else key_fingerprint(key)
        pacer = pacer_for(
            self.base_url,
            identity,
            endpoint.name,
            endpoint.gap * self.service.pacing_scale,
            endpoint.burst,
            endpoint.penalty * self.service.pacing_scale,
        )
        backoff = wait_exponential(multiplier=self.retry.initial, max=self.retry.maximum)
        retrying = Retrying(
            stop=functools.partial(_should_stop, self.retry, deadline),
            wait=functools.partial(_wait, backoff + wait_random(0, self.retry.jitter), deadline),
            retry=retry_if_exception(lambda exc: _may_retry(exc, endpoint)),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if pacer is not None:
                    pacer.wait()
                try:
                    return self._send(
                        method, path, endpoint, number, headers, params, json,
                        _within(timeout if timeout is not None else self.timeout, deadline),
                    )  # fmt: skip
                except errors.RateLimited as exc:
                    if pacer is not None:
                        pacer.refused(exc.retry_after)
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        endpoint: Endpoint,
        attempt: int,
        headers: dict[str, str],
        params: dict[str, Any] | None,
        body: Any,
        timeout: float | None,
    ) -> Any:
        client = _shared_client(self.base_url)
        read = self.timeout if timeout is None else timeout
        started = time.perf_counter()
        status: int | str = "-"
        try:
            response = client.request(
                method,
                path,
                params=params,
                json=body,
                headers=headers,
                timeout=httpx.Timeout(read, connect=min(self.connect_timeout, read)),
            )
            status = response.status_code
            _answered(self.base_url)
            return self._interpret(method, path, response)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            raise self._transport_error(method, path, exc, read) from exc
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s status=%s attempt=%d latency_ms=%.0f endpoint=%r",
                method,
                path,
                status,
                attempt,
                latency_ms,
                endpoint.name,
                extra={
                    "service": self.service.name,
                    "method": method,
                    "path": path,  # no query string: nothing secret can ride along
                    "status": status,
                    "attempt": attempt,
                    "latency_ms": round(latency_ms, 1),
                    "endpoint": endpoint.name,
                },
            )

    def _interpret(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        body: Any = None
        parsed = False
        if response.content:
            try:
                body = response.json()
                parsed = True
            except ValueError:
                parsed = False
        if status == 429:
            text = self.decoder.read(status, body).text if parsed else response.text.strip()[:200]
            refused = errors.RateLimited(
                f"The {self.service.name} kept refusing {method} {path} as too frequent "
                f"(HTTP 429: {text}) after {self.retry.attempts_after_429} attempts; "
                "fewer parallel operations or a later retry will get through.",
                method=method,
                path=path,
                status=status,
                code="rate_limit_exceeded",
                detail=text,
                body=body,
            )
            refused.retry_after = _retry_after(response.headers.get("retry-after"))
            raise refused
        if status >= 500:
            failure = self.decoder.read(status, body)
            detail = failure.detail if parsed and failure.detail else None
            shown = detail or f"HTTP {status} {content_type or 'no body'}"
            raise errors.ServerError(
                f"The {self.service.name} failed on {method} {path} (HTTP {status}: {shown}).",
                method=method,
                path=path,
                status=status,
                code=failure.code,
                detail=shown,
                body=body,
            )
        if not parsed:
            if 200 <= status < 300 and not response.content:
                return None
            answer = f"{method} {path} answered HTTP {status} {content_type or 'without a type'}"
            if 300 <= status < 400 and "location" in response.headers:
                answer += f" redirecting to {response.headers['location']}"
            raise errors.NotTheApi(
                not_the_api_sentence(self.service.url, self.api_name, answer),
                url=self.base_url,
                status=status,
                content_type=content_type,
            )
        if self.decoder.failed(status, body):
            failure = self.decoder.read(status, body)
            raise self.decoder.error(self.service, method, path, failure)
        return body

    def _transport_error(
        self, method: str, path: str, exc: httpx.HTTPError, read_timeout: float
    ) -> errors.DumontError:
        url = self.service.url
        if isinstance(exc, httpx.ConnectTimeout):
            reason = f"no connection within {min(self.connect_timeout, read_timeout):g} s"
        elif isinstance(exc, httpx.ConnectError):
            reason = _connect_reason(exc)
        elif isinstance(exc, httpx.PoolTimeout):
            reason = "no free connection in time"
        elif isinstance(exc, httpx.UnsupportedProtocol):
            reason = "not an http:// or https:// URL"
        elif isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.ProtocolError):
            if isinstance(exc, httpx.ReadTimeout):
                lost = f"no answer within {read_timeout:g} s"
            elif isinstance(exc, httpx.WriteTimeout | httpx.WriteError):
                lost = "the request could not be sent completely"
            else:
                lost = "the connection broke before the answer arrived"
            return errors.NoResponse(
                f"The {self.service.name} at {url.plain()} did not answer {method} {path} "
                f"({lost}); whether it took effect is unknown.",
                url=self.base_url,
                reason=lost,
            )
        else:
            reason = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and answered_before(
            self.base_url
        ):
            sentence = gone_quiet_sentence(url, reason)
        else:
            sentence = unreachable_sentence(url, reason)
        return errors.Unreachable(sentence, url=self.base_url, reason=reason)


def _should_stop(policy: RetryPolicy, deadline: float | None, state: RetryCallState) -> bool:
    if deadline is not None and time.monotonic() >= deadline:
        return True
    failure = state.outcome.exception() if state.outcome is not None else None
    limit = (
        policy.attempts_after_429 if isinstance(failure, errors.RateLimited) else policy.attempts
    )
    return state.attempt_number >= limit


def _wait(backoff: Any, deadline: float | None, state: RetryCallState) -> float:
    """The backoff, at least the server's Retry-After, never past the deadline."""
    seconds = backoff(state)
    failure = state.outcome.exception() if state.outcome is not None else None
    if isinstance(failure, errors.RateLimited) and failure.retry_after:
        seconds = max(seconds, failure.retry_after)
    if deadline is not None:
        seconds = min(seconds, max(deadline - time.monotonic(), 0.0))
    return float(seconds)


def _within(timeout: float, deadline: float | None) -> float:
    """A read timeout cut to the time left before the deadline (at least a moment)."""
    if deadline is None:
        return timeout
    return max(min(timeout, deadline - time.monotonic()), 0.05)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date is rarely sent by APIs)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None


def _may_retry(exc: BaseException, endpoint: Endpoint) -> bool:
    if isinstance(exc, errors.RateLimited):
        return True  # refused before the server acted
    if isinstance(exc, errors.NoResponse):
        return endpoint.idempotent
    if isinstance(exc, errors.Unreachable):
        return True  # never connected: nothing happened
    if isinstance(exc, errors.ServerError):
        repeatable = exc.status in RETRIED_STATUSES or (exc.status == 500 and endpoint.retries_500)
        return endpoint.idempotent and repeatable
    return False


def _connect_reason(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "unknown host"
    return "connection failed"


# Base URLs that answered at least once in this process: a later connection failure to one of
# them is an outage of the moment, not a wrong setting.
_answered_urls: set[tuple[int, str]] = set()


def _answered(base_url: str) -> None:
    _answered_urls.add((os.getpid(), base_url))


def answered_before(base_url: str) -> bool:
    """Whether ``base_url`` gave any HTTP answer earlier in this process."""
    return (os.getpid(), base_url) in _answered_urls


def forget_answers() -> None:
    """Forget which URLs answered (a test whose ports the system may hand out again)."""
    _answered_urls.clear()


# One connection pool per base URL and process: created on first use, never pickled, and not
# inherited across fork (a child gets its own).
_clients: dict[tuple[int, str], httpx.Client] = {}
_clients_lock = threading.Lock()


def _shared_client(base_url: str) -> httpx.Client:
    key = (os.getpid(), base_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(
                base_url=base_url,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            )
            _clients[key] = client
        return client


@atexit.register
def close_connections() -> None:
    """Close every pooled connection of this process."""
    with _clients_lock:
        clients = [c for (pid, _), c in _clients.items() if pid == os.getpid()]
        _clients.clear()
    for client in clients:
        client.close()

"""Rate limiting for the control plane's API: a token bucket per caller, as ASGI middleware.

Whom a request counts against is a ``key`` function of its scope: by default its API key
(``Authorization: Bearer ...``) or its client address when it sends none (``caller_key``). The
control plane installs two limiters: one per client address before authentication
(``address_key``, with a larger allowance, ``for_addresses``), so made-up keys cannot each get
a bucket of their own, and one per verified user inside the key check (``user_key``, reading
``scope["state"]["caller"]``), so all of a user's keys share one bucket. A key function that
gives None lets the request pass unlimited.

Each caller's bucket holds up to ``burst`` requests and refills at ``requests`` per ``per``
seconds; a request finding it empty is answered 429 with ``Retry-After`` (whole seconds,
rounded up, so a client that waits that long is let through) and a JSON ``error`` sentence.

Hand-written rather than built on the ``limits`` package: that offers fixed and moving windows
but no token bucket, and reads the wall clock itself, so tests could not drive it without sleeps.
Buckets are kept for at most ``max_keys`` callers (least recently seen dropped first) to bound
memory.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/health", "/metrics"})
# Callers behind one address (a NAT, a CI runner) may be several users: the limit per address,
# before authentication, is this many times the limit per user.
ADDRESS_FACTOR = 5

KeyFunction = Callable[[Scope], str | None]


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``per`` seconds, with bursts of up to ``burst`` (default ``requests``)."""

    requests: int
    per: float = 1.0
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per <= 0 or (self.burst is not None and self.burst < 1):
            raise ValueError(f"A rate limit needs requests >= 1, per > 0 and burst >= 1: {self}")

    @property
    def capacity(self) -> int:
        return self.requests if self.burst is None else self.burst

    @property
    def refill_per_second(self) -> float:
        return self.requests / self.per

    def for_addresses(self) -> RateLimit:
        """The limit per client address before authentication: ``ADDRESS_FACTOR`` times this."""
        return RateLimit(self.requests * ADDRESS_FACTOR, self.per, self.capacity * ADDRESS_FACTOR)

    def __str__(self) -> str:
        return f"{self.requests}/{self.per:g},{self.capacity}"


DEFAULT_RATE_LIMIT = RateLimit(requests=20, per=1.0, burst=40)


def parse_rate_limit(text: str) -> RateLimit | None:
    """``N/S`` (N requests per S seconds, bursts of N), ``N/S,B`` (bursts of B), or ``off``."""
    spec = text.strip().lower()
    if spec == "off":
        return None
    rate, comma, burst = spec.partition(",")
    requests, slash, per = rate.partition("/")
    try:
        if not slash or (comma and not burst):
            raise ValueError
        return RateLimit(int(requests), float(per), int(burst) if burst else None)
    except ValueError:
        raise ValueError(
            f"expected N/S, N/S,B (N requests per S seconds, bursts of B) or off, got {text!r}"
        ) from None


class TokenBuckets:
    """One bucket per key; thread-safe, since sync routes and agents run on worker threads."""

    def __init__(
        self, limit: RateLimit, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 when there was one, else the seconds until
        there will be."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.pop(key, (float(self.limit.capacity), now))
            # max(0, ...) keeps a clock that steps back from draining the bucket.
            elapsed = max(0.0, now - at)
            tokens = min(self.limit.capacity, tokens + elapsed * self.limit.refill_per_second)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.limit.refill_per_second
            self._buckets[key] = (tokens, now)  # re-inserted last: the most recently seen
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def caller_key(scope: Scope) -> str:
    """Whom a request counts against: a fingerprint of its bearer key (so the table never holds
    a key), else its client address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return address_key(scope)


def address_key(scope: Scope) -> str:
    """The client's address, whatever key it presents."""
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


def user_key(scope: Scope) -> str | None:
    """The verified user the key check left in ``scope["state"]["caller"]``; None without one."""
    user_id = getattr(scope.get("state", {}).get("caller"), "user_id", None)
    return None if user_id is None else f"user:{user_id}"


class RateLimitMiddleware:
    """Pure ASGI, so it adds no per-request task and leaves streaming responses alone."""

    def __init__(
        self,
        app: ASGIApp,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        exempt_paths: Collection[str] = EXEMPT_PATHS,
        max_keys: int = 10_000,
        key: KeyFunction = caller_key,
        prefix: str = "/",
        caller: str = "key",
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(limit, clock, max_keys)
        self.exempt_paths = frozenset(exempt_paths)
        self.key = key
        self.prefix = prefix  # only paths under it are limited
        self.caller = caller  # how the refusal names whom the limit is for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limited = (
            scope["type"] == "http"
            and scope["path"] not in self.exempt_paths
            and scope["path"].startswith(self.prefix)
        )
        key = self.key(scope) if limited else None
        wait = 0.0 if key is None else self.buckets.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        await refusal(self.buckets.limit, wait, self.caller)(scope, receive, send)


def refusal(limit: RateLimit, wait: float, caller: str = "key") -> JSONResponse:
    # Rounded first so float noise (10.000000001) does not add a whole second.
    retry_after = max(1, math.ceil(round(wait, 6)))
    sentence = (
        f"rate limit exceeded: {limit.requests} requests per {limit.per:g} s for this "
        f"{caller}; retry after {retry_after} s"
    )
    return JSONResponse(
        {"error": sentence}, status_code=429, headers={"Retry-After": str(retry_after)}
    )

"""The marketplace's rate limits: a minimum gap between two calls to one endpoint by one caller.

The marketplace enforces per endpoint and per API key a minimum time between calls, answering a
call that comes too early with 429, a plain-text body and no ``Retry-After`` header. Clients have
to pace themselves, so the sandbox must be just as strict. Gaps are measured in real time, not
on the sandbox clock: they protect the server, and a fast clock must not loosen them.

Offer search is limited per IP address ("10 per minute"): a bucket of 10 calls refilled by one
call every 6 s, so a burst of ten passes and a steady caller gets one search per 6 s.

Renting has a penalty: the first call inside the 4.5 s gap is refused; a caller that keeps
calling while refused (hammering) is locked out for 12 s from its latest refused call.

``mode`` is "realistic" (the documented gaps), "off", or a scale factor multiplying every gap
("0.1" gives gaps ten times shorter, for fast tests that still exercise the limits).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from dumont_iac.sandbox.marketplace.errors import InvalidArgs, RateLimited

PER_IP = "ip"
PER_KEY = "key"


@dataclass(frozen=True)
class Limit:
    endpoint: str
    gap: float  # seconds between two accepted calls
    penalty: float | None = None  # lock-out when a refused caller keeps calling
    burst: int = 1  # calls that may pass back to back before the gap applies
    per: str = PER_KEY


SEARCH = Limit("search offers", gap=6.0, burst=10, per=PER_IP)

# (method, path without trailing slash, limit); the first match wins, so specific paths come first.
_ID = r"[^/]+"
RULES: list[tuple[str, re.Pattern[str], Limit]] = [
    (m, re.compile(p), lim)
    for m, p, lim in [
        ("PUT", rf"/api/v0/asks/{_ID}", Limit("rent", gap=4.5, penalty=12.0)),
        ("PUT", rf"/api/v0/instances/bid_price/{_ID}", Limit("change bid", gap=5.5)),
        ("PUT", rf"/api/v0/instances/reboot/{_ID}", Limit("reboot instance", gap=1.0)),
        ("PUT", rf"/api/v0/instances/{_ID}", Limit("manage instance", gap=1.0)),
        ("DELETE", rf"/api/v0/instances/{_ID}", Limit("destroy instance", gap=3.0)),
        ("GET", rf"/api/v0/instances/{_ID}", Limit("show instance", gap=2.0)),
        ("GET", r"/api/v0/instances", Limit("show instances", gap=1.0)),
        ("GET", r"/api/v1/instances", Limit("show instances v1", gap=1.0)),
        ("POST", r"/api/v0/volumes/search", Limit("search volumes", gap=5.5)),
        ("PUT", r"/api/v0/volumes", Limit("create volume", gap=5.5)),
        ("GET", r"/api/v0/volumes", Limit("show volumes", gap=5.5)),
        ("DELETE", rf"/api/v0/volumes(/{_ID})?", Limit("delete volume", gap=5.5)),
        ("POST", r"/api/v0/bundles", SEARCH),
        ("GET", r"/api/v0/bundles", SEARCH),
        ("PUT", r"/api/v0/search/asks", SEARCH),
    ]
]


def limit_for(method: str, path: str) -> Limit | None:
    path = path.rstrip("/") or "/"
    for rule_method, pattern, limit in RULES:
        if rule_method == method and pattern.fullmatch(path):
            return limit
    return None


def parse_mode(mode: str | float) -> float | None:
    """The scale factor a mode stands for: 1.0 for "realistic", None for "off"."""
    text = str(mode).strip().lower()
    if text == "realistic":
        return 1.0
    if text == "off":
        return None
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not scale > 0 or scale == float("inf"):
        raise InvalidArgs(
            f"rate_limits: expected 'realistic', 'off' or a scale factor > 0, got {mode!r}",
            field="rate_limits",
        )
    return scale


@dataclass
class _Track:
    next_free: float = 0.0  # the earliest monotonic time the next call is accepted
    tokens: float = 0.0
    refilled: float = 0.0  # when the bucket's tokens were last counted
    refused_in_a_row: int = 0


class RateLimiter:
    """Which calls pass; thread-safe, and the mode can change while the server runs."""

    def __init__(self, mode: str = "realistic", now: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._now = now
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._mode = "realistic"
        self._scale: float | None = 1.0
        self.set_mode(mode)

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def scale(self) -> float | None:
        return self._scale

    def set_mode(self, mode: str | float) -> None:
        scale = parse_mode(mode)
        with self._lock:
            self._scale = scale
            self._mode = "off" if scale is None else str(mode).strip().lower()
            self._tracks.clear()

    def reset(self) -> None:
        with self._lock:
            self._tracks.clear()

    def check(self, limit: Limit, identity: str) -> None:
        """Count one call; raise RateLimited when it comes too early."""
        with self._lock:
            scale = self._scale
            if scale is None:
                return
            now = self._now()
            gap = limit.gap * scale
            track = self._tracks.setdefault(
                (limit.endpoint, identity), _Track(tokens=limit.burst, refilled=now)
            )
            if limit.burst > 1:
                # Token bucket: one token back every `gap` seconds, at most `burst` kept.
                track.tokens = min(limit.burst, track.tokens + (now - track.refilled) / gap)
                track.refilled = now
                if track.tokens < 1:
                    raise RateLimited(limit.endpoint, gap)
                track.tokens -= 1
                return
            if now < track.next_free:
                track.refused_in_a_row += 1
                if limit.penalty is not None and track.refused_in_a_row > 1:
                    track.next_free = max(track.next_free, now + limit.penalty * scale)
                raise RateLimited(limit.endpoint, gap)
            track.refused_in_a_row = 0
            track.next_free = now + gap


def caller_identity(scope: Scope, limit: Limit) -> str:
    """The API key the call presents (header or ``?api_key=``), else the client's address."""
    if limit.per == PER_KEY:
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return "key:" + value[7:].decode("latin-1").strip()
        keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key")
        if keys and keys[0]:
            return "key:" + keys[0]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """Refuses early calls before they reach a route, as the marketplace's front end does."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = limit_for(scope["method"], scope["path"])
            if limit is not None:
                try:
                    self.limiter.check(limit, caller_identity(scope, limit))
                except RateLimited as exc:
                    await send_plain_text(send, exc.status, exc.msg)
                    return
        await self.app(scope, receive, send)


async def send_plain_text(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

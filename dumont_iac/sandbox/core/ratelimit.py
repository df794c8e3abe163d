"""Rate limits: a minimum gap between two calls to one endpoint by one caller.

A ``Limit`` is a gap per endpoint and per caller (its API key, or its address), optionally with
a burst (a token bucket: ``burst`` calls back to back, then one per ``gap``) or a penalty (a
caller that keeps calling while refused is locked out ``penalty`` seconds from its latest
refused call). Each service declares which calls its limits apply to (see
``marketplace.limits``); ``RateLimitMiddleware`` refuses an early call with ``RateLimited``,
rendered in that service's envelope. Gaps are measured in real time, not on the sandbox clock:
they protect the server, and a fast clock must not loosen them.

``mode`` is "realistic" (the documented gaps), "off", or a scale factor multiplying every gap
("0.1" gives gaps ten times shorter, for fast tests that still exercise the limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from dumont_iac.sandbox.core.errors import InvalidSetting, RateLimited
from dumont_iac.sandbox.core.handlers import Envelopes

PER_IP = "ip"
PER_KEY = "key"


@dataclass(frozen=True)
class Limit:
    endpoint: str
    gap: float  # seconds between two accepted calls
    penalty: float | None = None  # lock-out when a refused caller keeps calling
    burst: int = 1  # calls that may pass back to back before the gap applies
    per: str = PER_KEY


# Which limit applies to a call (method, path), if any: each service declares its own rules.
LimitFor = Callable[[str, str], Limit | None]


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
        raise InvalidSetting(
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
    """Refuses early calls before they reach a route, as a service's front end does."""

    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, limit_for: LimitFor, envelopes: Envelopes
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limit_for = limit_for
        self.envelopes = envelopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.limit_for(scope["method"], scope["path"])
            if limit is not None:
                try:
                    self.limiter.check(limit, caller_identity(scope, limit))
                except RateLimited as exc:
                    answer = self.envelopes.for_path(scope["path"]).error(exc)
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)

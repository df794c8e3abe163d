"""Injected transport faults: the next N calls to an endpoint fail, hang, or lose their response.

Clients must survive a marketplace that answers 5xx, stalls, or commits a change and then loses
the answer (the reason a rent must never be retried blindly). A ``FaultPlan`` holds the armed
faults; ``FaultMiddleware`` applies them in front of every service's routes:

- ``error``: answer ``status`` (5xx, or 429 as the rate limiter refuses) in the service's
  envelope without running the route.
- ``hang``: wait ``seconds`` (real time), then run the route as usual; a client with a shorter
  timeout gives up while the change still happens.
- ``drop``: run the route so its change is committed, then send the start of the response and
  break the connection; the client sees a protocol error and never learns the outcome.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dumont_iac.sandbox.core.errors import InjectedFault, RateLimited
from dumont_iac.sandbox.core.handlers import Envelopes

log = logging.getLogger(__name__)

FaultKind = Literal["error", "hang", "drop"]
MAX_HANG_SECONDS = 120.0
# Paths a fault never applies to, so a test can always inspect and repair the sandbox.
UNFAULTED_PREFIXES = ("/_sandbox", "/health", "/metrics", "/openapi.json", "/docs", "/redoc")


@dataclass
class Fault:
    id: int
    method: str  # an HTTP method, or "*" for any
    path: str  # a glob on the path without trailing slash, e.g. "/api/v0/asks/*"
    kind: FaultKind
    remaining: int
    status: int = 503
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method != method:
            return False
        return fnmatch.fnmatchcase(path.rstrip("/") or "/", self.path.rstrip("/") or "/")


class FaultPlan:
    """The armed faults, consumed one per matching call; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        # Set when the server shuts down, so that pending hangs end at once.
        self.closing = threading.Event()

    def arm(
        self,
        *,
        method: str,
        path: str,
        kind: FaultKind,
        times: int = 1,
        status: int = 503,
        seconds: float = 0.0,
    ) -> Fault:
        fault = Fault(
            id=next(self._ids),
            method=method.upper(),
            path=path,
            kind=kind,
            remaining=times,
            status=status,
            seconds=seconds,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this call, counting the call against it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def active(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> int:
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
        return count


class FaultMiddleware:
    def __init__(self, app: ASGIApp, plan: FaultPlan, envelopes: Envelopes) -> None:
        self.app = app
        self.plan = plan
        self.envelopes = envelopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNFAULTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        fault = self.plan.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "error":
            log.info("injected fault: %s %s answers %d", method, path, fault.status)
            refusal = RateLimited("injected", 0) if fault.status == 429 else None
            answer = self.envelopes.for_path(path).error(refusal or InjectedFault(fault.status))
            await answer(scope, receive, send)
        elif fault.kind == "hang":
            log.info("injected fault: %s %s hangs %gs", method, path, fault.seconds)
            # Read the body first: a client that gives up during the hang leaves no body to
            # read afterwards, and the call must still happen, as on a slow real server.
            replay = await _buffered(receive)
            await self._hang(fault.seconds)
            await self.app(scope, replay, send)
        else:
            log.info("injected fault: %s %s drops its response", method, path)
            await self._commit_then_drop(scope, receive, send)

    async def _hang(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(seconds, MAX_HANG_SECONDS)
        while not self.plan.closing.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))

    async def _commit_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message

        # The route runs to completion (its change is committed); its response is withheld.
        await self.app(scope, receive, hold)
        if start is None:
            return
        # Announce the response, then return without its body: the server closes the
        # connection mid-response, which the client reports as a protocol error.
        await send(start)


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; the returned ``receive`` replays it once."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay

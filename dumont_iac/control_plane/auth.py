"""Bearer keys: every path under ``/api/v1`` needs one; ``/health*``, ``/metrics`` and the docs
do not.

``AuthMiddleware`` checks the key before routing, so a request is refused the same way whatever
its path, method or body (401 without a key, 403 with an unknown or expired one), and leaves
the caller in ``scope["state"]["caller"]``. Middlewares installed inside it (a rate limiter)
can read that; routers get it through the ``caller`` dependency, which also declares the
scheme in the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from dumont_iac.control_plane.errors import error_response
from dumont_iac.control_plane.store import Store

PUBLIC_PREFIXES = ("/health", "/metrics", "/openapi.json", "/docs", "/redoc")
MISSING = "An API key is required: send 'Authorization: Bearer <key>'."
UNKNOWN = "Invalid API key."
EXPIRED = "This API key was rotated out and its grace period has ended; use the new key."

bearer = HTTPBearer(auto_error=False, description="A control-plane API key (`dcp_...`).")


@dataclass(frozen=True)
class Caller:
    user_id: int
    key_id: int


def presented_key(headers: dict[str, str]) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


class AuthMiddleware:
    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = presented_key(headers)
        if key is None:
            response = error_response(401, MISSING, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        check = await anyio.to_thread.run_sync(self.store.users.check, key)
        if check.user_id is None or check.key_id is None or check.expired:
            await error_response(403, EXPIRED if check.expired else UNKNOWN)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = Caller(check.user_id, check.key_id)
        await self.app(scope, receive, send)


def caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    """The authenticated caller (the middleware has already refused everyone else)."""
    found = getattr(request.state, "caller", None)
    assert isinstance(found, Caller), "AuthMiddleware must wrap every /api/v1 route"
    return found

"""FastAPI dependencies shared by every router: the store, the clock and the caller's identity."""

from __future__ import annotations

import secrets

from fastapi import Request

from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.marketplace.errors import AuthError


def get_store(request: Request):  # -> Store (imported lazily to keep routers free of import cycles)
    return request.app.state.store


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` or, as older clients send it, ``?api_key=``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query_params.get("api_key") or None


def optional_user(request: Request) -> int | None:
    key = presented_key(request)
    if key is None:
        return None
    return require_user(request)


def require_user(request: Request) -> int:
    key = presented_key(request)
    if key is None:
        raise AuthError("An API key is required: send 'Authorization: Bearer <key>'.", status=403)
    user_id = get_store(request).user_for_key(key)
    if user_id is None:
        raise AuthError("Invalid user key")
    return user_id


def require_sandbox_key(request: Request) -> None:
    """The fault surface answers only the key the sandbox was started with."""
    key = presented_key(request)
    if key is None:
        raise AuthError("An API key is required: send 'Authorization: Bearer <key>'.", status=403)
    if not secrets.compare_digest(key.encode(), request.app.state.settings.api_key.encode()):
        raise AuthError("Invalid user key: the /_sandbox/ surface needs the sandbox's own key.")

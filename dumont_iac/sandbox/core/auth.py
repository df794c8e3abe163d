"""Who is calling: the key a request presents, and the guard of the ``/_sandbox/`` surface."""

from __future__ import annotations

import secrets

from fastapi import Request

from dumont_iac.sandbox.core.errors import Unauthorized

NO_KEY = "An API key is required: send 'Authorization: Bearer <key>'."


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer`` or, as older clients send it, ``?api_key=``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query_params.get("api_key") or None


def require_sandbox_key(request: Request) -> None:
    """The fault surface answers only the key the sandbox was started with."""
    key = presented_key(request)
    if key is None:
        raise Unauthorized(NO_KEY, status=403)
    if not secrets.compare_digest(key.encode(), request.app.state.settings.api_key.encode()):
        raise Unauthorized("Invalid user key: the /_sandbox/ surface needs the sandbox's own key.")

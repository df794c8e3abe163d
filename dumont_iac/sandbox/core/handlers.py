"""Every error a sandbox answers, rendered in the envelope of the service that owns the path.

A service describes its wire format once, as an ``Envelope``; ``Envelopes`` maps path prefixes
to them (the longest prefix wins, the default takes the rest). ``install_error_handlers`` makes
one set of handlers render, through the envelope for the request's path: the services' own
errors, FastAPI's and pydantic's validation errors (naming the field), bad JSON, unknown paths
and methods, and unexpected failures (500, logged). The fault and rate-limit middlewares render
through the same envelopes, so a fault or a 429 looks as the service would send it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dumont_iac.sandbox.core.errors import ServiceError

log = logging.getLogger(__name__)


class Envelope(Protocol):
    """How one service answers errors."""

    def error(self, exc: ServiceError) -> Response: ...

    def invalid(self, field: str, msg: str) -> Response:
        """A request that failed validation: ``field`` is the first offending one."""
        ...

    def http_error(self, status: int, msg: str) -> Response:
        """Unknown path (404), wrong method (405), body too large (413) and the like."""
        ...

    def unexpected(self) -> Response:
        """A 500 for a failure the log explains."""
        ...


class Envelopes:
    """The envelope of each service, by path prefix."""

    def __init__(self, default: Envelope) -> None:
        self.default = default
        self._by_prefix: list[tuple[str, Envelope]] = []

    def add(self, prefix: str, envelope: Envelope) -> None:
        self._by_prefix.append((prefix, envelope))
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def for_path(self, path: str) -> Envelope:
        for prefix, envelope in self._by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return envelope
        return self.default


def install_error_handlers(app: FastAPI, envelopes: Envelopes) -> None:
    def envelope(request: Request) -> Envelope:
        return envelopes.for_path(request.url.path)

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return envelope(request).error(exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError | pydantic.ValidationError)
        errors: Iterable[Any] = (
            exc.errors(include_url=False)
            if isinstance(exc, pydantic.ValidationError)
            else exc.errors()
        )
        field, msg = describe_errors(errors)
        return envelope(request).invalid(field, msg)

    async def json_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, json.JSONDecodeError)
        return envelope(request).invalid("body", f"body: not valid JSON ({exc.msg})")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and exc.detail == "Not Found":
            msg = f"No such endpoint: {request.method} {request.url.path}"
        else:
            msg = str(exc.detail)
        return envelope(request).http_error(exc.status_code, msg)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(pydantic.ValidationError, validation_error)
    app.add_exception_handler(json.JSONDecodeError, json_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_middleware(UnexpectedErrors, envelopes=envelopes)  # outermost of the app's own


class UnexpectedErrors:
    """Answers an unexpected exception with a 500 in the envelope and logs it.

    Unlike an exception handler for ``Exception`` (which Starlette re-raises, making uvicorn
    close the connection), the exception stops here: the client's kept-alive connection
    survives, as it would on the real service.
    """

    def __init__(self, app: ASGIApp, envelopes: Envelopes) -> None:
        self.app = app
        self.envelopes = envelopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                raise  # half a response is out: only closing the connection can signal it
            await self.envelopes.for_path(scope["path"]).unexpected()(scope, receive, send)


def describe_errors(errors: Iterable[Any]) -> tuple[str, str]:
    """The first offending field's name, and one line per error: field, problem, given value."""
    fields: list[str] = []
    lines: list[str] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie") and len(loc) > 1:
            loc = loc[1:]
        if error.get("type") == "json_invalid":
            loc = ["body"]
        field = ".".join(loc) or "body"
        fields.append(field)
        line = f"{field}: {error.get('msg', 'invalid value')}"
        if error.get("type") == "json_invalid":
            line = f"body: not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
        elif error.get("type") != "missing" and "input" in error:
            line += f" (got {_short_repr(error['input'])})"
        lines.append(line)
    return (fields[0] if fields else "body"), "; ".join(lines) or "invalid arguments"


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

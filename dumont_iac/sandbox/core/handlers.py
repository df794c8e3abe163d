"""Every error the sandbox answers, rendered in the marketplace's envelope.

``{"success": false, "error": code, "msg": ...}`` for the sandbox's own errors, FastAPI's and
pydantic's validation errors (400 ``invalid_args`` naming the field, never 422), unknown paths
and methods, and unexpected failures (500, logged). A 429 is the one exception: plain text
without ``Retry-After``, as the marketplace sends it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dumont_iac.sandbox.core.responses import JSONResponse
from dumont_iac.sandbox.marketplace.errors import RateLimited, SandboxError

log = logging.getLogger(__name__)

UNEXPECTED = "The sandbox failed unexpectedly; see its log."


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SandboxError, sandbox_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(pydantic.ValidationError, validation_error)
    app.add_exception_handler(json.JSONDecodeError, json_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_middleware(UnexpectedErrors)  # outermost of the app's own middlewares


def envelope(status: int, code: str, msg: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": False, "error": code, "msg": msg, **extra}, status_code=status)


async def sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    if isinstance(exc, RateLimited):
        return PlainTextResponse(exc.msg, status_code=exc.status)
    return JSONResponse(exc.body(), status_code=exc.status)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | pydantic.ValidationError)
    errors: Iterable[Any] = (
        exc.errors(include_url=False) if isinstance(exc, pydantic.ValidationError) else exc.errors()
    )
    field, msg = describe_errors(errors)
    return envelope(400, "invalid_args", msg, field=field)


async def json_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, json.JSONDecodeError)
    return envelope(400, "invalid_args", f"body: not valid JSON ({exc.msg})", field="body")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
    if exc.status_code == 404 and exc.detail == "Not Found":
        msg = f"No such endpoint: {request.method} {request.url.path}"
    else:
        msg = str(exc.detail)
    code = codes.get(exc.status_code, "invalid_request")
    return envelope(exc.status_code, code, msg)


class UnexpectedErrors:
    """Answers an unexpected exception with a 500 in the envelope and logs it.

    Unlike an exception handler for ``Exception`` (which Starlette re-raises, making uvicorn
    close the connection), the exception stops here: the client's kept-alive connection
    survives, as it would on the real marketplace.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            await envelope(500, "internal_error", UNEXPECTED)(scope, receive, send)


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

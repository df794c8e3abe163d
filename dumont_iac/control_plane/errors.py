"""Every error the control plane answers, in Dumont's envelope.

``{"error": "<message>"}`` for the service's own errors, unknown paths and methods and
unexpected failures (500, logged); ``{"error": "Validation error", "details": [...]}`` with a
422 for any request that does not validate, malformed JSON included.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

UNEXPECTED = "The control plane failed unexpectedly; see its log."
DATABASE_DOWN = "The control plane's database does not answer; try again shortly."


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ApiError):
    status = 404


class Unauthenticated(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(error) for error in exc.errors()]
    return JSONResponse(
        {"error": "Validation error", "details": jsonable_encoder(details)}, status_code=422
    )


def _detail(error: dict[str, Any]) -> dict[str, Any]:
    detail = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error["type"]}
    if "input" in error and error.get("type") != "missing":
        text = repr(error["input"])
        detail["input"] = text if len(text) <= 120 else text[:117] + "..."
    return detail


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"No such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


class UnexpectedErrors:
    """Answers an unexpected exception with a 500 in the envelope and logs it; the client's
    kept-alive connection survives (an exception handler for ``Exception`` would re-raise)."""

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
        except OperationalError as exc:
            # The database is down or unreachable: a condition to retry later, not a bug.
            log.warning("the database does not answer (%s %s): %s", scope["method"],
                        scope["path"], exc.orig)  # fmt: skip
            if started:
                raise
            response = error_response(503, DATABASE_DOWN, headers={"Retry-After": "5"})
            await response(scope, receive, send)
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await error_response(500, UNEXPECTED)(scope, receive, send)

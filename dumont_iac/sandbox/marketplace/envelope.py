"""The marketplace's error envelope: ``{"success": false, "error": code, "msg": ...}``.

Validation errors become 400 ``invalid_args`` naming the field (never 422), as the marketplace
answers them. A 429 is the one exception: plain text without ``Retry-After``, as the
marketplace sends it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response

from dumont_iac.sandbox.core.errors import RateLimited, ServiceError
from dumont_iac.sandbox.core.responses import JSONResponse

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
UNEXPECTED = "The sandbox failed unexpectedly; see its log."


def body(code: str, msg: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": code, "msg": msg, **extra}


class MarketplaceEnvelope:
    def error(self, exc: ServiceError) -> Response:
        if isinstance(exc, RateLimited):
            return PlainTextResponse(exc.msg, status_code=exc.status)
        return JSONResponse(body(exc.code, exc.msg, **exc.extra), status_code=exc.status)

    def invalid(self, field: str, msg: str) -> Response:
        return JSONResponse(body("invalid_args", msg, field=field), status_code=400)

    def http_error(self, status: int, msg: str) -> Response:
        code = HTTP_CODES.get(status, "invalid_request")
        return JSONResponse(body(code, msg), status_code=status)

    def unexpected(self) -> Response:
        return JSONResponse(body("internal_error", UNEXPECTED), status_code=500)

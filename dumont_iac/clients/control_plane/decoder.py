"""The control plane's error answers: ``{"error": "<message>"}``, and for invalid input HTTP 422
``{"error": "Validation error", "details": [{"loc": [...], "msg": ...}, ...]}``. Unlike the
marketplace's, ``error`` is a sentence, not a code."""

from __future__ import annotations

from typing import Any

from dumont_iac.clients.decoding import ErrorDecoder, Failure

LOCATIONS = ("body", "query", "path", "header")


class ControlPlaneErrors(ErrorDecoder):
    def read(self, status: int, body: Any) -> Failure:
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return super().read(status, body)
        message, field = body["error"], None
        details = body.get("details")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            first = details[0]
            loc = [str(p) for p in first.get("loc", ()) if str(p) not in LOCATIONS]
            field = ".".join(loc) or None
            more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
            message = f"{message}: {field or 'body'}: {first.get('msg', 'invalid')}{more}"
        return Failure(status, None, message, field, body)

"""How a service's error answers read: each outside service has a decoder of its own.

The HTTP layer (``dumont_iac.clients.http``) handles what every service shares (429, 5xx,
answers that are not JSON); for a JSON answer it asks the service's ``ErrorDecoder`` whether the
call failed and which ``ApiError`` it is. The base reads the common shapes (``{"detail": ...}``,
``{"message": ...}``, ``{"error": ...}``) and maps the HTTP status; a service overrides what its
envelope says differently (the marketplace: an error *code* and HTTP 200 with
``success: false``; the control plane: ``{"error": message, "details": [...]}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dumont_iac import errors
from dumont_iac.config import ServiceSettings, key_refused_sentence


@dataclass(frozen=True)
class Failure:
    """What one error answer says, read from its body."""

    status: int
    code: str | None
    detail: str | None
    field: str | None
    body: Any

    @property
    def text(self) -> str:
        return self.detail or self.code or f"HTTP {self.status}"


class ErrorDecoder:
    """Reads error bodies of the common JSON shapes; subclass per service."""

    def failed(self, status: int, body: Any) -> bool:
        """Whether a JSON answer is a failure (some APIs fail with HTTP 200)."""
        return status >= 400

    def read(self, status: int, body: Any) -> Failure:
        detail = None
        if isinstance(body, dict):
            for name in ("detail", "message", "msg", "error"):
                if isinstance(body.get(name), str) and body[name]:
                    detail = body[name]
                    break
        field = body.get("field") if isinstance(body, dict) else None
        return Failure(status, None, detail, field if isinstance(field, str) else None, body)

    def kind(self, failure: Failure) -> str:
        """Which error it is: auth, balance, not_found, bad_request or other."""
        return {401: "auth", 403: "auth", 402: "balance", 404: "not_found"}.get(
            failure.status, "bad_request" if failure.status in (400, 422) else "other"
        )

    def error(
        self, service: ServiceSettings, method: str, path: str, failure: Failure
    ) -> errors.ApiError:
        """The exception for a failed call; the message says what to do next."""
        kwargs = api_error_fields(method, path, failure)
        kind, text = self.kind(failure), failure.text
        if kind == "auth":
            answer = f"HTTP {failure.status}: {text}"
            return errors.AuthError(
                key_refused_sentence(service.key, service.url, answer), **kwargs
            )
        where = f"The {service.name} refused {method} {path}"
        if kind == "balance":
            return errors.InsufficientBalance(f"{where}: {text}; add credit.", **kwargs)
        if kind == "not_found":
            return errors.NotFound(f"{where}: {text}.", **kwargs)
        if kind == "bad_request":
            return errors.BadRequest(f"{where}{about_field(failure)}: {text}.", **kwargs)
        return errors.ApiError(f"{where}: {text} (HTTP {failure.status}).", **kwargs)


def api_error_fields(method: str, path: str, failure: Failure) -> dict[str, Any]:
    """The keyword arguments every ``ApiError`` takes."""
    return dict(
        method=method,
        path=path,
        status=failure.status,
        code=failure.code,
        detail=failure.detail,
        body=failure.body,
        field=failure.field,
    )


def about_field(failure: Failure) -> str:
    """`` (field 'name')`` when the answer names the offending field, else nothing."""
    return f" (field {failure.field!r})" if failure.field else ""

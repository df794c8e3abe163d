"""The one exception tree for every outside system the library calls.

    DumontError
    ├── SettingError            a setting cannot be used; the message says how to set it
    │   ├── SettingMissing      a required setting (an API key) has no value anywhere
    │   └── SettingInvalid      a setting's value is unusable (a URL without http://)
    ├── Unreachable             no answer: refused connection, unknown host, connect timeout
    │   └── NoResponse          the request went out, the answer never came (read timeout,
    │                           dropped connection): whether it took effect is unknown
    ├── NotTheApi               the URL answered, but not as the API does (HTML, not JSON)
    └── ApiError                the API answered with an error (also HTTP 200 + success false)
        ├── BadRequest          400: names the offending field when the API does
        ├── AuthError           401 wrong key / 403 no key
        ├── InsufficientBalance 402: the account has no credit for this
        ├── NotFound            404: no such instance, volume or path
        ├── OfferUnavailable    no_such_ask: the offer was taken; choose another offer
        ├── RateLimited         429, still refused after pacing and retries
        └── ServerError         5xx, still failing after retries (if the call was safe to retry)

Foreign exceptions (httpx's) are translated where they occur with ``raise ... from exc``, so a
caller only ever needs to catch these. No message ever contains an API key.
"""

from __future__ import annotations

from typing import Any


class DumontError(Exception):
    """Base of every error this library raises about an outside system or its settings."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingError(DumontError):
    """A setting cannot be used; ``setting`` is its Pulumi config name ("dumont:vastApiKey")."""

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


class SettingMissing(SettingError):
    """A setting needed for this call has no value (argument, Pulumi config, environment)."""


class SettingInvalid(SettingError):
    """A setting has a value that cannot be used (a URL without http://, a negative number)."""


class Unreachable(DumontError):
    """The service could not be reached; the request had no effect."""

    def __init__(self, message: str, *, url: str, reason: str) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason


class NoResponse(Unreachable):
    """The request was sent but no answer arrived, so its effect is unknown."""


class NotTheApi(DumontError):
    """The URL answered with something that is not the API (an HTML page, plain text)."""

    def __init__(self, message: str, *, url: str, status: int, content_type: str) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.content_type = content_type


class ApiError(DumontError):
    """The API answered and refused: HTTP status, the API's error code and its message."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body


class BadRequest(ApiError):
    """The API rejected the arguments; ``field`` names the offending one when it is known."""

    @property
    def field(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("field"), str):
            return self.body["field"]
        return None


class AuthError(ApiError):
    """The API key is wrong (401) or absent (403)."""


class InsufficientBalance(ApiError):
    """The account's credit does not cover the request."""


class NotFound(ApiError):
    """The object (or path) does not exist."""


class OfferUnavailable(ApiError):
    """The offer is no longer available (someone rented it); pick another offer."""

    @property
    def offer_id(self) -> int | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("ask_id"), int):
            return self.body["ask_id"]
        return None


class RateLimited(ApiError):
    """The API kept answering 429 after pacing and retries."""


class ServerError(ApiError):
    """The API failed on its side (5xx) and retrying did not help or was not safe."""

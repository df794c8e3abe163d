"""The errors a sandbox service answers, and the few the shared core raises itself.

A ``ServiceError`` carries its HTTP status, a snake_case code, a message and the values that
caused it. Each service subclasses it with errors named after its own API's codes, and its
envelope (``core.handlers.Envelope``) decides how they look on the wire.

    ServiceError
    ├── InvalidSetting   400 invalid_args: a sandbox setting out of range (rate-limit mode)
    ├── Unauthorized     401 auth_error / 403 when no key at all (the /_sandbox/ surface)
    ├── RateLimited      429 rate_limit_exceeded
    └── InjectedFault    5xx server_error: a fault armed on the fault plan
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, msg: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        if status is not None:
            self.status = status
        self.extra = extra


class InvalidSetting(ServiceError, ValueError):
    code = "invalid_args"


class Unauthorized(ServiceError):
    status = 401
    code = "auth_error"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limit_exceeded"

    def __init__(self, endpoint: str, gap: float) -> None:
        super().__init__(f"API requests too frequent endpoint threshold={gap:g}")
        self.endpoint = endpoint
        self.gap = gap


class InjectedFault(ServiceError):
    code = "server_error"

    def __init__(self, status: int) -> None:
        super().__init__(f"Injected fault: HTTP {status}.", status=status)

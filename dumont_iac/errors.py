"""The one exception tree: every error this library raises is a ``DumontError``.

    DumontError
    ├── SettingError            a setting cannot be used; the message says how to set it
    │   ├── SettingMissing      a required setting (an API key) has no value anywhere
    │   └── SettingInvalid      a setting's value is unusable (a URL without http://)
    ├── InvalidValue            a value given to the library is not allowed (also a ValueError)
    │   ├── InvalidArgumentsError  a resource's arguments; every bad field is named
    │   └── CheckFailedError    the provider's Check refused them (seen by the test driver)
    ├── SchemaDeclarationError  a resource schema is declared in a way check/diff cannot honour
    ├── Unreachable             no answer: refused connection, unknown host, connect timeout
    │   └── NoResponse          the request went out, the answer never came (read timeout,
    │                           dropped connection): whether it took effect is unknown
    ├── NotTheApi               the URL answered, but not as the API does (HTML, not JSON)
    ├── ApiError                the API answered with an error (also HTTP 200 + success false)
    │   ├── BadRequest          400/422: names the offending field when the API does
    │   ├── AuthError           401 wrong key / 403 no key
    │   ├── InsufficientBalance 402: the account has no credit for this
    │   ├── NotFound            404: no such instance, volume or path
    │   ├── OfferUnavailable    no_such_ask: the offer was taken; choose another offer
    │   ├── RateLimited         429, still refused after pacing and retries
    │   └── ServerError         5xx, still failing after retries (if the call was safe to retry)
    ├── AwsError                AWS (EC2, S3) refused or failed a call; names the operation
    │   ├── AwsThrottled        throttling, still refused after boto3's retries
    │   ├── AwsCapacityError    no capacity for the instance type (spot or on-demand)
    │   └── AwsNotFound         no such instance, bucket or object
    ├── ProviderError           a resource operation (create, read, update, delete) failed
    │   ├── NoMatchingOffer     no live offer satisfies the resource's constraints
    │   ├── InstanceNotReady    a rental did not reach the wanted state in time
    │   ├── CreateFailed        create failed after renting; what it rented was destroyed
    │   └── ToyError            the test resource ToyRecord refused an operation
    └── DriverError             the test driver (``dumont_iac.testing``) could not go on
        ├── ProviderOperationError  a provider call failed; carries the provider's message
        ├── DeploymentError     an up / preview / refresh / destroy failed
        ├── ProtectedResourceError  a protected resource would have been deleted or replaced
        ├── UnsupportedByDriverError  the program asked for what the driver cannot do
        ├── ProjectError        a Pulumi project directory cannot be run
        └── DemoFailed          a step of ``dumont-iac demo`` did not hold (the reason says which)

Foreign exceptions (httpx's, pydantic's, grpc's) are translated where they occur with
``raise ... from exc``, so a caller only ever needs to catch these. Each outside service decodes
its own error bodies into ``ApiError`` subclasses (``dumont_iac.clients.<service>``). Services
this package serves (the sandbox, the control plane) render their own errors as HTTP answers:
those never reach a caller as exceptions. No message ever contains an API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi.dynamic import CheckFailure


class DumontError(Exception):
    """Base of every error this library raises."""

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


class InvalidValue(DumontError, ValueError):
    """A value given to a library function is not one it accepts; the message says what is."""


class InvalidArgumentsError(InvalidValue):
    """Arguments given to a resource failed validation; the message names every bad field."""

    def __init__(self, resource: str, failures: list[CheckFailure]) -> None:
        self.resource = resource
        self.failures = failures
        lines = "\n".join(f"  {f.property}: {f.reason}" for f in failures)
        super().__init__(f"invalid arguments for {resource}:\n{lines}")


class CheckFailedError(InvalidValue):
    """The provider's Check rejected a resource's arguments; the message names each field."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]) -> None:
        self.urn = urn
        self.failures = failures
        type_name = urn.split("::")[2].rsplit(":", 1)[-1] if urn.count("::") >= 3 else ""
        name = urn.rsplit("::", 1)[-1]
        lines = "\n".join(f"  {prop}: {reason}" for prop, reason in failures)
        super().__init__(f"invalid arguments for {type_name} {name!r}:\n{lines}")


class SchemaDeclarationError(DumontError):
    """A resource schema is declared in a way the generic check/diff cannot honour."""


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
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body
        self.field = field
        """The argument the API named as the offending one, when it did."""


class BadRequest(ApiError):
    """The API rejected the arguments; ``field`` names the offending one when it is known."""


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

    retry_after: float | None = None
    """Seconds the server asked to wait (its Retry-After header), when it said."""


class ServerError(ApiError):
    """The API failed on its side (5xx) and retrying did not help or was not safe."""


class AwsError(DumontError):
    """An AWS call failed: ``operation`` (RunInstances ...) and AWS's error ``code``."""

    def __init__(self, message: str, *, operation: str, code: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code


class AwsThrottled(AwsError):
    """AWS kept throttling the call after boto3's own retries."""


class AwsCapacityError(AwsError):
    """AWS has no capacity for the instance type in that zone (spot or on-demand)."""


class AwsNotFound(AwsError):
    """The instance, bucket or object does not exist."""


STDERR_TAIL = 4000
"""How much of a provider process's stderr a ProviderOperationError shows."""


# --- resource operations (raised in the provider process; Pulumi shows the message) ---------


class ProviderError(DumontError):
    """A resource operation could not be carried out; the message is the whole explanation:
    what happened, to which resource, and what to do next."""


class NoMatchingOffer(ProviderError):
    """No live offer satisfies the resource's constraints."""


class InstanceNotReady(ProviderError):
    """A rental did not reach the wanted state; ``status`` is the last one seen."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class CreateFailed(ProviderError):
    """Create failed after renting; the rental was destroyed (the cause is ``__cause__``)."""


class ToyError(ProviderError):
    """A ToyRecord operation failed; the message is meant for the person running the deploy."""


# --- the test driver ------------------------------------------------------------------------


class DriverError(DumontError):
    """The test driver could not go on; subclasses say why."""


class ProviderOperationError(DriverError):
    """A provider operation failed: the message is the provider's own, then where it happened."""

    def __init__(
        self,
        operation: str,
        urn: str,
        message: str,
        *,
        traceback: str = "",
        stderr: str = "",
        code: str = "",
    ) -> None:
        self.operation = operation
        self.urn = urn
        self.traceback = traceback
        self.stderr = stderr
        self.code = code
        where = f"{operation} of {urn}" if urn else operation
        text = f"{where} failed: {message}"
        if stderr.strip():
            text += f"\n--- provider stderr (tail) ---\n{stderr[-STDERR_TAIL:].rstrip()}"
        super().__init__(text)
        self.message = message


class DeploymentError(DriverError):
    """A run failed. ``errors`` holds every failure (the first is also ``__cause__``);
    ``result`` what was done before it; the state keeps every step that completed."""

    def __init__(self, operation: str, errors: list[BaseException], result: Any) -> None:
        # ``result`` is the driver's DeploymentResult; not named here, as this module is the
        # root every other one imports.
        self.operation = operation
        self.errors = list(errors)
        self.result = result
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(f"{operation} failed: {errors[0]}{more}")


class ProtectedResourceError(DriverError):
    """A protected resource would have been deleted or replaced."""


class UnsupportedByDriverError(DriverError):
    """The program did something the driver cannot play the engine's part for."""


class ProjectError(DriverError):
    """The project directory cannot be run; the message says which file and what is wrong."""


class DemoFailed(DriverError):
    """A step of ``dumont-iac demo`` did not hold: a failover that never finished, a refresh
    that saw a change, something left billing after destroy."""

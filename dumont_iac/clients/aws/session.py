"""boto3 clients built one way, and botocore errors translated at the boundary.

Credentials come from boto3's own chain (environment, profile, instance role) and are never
passed through this module, logged or put into a message. ``AWS_ENDPOINT_URL`` (honoured by
boto3 itself) sends every call to moto's server in the sandbox, or to an S3-compatible store.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from dumont_iac.errors import AwsCapacityError, AwsError, AwsNotFound, AwsThrottled

DEFAULT_REGION = "us-east-1"
# boto3's "standard" mode retries throttling and transient errors with backoff and a quota.
# AWS_MAX_ATTEMPTS (boto3's own variable: attempts in all, the first one included) still
# sets them: an explicit Config would otherwise override it.
MAX_ATTEMPTS = 7

THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded",
                       "SlowDown", "TooManyRequestsException"})  # fmt: skip
NO_CAPACITY = frozenset({"InsufficientInstanceCapacity", "InsufficientCapacity",
                         "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded",
                         "InsufficientFreeAddressesInSubnet"})  # fmt: skip
NOT_FOUND = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
                       "NoSuchBucket", "NoSuchKey", "404", "NotFound",
                       "InvalidGroup.NotFound", "InvalidSubnetID.NotFound"})  # fmt: skip


@dataclass(frozen=True)
class AwsAccess:
    """Where AWS is and who calls it, when not from the environment: a control plane that the
    sandbox points at moto's server. Fields left None fall back to boto3's own chain."""

    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


def region_or_default(region: str | None) -> str:
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or (DEFAULT_REGION)
    )


def client(
    service: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    access: AwsAccess | None = None,
) -> Any:
    """A boto3 client for ``service`` with the library's retry policy. ``endpoint_url`` (an
    S3-compatible store) wins over ``access.endpoint_url``, which wins over the environment."""
    # The environment is part of the key: a process may be pointed at another AWS later.
    environment = tuple(os.environ.get(name) for name in _ENVIRONMENT)
    return _client(
        service, region_or_default(region), endpoint_url, access or AwsAccess(), environment
    )


_ENVIRONMENT = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_MAX_ATTEMPTS")


@functools.lru_cache(maxsize=64)
def _client(
    service: str,
    region: str,
    endpoint_url: str | None,
    access: AwsAccess,
    environment: tuple[str | None, ...],
) -> Any:
    # Building a client loads the service's whole model (a large part of a second): agents
    # that look at EC2 every few seconds share one per place; boto3 clients are thread-safe.
    return boto3.session.Session(
        aws_access_key_id=access.access_key_id,
        aws_secret_access_key=access.secret_access_key,
    ).client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url or access.endpoint_url or None,
        config=retries(),
    )


def retries() -> Config:
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    return Config(
        retries={"mode": "standard", "total_max_attempts": int(attempts) if attempts.isdigit()
                 else MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=30,
    )  # fmt: skip


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Run boto3 calls, raising ``AwsError`` subclasses that name the operation and say what
    to do; the original error is chained, never its credentials."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        text = str(error.get("Message") or code)
        if code in THROTTLED:
            raise AwsThrottled(
                f"AWS {operation}: throttled ({code}) after retries; wait and run again, or ask "
                "AWS for a higher API rate.",
                operation=operation,
                code=code,
            ) from exc
        if code in NO_CAPACITY:
            raise AwsCapacityError(
                f"AWS {operation}: no capacity ({code}: {text}); choose another instance type "
                "or zone, or turn spot off.",
                operation=operation,
                code=code,
            ) from exc
        if code in NOT_FOUND:
            raise AwsNotFound(
                f"AWS {operation}: not found ({code}: {text}).", operation=operation, code=code
            ) from exc
        raise AwsError(f"AWS {operation} failed: {code}: {text}", operation=operation,
                       code=code) from exc  # fmt: skip
    except NoCredentialsError as exc:
        raise AwsError(
            f"AWS {operation}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or a profile) in the environment of the provider and the "
            "control plane.",
            operation=operation,
        ) from exc
    except EndpointConnectionError as exc:
        raise AwsError(
            f"AWS {operation}: cannot reach {exc.kwargs.get('endpoint_url')}; check "
            "AWS_ENDPOINT_URL and the network.",
            operation=operation,
        ) from exc
    except BotoCoreError as exc:
        raise AwsError(f"AWS {operation} failed: {exc}", operation=operation) from exc

"""Errors the marketplace answers, named after the marketplace's own error codes.

Every error carries the HTTP status and the values that caused it; ``envelope`` renders all of
them in one place as ``{"success": false, "error": code, "msg": ...}``.

    core.errors.ServiceError
    └── MarketplaceError
        ├── InvalidArgs          400 invalid_args
        │   ├── InvalidPrice     400 invalid_price
        │   └── LabelTooLong     400 label_too_long
        ├── InvalidRequest       400 invalid_request
        ├── InsufficientBalance  402 insufficient_balance
        ├── NoSuchAsk            404 no_such_ask (410 with cancel_unavail)
        ├── NoSuchInstance       404 no_such_instance
        ├── NoSuchVolume         404 no_such_volume
        ├── NoSuchFile           404 no_such_file (a workspace file, on the /_sandbox/ surface)
        ├── NoSuchVm             404 no_such_vm (an EC2 VM of the world's AWS, same surface)
        └── AuthError            401 auth_error / 403 when no key at all

A 429 is ``core.errors.RateLimited``, raised by the shared rate limiter; the envelope answers it
in plain text without ``Retry-After``.
"""

from __future__ import annotations

from dumont_iac.sandbox.core.errors import ServiceError


class MarketplaceError(ServiceError):
    status = 400
    code = "invalid_request"


class InvalidRequest(MarketplaceError):
    code = "invalid_request"


class InvalidArgs(MarketplaceError):
    code = "invalid_args"


class InvalidPrice(InvalidArgs):
    code = "invalid_price"


class LabelTooLong(InvalidArgs):
    code = "label_too_long"


class InsufficientBalance(MarketplaceError):
    status = 402
    code = "insufficient_balance"


class NoSuchAsk(MarketplaceError):
    status = 404
    code = "no_such_ask"

    def __init__(self, ask_id: int, *, status: int = 404) -> None:
        # The real API files a taken offer under invalid_args with the 3603 code in the message.
        super().__init__(
            f"error 404/3603: no_such_ask Instance type by id {ask_id} is not available.",
            status=status,
            ask_id=ask_id,
        )
        if status == 404:
            self.code = "invalid_args"


class NoSuchInstance(MarketplaceError):
    status = 404
    code = "no_such_instance"

    def __init__(self, instance_id: int) -> None:
        super().__init__(f"Instance {instance_id} not found.", instance_id=instance_id)


class NoSuchVolume(MarketplaceError):
    status = 404
    code = "no_such_volume"

    def __init__(self, volume_id: int) -> None:
        super().__init__(f"Volume {volume_id} not found.", volume_id=volume_id)


class AuthError(MarketplaceError):
    status = 401
    code = "auth_error"


class NoSuchFile(MarketplaceError):
    status = 404
    code = "no_such_file"

    def __init__(self, instance_id: int, path: str) -> None:
        super().__init__(
            f"Instance {instance_id} has no workspace file {path!r}.",
            instance_id=instance_id,
            path=path,
        )


class NoSuchVm(MarketplaceError):
    status = 404
    code = "no_such_vm"

    def __init__(self, ec2_instance_id: str, region: str) -> None:
        super().__init__(
            f"No EC2 instance {ec2_instance_id} in {region} on the world's AWS; pass ?region= "
            "when it runs in another region.",
            ec2_instance_id=ec2_instance_id,
            region=region,
        )

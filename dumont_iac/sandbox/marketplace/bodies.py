"""The request bodies the marketplace accepts, validated into typed values.

Clients send many keys the sandbox has no use for (``python_utf8``, ``force``, ``extra``, ...)
and ``null`` for options they leave unset, so unknown keys are ignored and ``null`` means
"not given". Wrong types and out-of-range values become ``InvalidArgs`` (400 ``invalid_args``)
naming the field, the value given and what is allowed; the over-long label and the low bid get
the marketplace's own codes (``label_too_long``, ``invalid_price``) where they are checked.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dumont_iac.sandbox.marketplace.errors import InvalidArgs, LabelTooLong

MAX_LABEL = 256
MAX_ONSTART = 4096
MIN_DISK_GB = 8
MOUNT_PATH = re.compile(r"^(/)?([^/\0]+(/)?)+$")
SSH_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")
# Tokens of the launch modes the official client composes ("ssh_direc ssh_proxy", ...).
RUNTYPE_TOKENS = {
    "ssh",
    "ssh_proxy",
    "ssh_direc",
    "ssh_direct",
    "jupyter",
    "jupyter_proxy",
    "jupyter_direc",
    "jupyter_direct",
    "args",
}

Model = TypeVar("Model", bound=BaseModel)
Id = Annotated[int, Field(ge=0, le=2**63 - 1)]  # SQLite integers are 64-bit


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class VolumeInfo(Body):
    create_new: bool = False
    volume_id: Id
    mount_path: str
    size: float | None = Field(default=None, gt=0, le=100_000)
    name: str | None = Field(default=None, max_length=MAX_LABEL)

    @field_validator("mount_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not MOUNT_PATH.match(value):
            raise ValueError("must be a Linux path such as /root/volume")
        return value


class RentBody(Body):
    image: str | None = None
    template_hash_id: str | None = None
    disk: float = Field(default=10.0, ge=MIN_DISK_GB, le=100_000)
    env: dict[str, str] | None = None
    label: str | None = None
    onstart: str | None = None
    args: list[str] | str | None = None
    runtype: str | None = None
    image_login: str | None = None
    price: float | None = Field(default=None, gt=0, le=1000)
    cancel_unavail: bool | None = None
    target_state: Literal["running", "stopped"] | None = None
    volume_info: VolumeInfo | None = None

    @field_validator("runtype")
    @classmethod
    def _runtype(cls, value: str | None) -> str | None:
        if value is None:
            return None
        tokens = set(value.split())
        if not tokens or not tokens <= RUNTYPE_TOKENS:
            raise ValueError(f"must be made of {', '.join(sorted(RUNTYPE_TOKENS))}")
        return value

    def checked(self) -> RentBody:
        """The rules pydantic cannot say alone: a non-empty image, label and script lengths."""
        if self.image is None or not self.image.strip():
            hint = " (templates are not available in the sandbox)" if self.template_hash_id else ""
            raise InvalidArgs(
                f"image={self.image!r}: give the docker image to run, e.g. "
                f"'pytorch/pytorch:latest'{hint}.",
                field="image",
            )
        check_label(self.label)
        args = " ".join(self.args) if isinstance(self.args, list) else (self.args or "")
        if len(args) + len(self.onstart or "") > MAX_ONSTART:
            raise InvalidArgs(
                f"onstart: the onstart script and args together are "
                f"{len(args) + len(self.onstart or '')} characters; at most {MAX_ONSTART} "
                "are allowed.",
                field="onstart",
            )
        return self

    def ports(self) -> list[str]:
        """Container ports the rental asked for through ``-p HOST:CONTAINER[/proto]`` keys."""
        ports = []
        for key in self.env or {}:
            if key.startswith("-p "):
                spec = key[3:].strip()
                container, _, proto = spec.split(":")[-1].partition("/")
                if container.isdigit():
                    ports.append(f"{int(container)}/{proto or 'tcp'}")
        return ports

    def plain_env(self) -> list[list[str]]:
        """Environment variables proper (docker options such as ``-p`` are not variables)."""
        return [[key, value] for key, value in (self.env or {}).items() if not key.startswith("-")]


class InstanceUpdate(Body):
    state: Literal["running", "stopped"] | None = None
    label: str | None = None


class BulkInstanceUpdate(InstanceUpdate):
    ids: list[Id] = Field(min_length=1, max_length=64)


class BulkRentBody(RentBody):
    """``vastai create instances``: one rent body for every offer in ``ids``."""

    ids: list[Id] = Field(min_length=1, max_length=64)


class BulkDestroy(Body):
    instance_ids: list[Id] = Field(min_length=1, max_length=64)


class BidChange(Body):
    price: float | None = Field(default=None, gt=0, le=1000)


class VolumeCreate(Body):
    id: Id
    size: float = Field(default=15, gt=0, le=100_000)
    name: str | None = Field(default=None, max_length=MAX_LABEL)


class SshKeyBody(Body):
    ssh_key: str = Field(min_length=1, max_length=16_384)

    @field_validator("ssh_key")
    @classmethod
    def _public_key(cls, value: str) -> str:
        value = value.strip()
        if not SSH_KEY.match(value):
            raise ValueError("must be an OpenSSH public key such as 'ssh-ed25519 AAAA... me@host'")
        return value


def check_label(label: str | None) -> None:
    if label is not None and len(label) > MAX_LABEL:
        raise LabelTooLong(
            f"label is {len(label)} characters; at most {MAX_LABEL} are allowed.",
            field="label",
        )


def parse(model: type[Model], body: Any) -> Model:
    """``body`` validated as ``model``; the first problem becomes an InvalidArgs."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidArgs(
            f"body={_short(body)}: the request body must be a JSON object.", field="body"
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        first = problems[0]
        name = ".".join(str(part) for part in first["loc"]) or "body"
        given = "" if first["type"] == "missing" else f" (got {_short(first.get('input'))})"
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            + ("" if e["type"] == "missing" else f" (got {_short(e.get('input'))})")
            for e in problems
        )
        raise InvalidArgs(message or f"{name}: invalid value{given}", field=name) from None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The shapes of ``/webhooks``: a URL and the event kinds it wants; the secret comes back once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dumont_iac.control_plane.models.common import Body

WebhookKind = Literal["failover", "recovery", "hibernation", "wake", "budget"]
# http(s), a host, no spaces; whether it answers is for delivery to find out.
URL_PATTERN = r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$"
WebhookUrl = Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=2000)]

EXAMPLE_IN: dict[str, Any] = {
    "url": "https://hooks.example.com/dumont",
    "kinds": ["failover", "budget"],
}
EXAMPLE_OUT = {"id": 1, **EXAMPLE_IN, "created_at": 1_800_000_000.0}
EXAMPLE_CREATED = {**EXAMPLE_OUT, "secret": "whsec_Q2f...shown-once..."}


class WebhookIn(Body):
    url: WebhookUrl = Field(description="Where events are POSTed (https:// in production).")
    kinds: list[WebhookKind] = Field(
        default_factory=list,
        max_length=5,
        description="The event kinds to send; empty or absent: every kind.",
    )
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_IN]})


class WebhookOut(BaseModel):
    id: int
    url: str
    kinds: list[str]
    created_at: float


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown in this answer only.")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class WebhookDeleted(BaseModel):
    id: int
    deleted: bool

"""``/webhooks``: a user's endpoints for event deliveries (see ``docs/webhooks.md``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane.errors import ApiError, NotFound
from dumont_iac.control_plane.models.common import RowIdPath, answers
from dumont_iac.control_plane.models.webhooks import (
    EXAMPLE_CREATED,
    EXAMPLE_OUT,
    WebhookCreated,
    WebhookDeleted,
    WebhookIn,
    WebhookList,
)
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.webhooks import StoredWebhook

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

MAX_PER_USER = 20


def public(webhook: StoredWebhook) -> dict[str, Any]:
    """A webhook as listed: everything but its secret."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "kinds": sorted(webhook.kinds),
        "created_at": webhook.created_at,
    }


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=201,
    summary="Register a URL for event deliveries; the answer holds its signing secret, once",
    responses=answers(EXAMPLE_CREATED, 201, 409),
)
def create_webhook(body: WebhookIn, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if store.webhooks.count(caller.user_id) >= MAX_PER_USER:
        raise ApiError(f"At most {MAX_PER_USER} webhooks per user; delete one first.", 409)
    webhook = store.webhooks.create(caller.user_id, body.url, body.kinds)
    return {**public(webhook), "secret": webhook.secret}


@router.get(
    "",
    response_model=WebhookList,
    summary="The caller's webhooks (without their secrets)",
    responses=answers({"webhooks": [EXAMPLE_OUT]}),
)
def list_webhooks(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    return {"webhooks": [public(webhook) for webhook in store.webhooks.list(caller.user_id)]}


@router.delete(
    "/{webhook_id}",
    response_model=WebhookDeleted,
    summary="Delete a webhook; no event is sent to it from then on",
    responses=answers({"id": 1, "deleted": True}, 200, 404),
)
def delete_webhook(webhook_id: RowIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if not store.webhooks.delete(caller.user_id, webhook_id):
        raise NotFound(f"No webhook {webhook_id}.")
    return {"id": webhook_id, "deleted": True}

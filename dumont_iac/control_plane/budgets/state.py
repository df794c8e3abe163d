"""A budget's accrued state, kept as settings documents so it survives restarts and is shared
by replicas: spend and GPU-hours of the current period (``budget_spend``), one row per
threshold alert (``budget_alert``), and the GPUs it holds stopped or destroyed (``gpu_hold``).
"""

from __future__ import annotations

from typing import Any

from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import BUDGET_ALERT, BUDGET_SPEND, GPU_HOLD

PERIOD_SECONDS = {"day": 86_400.0, "week": 7 * 86_400.0, "month": 730 * 3_600.0}
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
NO_WEBHOOK = "no_webhook"  # the budget has no webhook: the event log has the alert


def new_spend(now: float) -> dict[str, Any]:
    return {
        "period_start": now,
        "spend_usd": 0.0,
        "gpu_hours": 0.0,
        "rate_per_hour": 0.0,
        "gpus_running": 0,
        "concurrent_gpus": 0,
        "last_at": now,
        "action_taken": None,
        "action_taken_at": None,
    }


def spend_of(store: Store, user_id: int, budget_id: int) -> dict[str, Any] | None:
    return store.documents.get(user_id, BUDGET_SPEND, str(budget_id))


def put_spend(store: Store, user_id: int, budget_id: int, spend: dict[str, Any]) -> None:
    store.documents.put(user_id, BUDGET_SPEND, spend, str(budget_id))


def alert_key(budget_id: int, percent: float) -> str:
    return f"{budget_id}:{percent:g}"


def alerts_of(store: Store, user_id: int, budget_id: int) -> dict[str, dict[str, Any]]:
    """Percent text -> alert row, for this budget's current alerts."""
    head = f"{budget_id}:"
    rows = store.documents.list(user_id, BUDGET_ALERT)
    return {key[len(head) :]: body for key, body in rows.items() if key.startswith(head)}


def put_alert(
    store: Store, user_id: int, budget_id: int, percent: float, body: dict[str, Any]
) -> None:
    store.documents.put(user_id, BUDGET_ALERT, body, alert_key(budget_id, percent))


def hold(store: Store, user_id: int, gpu_id: str, body: dict[str, Any]) -> None:
    store.documents.put(user_id, GPU_HOLD, body, gpu_id)


def forget(store: Store, user_id: int, budget_id: int) -> None:
    """Drop everything the agent keeps for a budget (deleted, or a new period begins for the
    alerts and holds)."""
    store.documents.delete(user_id, BUDGET_SPEND, str(budget_id))
    release(store, user_id, budget_id)


def release(store: Store, user_id: int, budget_id: int) -> None:
    """Drop the budget's alerts and the GPU holds it wrote."""
    for percent in alerts_of(store, user_id, budget_id):
        store.documents.delete(user_id, BUDGET_ALERT, f"{budget_id}:{percent}")
    for gpu_id, body in store.documents.list(user_id, GPU_HOLD).items():
        if body.get("reason") == "budget" and body.get("budget_id") == budget_id:
            store.documents.delete(user_id, GPU_HOLD, gpu_id)


def spend_view(store: Store, user_id: int, budget_id: int, now: float) -> dict[str, Any]:
    """What ``GET /budgets/{id}/spend`` answers: zero before the agent's first tick."""
    spend = spend_of(store, user_id, budget_id) or {**new_spend(now), "last_at": None}
    alerts = {
        p: row.get("state", PENDING) for p, row in alerts_of(store, user_id, budget_id).items()
    }
    return {
        "id": budget_id,
        "period_start": spend["period_start"],
        "spend_usd": round(spend["spend_usd"], 6),
        "gpu_hours": round(spend["gpu_hours"], 6),
        "rate_per_hour": spend["rate_per_hour"],
        "concurrent_gpus": spend["concurrent_gpus"],
        "alerts": alerts,
        "action_taken": spend["action_taken"],
        "action_taken_at": spend["action_taken_at"],
        "updated_at": spend["last_at"],
    }

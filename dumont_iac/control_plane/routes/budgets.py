"""``/budgets``: a user's spend thresholds, with the action to take at each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dumont_iac.control_plane.budgets.state import forget, spend_view
from dumont_iac.control_plane.errors import NotFound
from dumont_iac.control_plane.models.common import RowIdPath, answers
from dumont_iac.control_plane.models.policies import BUDGET_EXAMPLE, Budget
from dumont_iac.control_plane.models.responses import (
    BudgetDeleted,
    BudgetList,
    BudgetOut,
    BudgetSpend,
)
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.webhooks import origin

router = APIRouter(prefix="/budgets", tags=["budgets"])

STORED_EXAMPLE = {"id": 1, **BUDGET_EXAMPLE, "webhook_origin": "https://hooks.example.com"}
SPEND_EXAMPLE = {
    "id": 1,
    "period_start": 1_800_000_000.0,
    "spend_usd": 12.5,
    "gpu_hours": 31.2,
    "rate_per_hour": 0.41,
    "concurrent_gpus": 1,
    "alerts": {"50": "delivered"},
    "action_taken": None,
    "action_taken_at": None,
    "updated_at": 1_800_100_000.0,
}


def shown(budget_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """A stored budget as answered: its webhook URL and secret never leave the store."""
    visible = {k: v for k, v in body.items() if k not in ("webhook_url", "webhook_secret")}
    url = body.get("webhook_url")
    return {"id": budget_id, **visible, "webhook_origin": origin(url) if url else None}


def _missing(budget_id: int) -> NotFound:
    return NotFound(f"No budget {budget_id}.")


@router.get(
    "",
    response_model=BudgetList,
    summary="The caller's budgets",
    responses=answers({"budgets": [STORED_EXAMPLE]}),
)
def list_budgets(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    found = store.budgets.list(caller.user_id)
    return {"budgets": [shown(budget_id, body) for budget_id, body in found.items()]}


@router.post(
    "",
    response_model=BudgetOut,
    status_code=201,
    summary="Create a budget",
    responses=answers(STORED_EXAMPLE, 201),
)
def create_budget(body: Budget, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    budget_id = store.budgets.create(caller.user_id, body.model_dump())
    return shown(budget_id, body.model_dump())


@router.get(
    "/{budget_id}",
    response_model=BudgetOut,
    summary="One budget",
    responses=answers(STORED_EXAMPLE, 200, 404),
)
def get_budget(budget_id: RowIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    body = store.budgets.get(caller.user_id, budget_id)
    if body is None:
        raise _missing(budget_id)
    return shown(budget_id, body)


@router.get(
    "/{budget_id}/spend",
    response_model=BudgetSpend,
    summary="What the budget's scope has cost this period, and its alerts",
    responses=answers(SPEND_EXAMPLE, 200, 404),
)
def get_spend(
    budget_id: RowIdPath, request: Request, store: StoreDep, caller: CallerDep
) -> dict[str, Any]:
    if store.budgets.get(caller.user_id, budget_id) is None:
        raise _missing(budget_id)
    return spend_view(store, caller.user_id, budget_id, request.app.state.clock.now())


@router.put(
    "/{budget_id}",
    response_model=BudgetOut,
    summary="Replace a budget",
    responses=answers(STORED_EXAMPLE, 200, 404),
)
def put_budget(
    budget_id: RowIdPath, body: Budget, store: StoreDep, caller: CallerDep
) -> dict[str, Any]:
    if not store.budgets.replace(caller.user_id, budget_id, body.model_dump()):
        raise _missing(budget_id)
    return shown(budget_id, body.model_dump())


@router.delete(
    "/{budget_id}",
    response_model=BudgetDeleted,
    summary="Delete a budget",
    responses=answers({"id": 1, "deleted": True}, 200, 404),
)
def delete_budget(budget_id: RowIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    if not store.budgets.delete(caller.user_id, budget_id):
        raise _missing(budget_id)
    forget(store, caller.user_id, budget_id)  # its spend, alerts and GPU holds
    return {"id": budget_id, "deleted": True}

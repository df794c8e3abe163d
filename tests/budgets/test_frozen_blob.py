"""Budget provider blobs written by released versions still load in a fresh provider process,
register a budget with the control plane, read it and unregister it. Moving or renaming
``BudgetProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.provider.budget import BudgetProvider
from dumont_iac.testing import provider_blobs
from tests.provider_core.frozen import PROJECT, each_blob

from .helpers import control_plane

ARGS = {
    "limit_usd": 800,
    "logical_name": "frozen/ci/monthly",
    "scope_ids": ["gpu-0123456789ab"],
    "scope_costs": [
        {
            "name": "train",
            "kind": "GpuInstance",
            "worst_per_month": 730.0,
            "gpus": 1,
            "basis": "1 $/h caps x 730 h",
        }
    ],  # fmt: skip
}


@pytest.fixture
def provider(provider_process_factory, budget_world):
    env = budget_world.env()
    process = provider_process_factory(project=PROJECT)
    process.configure(
        {"dumont:apiUrl": env["DUMONT_API_URL"], "dumont:apiKey": env["DUMONT_API_KEY"]},
        ["dumont:apiKey"],
    )
    return process


@each_blob("budget")
def test_a_frozen_blob_registers_reads_and_unregisters_a_budget(frozen, provider, budget_world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("budget-") and done.read_id == done.id
    assert done.outputs["worst_per_month"] == 730.0 and done.read_id_after_delete == ""
    assert control_plane(budget_world).budgets().budgets == []


@each_blob("budget")
def test_a_frozen_blob_unregisters_a_budget_the_current_provider_registered(
    frozen, provider, budget_world
):
    created = provider_blobs.create_with(provider, BudgetProvider(), frozen, ARGS)
    budgets = control_plane(budget_world).budgets().budgets
    assert [f"budget-{b.id}" for b in budgets] == [created.id]
    provider_blobs.delete_with(provider, frozen, created)
    assert control_plane(budget_world).budgets().budgets == []

"""Budget provider blobs written by released versions still load in a fresh provider process,
register a budget with the control plane, read it and unregister it. Moving or renaming
``BudgetProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

from pathlib import Path

import pytest

from dumont_iac.testing import provider_blobs

from .helpers import control_plane

FIXTURES = sorted(
    (Path(__file__).resolve().parents[1] / "provider_core" / "fixtures").glob("budget-*.json")
)
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


def test_there_is_a_frozen_budget_blob():
    assert FIXTURES, "run tests/provider_core/fixtures/freeze_providers.py"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_frozen_blob_registers_reads_and_unregisters_a_budget(
    fixture, provider_process_factory, budget_world
):
    env = budget_world.env()
    process = provider_process_factory(project="frozen")
    process.configure(
        {"dumont:apiUrl": env["DUMONT_API_URL"], "dumont:apiKey": env["DUMONT_API_KEY"]},
        ["dumont:apiKey"],
    )
    frozen = provider_blobs.read(fixture)
    done = provider_blobs.exercise(process, frozen, ARGS)
    assert done.id.startswith("budget-") and done.read_id == done.id
    assert done.outputs["worst_per_month"] == 730.0 and done.read_id_after_delete == ""
    assert control_plane(budget_world).budgets().budgets == []

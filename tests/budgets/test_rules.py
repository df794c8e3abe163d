"""The budget's rules in this process: what its check refuses, what its scope covers, what a
bad argument says, and how a resource is priced offline."""

from __future__ import annotations

import pytest

from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.control_plane.budgets.alerts import event_id
from dumont_iac.control_plane.budgets.scope import covers, rental_rate
from dumont_iac.models.budget import BudgetArgs
from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider.budget import BudgetProvider
from dumont_iac.provider.budget_rules import refusals
from dumont_iac.provider.gpu_fleet import GpuFleetProvider
from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.provider.offline import offline_cost


def cost(name: str, worst: float | None, gpus: int = 1, expected: float | None = None) -> dict:
    found = {"name": name, "kind": "GpuInstance", "gpus": gpus, "basis": "caps"}
    if worst is not None:
        found["worst_per_month"] = worst
    if expected is not None:
        found["expected_per_month"] = expected
    return found


def test_within_the_limit_nothing_is_refused():
    assert refusals({"limit_usd": 100, "scope_costs": [cost("a", 40), cost("b", 60)]}) == []


def test_over_the_limit_names_each_figure_and_the_total():
    (failure,) = refusals({"limit_usd": 90, "scope_costs": [cost("a", 40), cost("b", 60)]})
    assert failure.property == "limit_usd"
    assert "a (GpuInstance) $40.00" in failure.reason and "b (GpuInstance) $60.00" in failure.reason
    assert "total $100.00" in failure.reason and "limit_usd $90.00" in failure.reason


def test_no_price_cap_is_refused_unless_expected_prices_are_used():
    (failure,) = refusals({"limit_usd": 1000, "scope_costs": [cost("free", None), cost("b", 1)]})
    assert failure.property == "scope_costs" and failure.reason.startswith("free (GpuInstance)")
    trusted = {"limit_usd": 1000, "use_expected_prices": True,
               "scope_costs": [cost("free", None, expected=50)]}  # fmt: skip
    assert refusals(trusted) == []


def test_expected_prices_still_hold_the_limit():
    over = {"limit_usd": 10, "use_expected_prices": True,
            "scope_costs": [cost("a", 400, expected=50)]}  # fmt: skip
    (failure,) = refusals(over)
    assert "price now of the scope is $50.00/month" in failure.reason


def test_more_gpus_than_the_quota_is_refused():
    (failure,) = refusals(
        {"limit_usd": 10_000, "max_concurrent_gpus": 2, "scope_costs": [cost("a", 1, gpus=3)]}
    )
    assert failure.property == "max_concurrent_gpus" and "declares 3 GPUs" in failure.reason


def test_a_bad_argument_names_the_field_the_value_and_what_is_allowed():
    checked = BudgetProvider().check({}, {"limit_usd": -5, "action": "explode"})
    reasons = {f.property: f.reason for f in checked.failures}
    assert "greater than 0" in reasons["limit_usd"] and "-5" in reasons["limit_usd"]
    assert "alert" in reasons["action"] and "destroy" in reasons["action"]


def test_the_webhook_url_is_never_shown_in_a_failure():
    checked = BudgetProvider().check({}, {"limit_usd": 5, "webhook_url": "ftp://token@x"})
    (failure,) = checked.failures
    assert failure.property == "webhook_url" and "token" not in failure.reason


def test_the_scope_covers_fleet_members_and_standbys_only_of_its_ids():
    ids = ["gpu-0123456789ab", "fleet-0123456789ab", "pool-0123456789ab"]
    assert covers(ids, "gpu-0123456789ab") and covers(ids, "fleet-0123456789ab-3")
    assert covers(ids, "pool-0123456789ab.standby-2")
    assert not covers(ids, "gpu-ffffffffffff") and not covers(ids, "fleet-0123456789ab-x")
    assert not covers(ids, None) and covers([], "gpu-ffffffffffff")


def test_a_stopped_rental_bills_its_disk_only():
    running = Instance(id=1, actual_status="running", dph_total=0.5, disk_space=72.0,
                       storage_cost=0.2)  # fmt: skip
    stopped = running.model_copy(update={"actual_status": "stopped"})
    assert rental_rate(running) == 0.5 and rental_rate(stopped) == pytest.approx(72 * 0.2 / 720)


def test_the_worst_case_is_priced_offline_through_each_provider():
    gpu = GpuInstanceArgs(image="x", max_price_per_hour=0.5, gpu_count=2)
    fleet = GpuFleetArgs(image="x", count=3, max_price_per_hour=0.25)
    one, many = offline_cost(GpuInstanceProvider, gpu), offline_cost(GpuFleetProvider, fleet)
    assert one is not None and (one.worst_per_hour, one.gpus, one.expected_per_hour) == (
        0.5,
        2,
        None,
    )
    assert many is not None and (many.worst_per_hour, many.gpus) == (0.75, 3)
    assert offline_cost(BudgetProvider, BudgetArgs(limit_usd=1)) is None  # bills nothing


def test_each_alert_has_one_event_id_per_period():
    assert event_id(3, 1_800_000_000.0, 80) == event_id(3, 1_800_000_000.0, 80.0)
    assert event_id(3, 1_800_000_000.0, 80) != event_id(3, 1_800_000_000.0, 100)


def test_a_generated_signing_secret_is_kept_across_deploys():
    news = BudgetProvider().check({}, {"limit_usd": 5}).inputs
    olds = {**news, "signing_secret": "generated-" + "x" * 30, "budget_id": 1.0}
    assert not BudgetProvider().diff("budget-1", olds, news).changes
    changed = BudgetProvider().diff("budget-1", olds, {**news, "limit_usd": 6})
    assert changed.changes and not changed.replaces

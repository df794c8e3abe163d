"""The CrossGuard pack (``policy/``) holds each Budget to its own rule: fed the Budget of a
previewed program (the real provider's Check, through the driver), it reports the same
violation the preview does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dumont_iac import Budget, GpuFleet, GpuInstance
from dumont_iac.provider.budget import CHECK_MODE_ENV

policy = pytest.importorskip(
    "pulumi_policy", reason="pulumi-policy is not installed (policy/requirements.txt)"
)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
from budget_policy import validate  # noqa: E402


def _stack(planned) -> list:
    resources = []
    for urn, props in planned.inputs.items():
        resources.append(
            policy.PolicyResource(
                resource_type=urn.split("::")[2],
                props=props,
                urn=urn,
                name=urn.rsplit("::", 1)[-1],
                opts=None,  # type: ignore[arg-type]
                provider=None,
                parent=None,
                dependencies=[],
                property_dependencies={},
            )
        )
    return resources


@pytest.mark.parametrize(("limit", "violations"), [(1000, 1), (2000, 0)])
def test_the_pack_reports_a_budget_over_its_limit(deployment_factory, limit, violations):
    def declared() -> None:
        GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=0.6)
        GpuFleet("workers", image="ubuntu:22.04", count=3, max_price_per_hour=0.5)
        Budget("monthly", limit_usd=limit)

    stack = deployment_factory(declared, project="budgets", env={CHECK_MODE_ENV: "report"})
    planned = stack.preview()
    reported: list[tuple[str, str | None]] = []
    validate(
        policy.StackValidationArgs(_stack(planned)), lambda m, urn=None: reported.append((m, urn))
    )
    assert len(reported) == violations
    if violations:
        message, urn = reported[0]
        assert urn is not None and urn.endswith("::monthly")
        assert "train (GpuInstance) $438.00" in message and "total $1,533.00" in message

"""A Budget refuses, at preview, a plan whose worst case is over its limit, naming each
resource with its figure: through the real provider process (the driver)."""

from __future__ import annotations

import pytest

from dumont_iac import Budget, GpuFleet, GpuInstance
from dumont_iac.errors import DeploymentError

IMAGE = "ubuntu:22.04"


def over_budget() -> None:
    GpuInstance("train", image=IMAGE, max_price_per_hour=0.6)
    GpuFleet("workers", image=IMAGE, count=3, max_price_per_hour=0.5)
    Budget("monthly", limit_usd=1000, action="stop")


def test_a_preview_over_the_limit_fails_with_each_figure(deployment_factory):
    with pytest.raises(DeploymentError) as failed:
        deployment_factory(over_budget, project="budgets").preview()
    text = str(failed.value)
    # 0.6 x 730 = 438; 3 x 0.5 x 730 = 1095; total 1533 > 1000.
    assert "train (GpuInstance) $438.00" in text
    assert "workers (GpuFleet) $1,095.00" in text
    assert "total $1,533.00" in text and "limit_usd $1,000.00" in text


def within_budget() -> None:
    GpuInstance("train", image=IMAGE, max_price_per_hour=0.6)
    Budget("monthly", limit_usd=500)


def test_a_preview_within_the_limit_passes(deployment_factory):
    result = deployment_factory(within_budget, project="budgets").preview()
    assert any(urn.endswith("::monthly") for urn in result.created)


def uncapped() -> None:
    GpuInstance("free", image=IMAGE)
    GpuInstance("capped", image=IMAGE, max_price_per_hour=0.2)
    Budget("monthly", limit_usd=10_000, resources=None)


def test_a_gpu_without_a_price_cap_is_refused_by_name(deployment_factory):
    with pytest.raises(DeploymentError) as failed:
        deployment_factory(uncapped, project="budgets").preview()
    text = str(failed.value)
    assert "free (GpuInstance): no price cap" in text and "capped (GpuInstance)" not in text


def narrowed() -> None:
    big = GpuFleet("big", image=IMAGE, count=8, max_price_per_hour=2.0)
    small = GpuInstance("small", image=IMAGE, max_price_per_hour=0.2)
    del big
    Budget("small-only", limit_usd=200, resources=[small])


def test_resources_narrow_the_scope(deployment_factory):
    result = deployment_factory(narrowed, project="budgets").preview()
    assert any(urn.endswith("::small-only") for urn in result.created)


def too_many_gpus() -> None:
    GpuFleet("workers", image=IMAGE, count=3, gpu_count=2, max_price_per_hour=0.1)
    Budget("quota", limit_usd=10_000, max_concurrent_gpus=4)


def test_more_gpus_than_the_quota_is_refused(deployment_factory):
    with pytest.raises(DeploymentError) as failed:
        deployment_factory(too_many_gpus, project="budgets").preview()
    assert "declares 6 GPUs (workers 6), more than max_concurrent_gpus 4" in str(failed.value)


def with_a_warm_pool() -> None:
    from dumont_iac import WarmPool

    WarmPool("pool", image=IMAGE, standbys=1, volume_size_gb=100, max_price_per_hour=0.6)
    GpuInstance("train", image=IMAGE, max_price_per_hour=0.2)
    Budget("monthly", limit_usd=500)


def test_any_registered_resource_counts_through_its_own_cost(deployment_factory):
    # Nothing in the budget names WarmPool: its provider's cost() prices it.
    with pytest.raises(DeploymentError) as failed:
        deployment_factory(with_a_warm_pool, project="budgets").preview()
    text = str(failed.value)
    assert "pool (WarmPool) $438.00" in text and "train (GpuInstance) $146.00" in text
    assert "total $584.00" in text


def with_a_cpu_standby() -> None:
    from dumont_iac import CpuStandby

    train = GpuInstance("train", image=IMAGE, max_price_per_hour=0.6)
    CpuStandby("standby", gpu=train, instance_type="t3.medium")
    Budget("monthly", limit_usd=400)


def test_a_cpu_standby_counts_at_its_on_demand_price(deployment_factory):
    with pytest.raises(DeploymentError) as failed:
        deployment_factory(with_a_cpu_standby, project="budgets").preview()
    text = str(failed.value)
    # t3.medium on demand is 0.0416 $/h, about $30 a month before its disk.
    assert "train (GpuInstance) $438.00" in text and "standby (CpuStandby) $" in text
    figure = float(text.split("standby (CpuStandby) $")[1].split(" ")[0])
    assert 30.3 < figure < 60

"""What a warm pool costs: priced before deploy as a GpuInstance primary plus storage, and
billed once deployed as exactly that (stopped standbys bill their disk only)."""

from __future__ import annotations

import re

import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import HOURS_PER_MONTH
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.models.warm_pool import WarmPoolArgs
from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.provider.warm_pool import WarmPoolProvider

from .helpers import RTX_3090, outputs, pool


def test_the_price_is_the_primary_as_a_gpu_instance_plus_standby_and_volume_storage(world):
    client = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    arguments = {**RTX_3090, "logical_name": "pool/ci/train", "disk_gb": 20}
    gpu = GpuInstanceProvider.cost(GpuInstanceArgs.model_validate(
        {k: v for k, v in arguments.items() if k != "volume_size_gb"}), client)  # fmt: skip
    priced = WarmPoolProvider.cost(
        WarmPoolArgs.model_validate({**arguments, "standbys": 3}), client
    )
    assert gpu.expected_per_hour is not None and priced.expected_per_hour is not None
    storage = priced.expected_per_hour - gpu.expected_per_hour
    assert "3 stopped standby disk(s) of 20 GB and a 50 GB volume" in priced.basis
    named = re.search(r"at ([0-9.]+) \$/GB/month", priced.basis)
    assert named is not None and float(named.group(1)) > 0
    # 3 standby disks of 20 GB and a 50 GB volume, at the priced offer's storage rate.
    assert storage == pytest.approx((3 * 20 + 50) * float(named.group(1)) / HOURS_PER_MONTH,
                                    abs=1e-3)  # fmt: skip
    assert priced.worst_per_hour == pytest.approx(1.0 + storage, abs=1e-4)  # the price cap


def test_a_deployed_pool_bills_its_primary_and_storage_for_standbys(pool_stack, market):
    stack = pool_stack(pool(standbys=2))
    stack.up()
    out = outputs(stack)
    (volume,) = market.volumes()
    rate = volume["storage_cost"] / HOURS_PER_MONTH
    standby_disks = sum(
        i["disk_space"] for i in market.managed() if i["id"] in out["standby_contract_ids"]
    )
    expected = out["price_per_hour"] + (standby_disks + volume["disk_space"]) * rate
    before = market.credit()
    market.advance(3600)
    assert before - market.credit() == pytest.approx(expected, rel=0.02)

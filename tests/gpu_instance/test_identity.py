"""How a GPU is identified on the marketplace, how its offer and bid are chosen, and how bad
arguments are refused in the program: plain functions, no process, no sandbox."""

from __future__ import annotations

import pytest

from dumont_iac import GpuInstance, GpuInstanceArgs
from dumont_iac.clients.marketplace.models import Offer
from dumont_iac.clients.marketplace.offer_filter import by_preference
from dumont_iac.provider.gpu_instance import (
    logical_id_for,
    logical_id_of,
    rental_label,
    user_label_of,
)
from dumont_iac.provider.renting import bid_for
from dumont_iac.testing import DeploymentError

BASE = {"image": "ubuntu:22.04", "logical_name": "proj/dev/gpu"}


def test_the_logical_id_follows_only_what_picks_the_machine():
    first = logical_id_for(GpuInstanceArgs(**BASE))
    assert first == logical_id_for(GpuInstanceArgs(**BASE))  # stable across processes and runs
    assert first.startswith("gpu-") and len(first) == 16
    in_place = GpuInstanceArgs(**BASE, label="x", desired_state="stopped", bid_price=0.3)
    assert logical_id_for(in_place) == first
    assert logical_id_for(GpuInstanceArgs(**{**BASE, "image": "other"})) != first
    assert logical_id_for(GpuInstanceArgs(**{**BASE, "logical_name": "proj/prod/gpu"})) != first


def test_labels_carry_the_logical_id_after_the_users_label():
    assert rental_label("gpu-0123456789ab", "train") == "train | dumont:gpu-0123456789ab"
    assert rental_label("gpu-0123456789ab", None) == "dumont:gpu-0123456789ab"
    for label in ("train | dumont:gpu-0123456789ab", "dumont:gpu-0123456789ab"):
        assert logical_id_of(label) == "gpu-0123456789ab"
    assert user_label_of("train | dumont:gpu-0123456789ab") == "train"
    assert user_label_of("dumont:gpu-0123456789ab") is None
    assert user_label_of("hand made") == "hand made"
    for foreign in (None, "", "train", "xdumont:gpu-0123456789ab", "dumont:gpu-0123456789ab | x"):
        assert logical_id_of(foreign) is None


def offer(id_: int, gpu: str, min_bid: float = 0.1) -> Offer:
    return Offer(id=id_, num_gpus=1, gpu_name=gpu, dph_total=0.2, min_bid=min_bid)


def test_preferred_models_come_first_each_keeping_its_price_order():
    offers = [offer(1, "RTX 3090"), offer(2, "RTX 4090"), offer(3, "RTX 3090"), offer(4, "A40")]
    ranked = by_preference(offers, ["RTX 4090", "RTX 3090"])
    assert [o.id for o in ranked] == [2, 1, 3, 4]
    assert by_preference(offers, []) == offers


@pytest.mark.parametrize(
    ("args", "min_bid", "storage", "bid"),
    [
        ({}, 0.2, 0.0, 0.22),  # 10 % headroom by default
        ({"bid_headroom": 0}, 0.12345, 0.0, 0.1235),  # rounded up, never below the minimum
        ({"max_price_per_hour": 0.25}, 0.24, 0.02, 0.24),  # cap minus disk, floored at the min
        ({"max_price_per_hour": 0.5}, 0.4, 0.05, 0.44),
        ({"bid_price": 0.33}, 0.2, 0.0, 0.33),
    ],
)
def test_the_bid(args, min_bid, storage, bid):
    assert bid_for(GpuInstanceArgs(**BASE, **args), min_bid, storage) == pytest.approx(bid)


def test_bad_arguments_fail_in_the_program_naming_the_field(stack_factory, market):
    def program() -> None:
        GpuInstance("bad", image="ubuntu:22.04", gpu_count=0, regions=["Mars"])

    stack = stack_factory(program, project="bad")
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "invalid arguments for GpuInstance 'bad'" in message
    assert "gpu_count: Input should be greater than or equal to 1; got 0" in message
    assert "regions: Value error, region 'MARS' is neither a continent" in message
    assert stack.state.resources == {} and market.instances() == []

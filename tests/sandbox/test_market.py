"""The generated market: deterministic from its seed, and shaped like the real one."""

from __future__ import annotations

from collections import Counter

import pytest

from dumont_iac.sandbox.marketplace.market import (
    COUNTRY_CONTINENT,
    GPU_MODELS,
    SLICE_SIZES,
    generate_machines,
    numeric_driver_version,
    offer_row,
)

NOW = 1_767_225_600.0


@pytest.fixture(scope="module")
def machines() -> list[dict]:
    return generate_machines(seed=7, count=400, now=NOW)


def test_same_seed_gives_the_same_market() -> None:
    assert generate_machines(3, 120, NOW) == generate_machines(3, 120, NOW)


def test_another_seed_gives_another_market() -> None:
    first, second = generate_machines(3, 120, NOW), generate_machines(4, 120, NOW)
    assert [m["gpu_name"] for m in first] != [m["gpu_name"] for m in second]
    assert [m["price_per_gpu"] for m in first] != [m["price_per_gpu"] for m in second]


def test_exactly_the_requested_number_of_machines_with_unique_ids(machines: list[dict]) -> None:
    assert len(machines) == 400
    assert len({m["machine_id"] for m in machines}) == 400


def test_at_least_ten_gpu_models_with_realistic_vram(machines: list[dict]) -> None:
    models = Counter(m["gpu_name"] for m in machines)
    assert len(models) >= 10
    vram = {m["gpu_name"]: m["gpu_ram"] for m in machines}
    # MB on the wire, as the real API reports them.
    assert vram.get("RTX 4090", 24564) == 24564
    assert vram.get("H100 SXM", 81559) == 81559
    assert all(8000 <= mb <= 150_000 for mb in vram.values())


def test_machines_of_one_two_four_and_eight_gpus(machines: list[dict]) -> None:
    assert {m["num_gpus"] for m in machines} == set(SLICE_SIZES)


def test_locations_span_at_least_four_continents(machines: list[dict]) -> None:
    continents = {COUNTRY_CONTINENT[m["country"]] for m in machines}
    assert len(continents) >= 4
    for machine in machines:
        city, country = machine["geolocation"].rsplit(", ", 1)
        assert city and country == machine["country"] and len(country) == 2


def test_prices_span_cheap_old_cards_to_expensive_datacenter_cards() -> None:
    machines = generate_machines(seed=1, count=3500, now=NOW)
    per_gpu = {m["gpu_name"]: [] for m in machines}
    for m in machines:
        per_gpu[m["gpu_name"]].append(m["price_per_gpu"])
    cheapest = min(min(per_gpu[name]) for name in ("GTX 1080 Ti", "RTX 3060", "Tesla T4"))
    assert 0.01 <= cheapest <= 0.03
    assert min(per_gpu["H100 SXM"]) >= 1.5
    assert max(per_gpu["H200"]) <= 4.5
    for model in GPU_MODELS:
        prices = per_gpu.get(model.name, [])
        assert all(model.price_low <= p <= model.price_high for p in prices), model.name


def test_min_bid_is_35_to_70_percent_of_the_on_demand_price(machines: list[dict]) -> None:
    for m in machines:
        ratio = m["min_bid_per_gpu"] / m["price_per_gpu"]
        assert 0.34 <= ratio <= 0.71, (m["machine_id"], ratio)


def test_machines_carry_what_clients_filter_on(machines: list[dict]) -> None:
    assert {m["verified"] for m in machines} == {True, False}
    assert any(m["direct_port_count"] == 0 for m in machines)
    assert any(m["direct_port_count"] >= 100 for m in machines)
    assert {m["datacenter"] for m in machines} == {True, False}
    assert all(0.8 <= m["reliability"] <= 1.0 for m in machines)
    assert all(11.0 <= m["cuda_max_good"] <= 13.0 for m in machines)
    assert all(m["compute_cap"] >= 600 for m in machines)
    blackwell = [m for m in machines if m["compute_cap"] >= 1200]
    assert all(m["cuda_max_good"] >= 12.8 for m in blackwell)
    hosts = Counter(m["host_id"] for m in machines)
    assert max(hosts.values()) > 1  # some hosts own several machines


def test_a_scaled_market_gives_at_least_ten_thousand_offers() -> None:
    machines = generate_machines(seed=0, count=3500, now=NOW)
    slices = sum(1 for m in machines for size in SLICE_SIZES if size <= m["num_gpus"])
    assert slices >= 10_000


def test_an_offer_is_a_slice_of_the_machine(machines: list[dict]) -> None:
    machine = next(m for m in machines if m["num_gpus"] == 8)
    offer = offer_row(machine, [2, 3], disk_free=400.0)
    assert offer["num_gpus"] == 2 and offer["gpu_ids"] == "2,3"
    assert offer["gpu_total_ram"] == 2 * machine["gpu_ram"]
    assert offer["gpu_frac"] == 0.25
    assert offer["dph_base"] == pytest.approx(2 * machine["price_per_gpu"], abs=1e-4)
    assert offer["min_bid"] == pytest.approx(2 * machine["min_bid_per_gpu"], abs=1e-4)
    assert offer["cpu_cores_effective"] == pytest.approx(machine["cpu_cores"] / 4)
    assert offer["disk_space"] == 400.0


def test_driver_versions_as_the_official_client_encodes_them() -> None:
    assert numeric_driver_version("535.86.05") == 535086005
    assert numeric_driver_version("550.127.05") == 550127005

"""The offer fields third-party marketplace clients read, on every offer the sandbox lists.

Each client below reads these fields from ``POST /api/v0/bundles/`` (by name, without a
default), so an offer without one, or with one of another type, breaks that client:

- the official ``vastai`` CLI's ``search offers`` table and its SDK's post-processing;
- SkyPilot's catalog fetcher (``search.totalHour``, ``gpu_total_ram``, ...) and launcher;
- gpuhunt's Vast provider (which dstack uses), with dstack's extra filters.
"""

from __future__ import annotations

import pytest

NUMBER = (int, float)
TEXT = (str,)
FLAG = (bool,)
WHOLE = (int,)

FIELDS_READ = {
    "vastai": {
        "id": WHOLE, "cuda_max_good": NUMBER, "num_gpus": WHOLE, "gpu_name": TEXT,
        "pcie_bw": NUMBER, "cpu_ghz": NUMBER, "cpu_cores_effective": NUMBER,
        "cpu_ram": NUMBER, "gpu_ram": NUMBER, "disk_space": NUMBER, "dph_total": NUMBER,
        "dlperf": NUMBER, "dlperf_per_dphtotal": NUMBER, "score": NUMBER,
        "driver_version": TEXT, "inet_up": NUMBER, "inet_down": NUMBER,
        "reliability": NUMBER, "duration": NUMBER, "machine_id": WHOLE,
        "verification": TEXT, "host_id": WHOLE, "direct_port_count": WHOLE,
        "geolocation": TEXT, "hosting_type": WHOLE, "min_bid": NUMBER,
    },
    "skypilot": {
        "id": WHOLE, "gpu_name": TEXT, "num_gpus": WHOLE, "cpu_cores": WHOLE,
        "cpu_ram": NUMBER, "min_bid": NUMBER, "geolocation": TEXT, "gpu_total_ram": NUMBER,
        "gpu_ram": NUMBER, "disk_space": NUMBER, "inet_down": NUMBER,
        "search.totalHour": NUMBER,
    },
    "gpuhunt": {
        "id": WHOLE, "disk_space": NUMBER, "geolocation": TEXT, "dph_base": NUMBER,
        "storage_cost": NUMBER, "cpu_cores_effective": NUMBER, "cpu_ram": NUMBER,
        "cpu_cores": WHOLE, "num_gpus": WHOLE, "gpu_name": TEXT, "gpu_ram": NUMBER,
        "min_bid": NUMBER, "rentable": FLAG, "rented": FLAG, "score": NUMBER,
        "dph_total": NUMBER, "compute_cap": WHOLE,
    },
    "dstack": {  # gpuhunt's filters as dstack sets them
        "direct_port_count": WHOLE, "reliability2": NUMBER, "inet_down": NUMBER,
        "verified": FLAG, "cuda_max_good": NUMBER,
    },
}  # fmt: skip


def _value(offer: dict, dotted: str):
    value = offer
    for part in dotted.split("."):
        assert isinstance(value, dict) and part in value, f"no {dotted!r} in offer {offer['id']}"
        value = value[part]
    return value


@pytest.mark.parametrize("mode", ["on-demand", "bid"])
@pytest.mark.parametrize("client", sorted(FIELDS_READ))
def test_every_offer_has_the_fields_the_client_reads(sandbox, client, mode):
    with sandbox.client(anonymous=True) as http:
        answer = http.post("/api/v0/bundles/", json={"type": mode, "limit": 10_000})
    offers = answer.json()["offers"]
    assert len(offers) > 100
    for offer in offers:
        for field, types in FIELDS_READ[client].items():
            value = _value(offer, field)
            assert isinstance(value, types) and not (
                bool not in types and isinstance(value, bool)
            ), f"{client} reads {field}: offer {offer['id']} has {value!r}"


def test_the_values_are_realistic(sandbox):
    with sandbox.client(anonymous=True) as http:
        offers = http.post("/api/v0/bundles/", json={"limit": 10_000}).json()["offers"]
    for offer in offers:
        assert offer["search"]["totalHour"] == pytest.approx(offer["dph_total"])
        assert offer["gpu_total_ram"] == offer["gpu_ram"] * offer["num_gpus"]
        assert 0 < offer["cpu_cores_effective"] <= offer["cpu_cores"]
        assert offer["cpu_ram"] >= 1024 and offer["disk_space"] > 0
        assert 0 < offer["min_bid"] <= offer["dph_base"]
        assert 0 <= offer["reliability2"] <= 1 and offer["inet_down"] > 0
        assert 300 <= offer["compute_cap"] <= 1200 and offer["cuda_max_good"] >= 10
        assert offer["geolocation"][-2:].isupper() and ", " in offer["geolocation"]
        assert offer["driver_version"].count(".") >= 1


def test_skypilots_queries_work_through_the_official_sdk(sandbox, tmp_path, monkeypatch):
    sdk = pytest.importorskip("vastai.sdk")
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK keeps its caches there
    vast = sdk.VastAI(api_key=sandbox.api_key, server_url=sandbox.url)
    # The catalog fetcher's query, then the launcher's for one instance type of it.
    catalog = vast.search_offers(
        query="georegion = true chunked = true inet_down >= 100 disk_space >= 80", limit=10000
    )
    assert isinstance(catalog, list) and catalog
    for offer in catalog:
        assert offer["search"]["totalHour"] > 0 and offer["cpu_ram"] >= 64 * 1024
        # georegion: the SDK appends its region code, from the country code that ends it.
        assert len(offer["geolocation"].split(", ")) == 3, offer["geolocation"]
    first = catalog[0]
    launch = vast.search_offers(
        query=" ".join([
            "chunked=true", "georegion=true", f'geolocation="{first["geolocation"][-6:-4]}"',
            "disk_space>=80", f"num_gpus={first['num_gpus']}",
            f'gpu_name="{first["gpu_name"]}"', 'cpu_ram>="64"',
        ])
    )  # fmt: skip
    assert isinstance(launch, list) and first["id"] in [o["id"] for o in launch]

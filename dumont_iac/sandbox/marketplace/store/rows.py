"""Stored rows rendered in the marketplace's JSON shapes (offers, instances, volumes).

Fields that depend on the moment or on the query (prices with storage, bid prices, remaining
duration, ports while running) are computed here, so the tables hold only facts.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any, cast

from dumont_iac.sandbox.marketplace.lifecycle import HOLDS_GPUS
from dumont_iac.sandbox.marketplace.market import HOURS_PER_MONTH
from dumont_iac.sandbox.marketplace.query import Search
from dumont_iac.sandbox.marketplace.store.schema import OFFER_BOOLEANS, VOLUME_OFFER_BOOLEANS
from dumont_iac.sandbox.marketplace.store.shapes import (
    AttachedVolume,
    Instance,
    Offer,
    PortBinding,
    PriceBreakdown,
    Volume,
    VolumeOffer,
)

HIDDEN_COLUMNS = ("country", "gpu_ids")
RESERVED_DISCOUNT = 0.2  # what a reserved (prepaid) rental saves, shown for type=reserved


def offer(data: dict[str, Any], search: Search, now: float) -> Offer:
    """``data`` (an offers row as a dict, changed in place) as the search answers it."""
    gpu_ids = [int(g) for g in data["gpu_ids"].split(",")] if data["gpu_ids"] else []
    for name in HIDDEN_COLUMNS:
        data.pop(name, None)
    for name in OFFER_BOOLEANS:
        data[name] = bool(data[name])
    price = data["min_bid"] if search.bid else data["dph_base"]
    storage = search.storage_gb * data["storage_cost"] / HOURS_PER_MONTH
    total = price + storage
    data.update(
        ask_contract_id=data["id"],
        bundle_id=data["id"],
        bundled_results=0,
        gpu_ids=gpu_ids,
        dph_base=price,
        dph_total=total,
        is_bid=search.bid,
        storage_total_cost=storage,
        dlperf_per_dphtotal=data["dlperf"] / total,
        flops_per_dphtotal=data["total_flops"] / total,
        vram_costperhour=price / (data["gpu_total_ram"] / 1024.0),
        reliability2=data["reliability"],
        duration=max(0.0, data["end_date"] - now),
        credit_discount_max=RESERVED_DISCOUNT,
        resource_type="gpu",
        search=_breakdown(price, storage),
        instance=_breakdown(price, storage),
    )
    if search.offer_type == "reserved":
        data["discounted_dph_total"] = price * (1 - RESERVED_DISCOUNT) + storage
    return cast(Offer, data)  # the columns above, as the search answers them


def _breakdown(gpu: float, disk: float) -> PriceBreakdown:
    return {
        "gpuCostPerHour": gpu,
        "diskHour": disk,
        "totalHour": gpu + disk,
        "discountTotalHour": 0.0,
        "discountedTotalPerHour": gpu + disk,
    }


def volume_offer(data: dict[str, Any], search: Search, now: float) -> VolumeOffer:
    data.pop("country", None)
    for name in VOLUME_OFFER_BOOLEANS:
        data[name] = bool(data[name])
    storage = search.storage_gb * data["storage_cost"] / HOURS_PER_MONTH
    data.update(
        ask_contract_id=data["id"],
        dph_total=storage,
        storage_total_cost=storage,
        reliability2=data["reliability"],
        duration=max(0.0, data["end_date"] - now),
        rentable=data["disk_space"] > 0,
        resource_type="volume",
    )
    return cast(VolumeOffer, data)


def _stable_hex(*parts: Any, length: int = 32) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:length]


def instance(
    row: sqlite3.Row,
    volumes: list[AttachedVolume],
    now: float,
) -> Instance:
    snap = json.loads(row["offer"])
    actual = row["actual"]
    holds = actual in HOLDS_GPUS
    storage_hourly = row["disk"] * row["storage_cost"] / HOURS_PER_MONTH
    env = json.loads(row["env"])
    host_ports: dict[str, str] = json.loads(row["ports"])
    ports: dict[str, list[PortBinding]] | None = (
        {spec: [{"HostIp": "0.0.0.0", "HostPort": port}] for spec, port in host_ports.items()}
        if actual == "running"
        else None
    )
    running_since = row["running_since"]
    return {
        "id": row["id"],
        "label": row["label"],
        "actual_status": actual,
        "intended_status": row["intended"],
        "cur_state": "unloaded" if row["destroyed_at"] else ("running" if holds else "stopped"),
        "next_state": "unloaded" if row["destroyed_at"] else row["intended"],
        "status_msg": row["status_msg"],
        "image_uuid": row["image"],
        "image_args": json.loads(row["args"]) if row["args"] else [],
        "image_runtype": row["runtype"],
        "onstart": row["onstart"],
        "extra_env": [[key, value] for key, value in env.items() if not key.startswith("-")],
        "template_id": None,
        "template_hash_id": None,
        "template_name": None,
        "jupyter_token": _stable_hex("jupyter", row["id"]),
        "machine_id": row["machine_id"],
        "host_id": snap["host_id"],
        "bundle_id": row["ask_id"],
        "num_gpus": row["num_gpus"],
        "gpu_name": snap["gpu_name"],
        "gpu_ram": snap["gpu_ram"],
        "gpu_totalram": snap["gpu_ram"] * row["num_gpus"],
        "gpu_frac": row["num_gpus"] / snap["machine_num_gpus"],
        "gpu_arch": snap["gpu_arch"],
        "gpu_util": _gpu_util(row) if actual == "running" else 0.0,
        "gpu_temp": None,
        "compute_cap": snap["compute_cap"],
        "cuda_max_good": snap["cuda_max_good"],
        "driver_version": snap["driver_version"],
        "dlperf": snap["dlperf"],
        "total_flops": snap["total_flops"],
        "cpu_name": snap["cpu_name"],
        "cpu_cores": snap["cpu_cores"],
        "cpu_cores_effective": snap["cpu_cores_effective"],
        "cpu_ram": snap["cpu_ram"],
        "cpu_util": 0.0 if actual == "running" else None,
        "disk_space": row["disk"],
        "disk_usage": 0.0,
        "disk_util": 0.0,
        "disk_bw": snap["disk_bw"],
        "disk_name": snap["disk_name"],
        "inet_up": snap["inet_up"],
        "inet_down": snap["inet_down"],
        "inet_up_cost": snap["inet_up_cost"],
        "inet_down_cost": snap["inet_down_cost"],
        "is_bid": bool(row["is_bid"]),
        "dph_base": row["price"],
        "dph_total": row["price"] + storage_hourly,
        "min_bid": snap["min_bid"],
        "storage_cost": row["storage_cost"],
        "storage_total_cost": storage_hourly,
        "reliability2": snap["reliability"],
        "reliability": snap["reliability"],
        "verification": snap["verification"],
        "geolocation": snap["geolocation"],
        "public_ipaddr": snap["public_ipaddr"],
        "local_ipaddrs": f"10.{row['machine_id'] % 250}.{row['id'] % 250}.2",
        "static_ip": snap["static_ip"],
        "direct_port_count": snap["direct_port_count"],
        "direct_port_start": snap["direct_port_start"],
        "direct_port_end": snap["direct_port_end"],
        "ssh_idx": str(snap["ssh_proxy"]),
        # .invalid never resolves: nothing can mistake the sandbox for a reachable host.
        "ssh_host": f"ssh{snap['ssh_proxy']}.sandbox.invalid",
        "ssh_port": row["ssh_port"],
        "machine_dir_ssh_port": host_ports.get("22/tcp"),
        "ports": ports,
        "start_date": row["created_at"],
        "end_date": snap["end_date"],
        "duration": max(0.0, snap["end_date"] - now),
        "uptime_mins": (now - running_since) / 60.0
        if running_since and actual == "running"
        else None,
        "os_version": snap["os_version"],
        "volume_info": volumes,
    }


def _gpu_util(row: sqlite3.Row) -> float:
    """A running instance's GPU utilisation: the one a test set, else a stable busy value."""
    if row["gpu_util"] is not None:
        return float(row["gpu_util"])
    return round(60.0 + 30.0 * int(_stable_hex("gpu_util", row["id"], length=8), 16) / 16**8, 1)


def volume(row: sqlite3.Row, attrs: dict[str, Any], instance_ids: list[int], now: float) -> Volume:
    return {
        "id": row["id"],
        "volume_name": f"V.{row['id']}",
        "label": row["name"],
        "name": row["name"],
        "type": "local_volume",
        "status": "in_use" if instance_ids else "available",
        "instances": instance_ids,
        "disk_space": row["size"],
        "total_space": row["size"],
        "avail_space": row["size"],
        "storage_cost": row["storage_cost"],
        "storage_total_cost": row["size"] * row["storage_cost"] / HOURS_PER_MONTH,
        "machine_id": row["machine_id"],
        "host_id": attrs["host_id"],
        "geolocation": attrs["geolocation"],
        "driver_version": attrs["driver_version"],
        "disk_name": attrs["disk_name"],
        "inet_up": attrs["inet_up"],
        "inet_down": attrs["inet_down"],
        "reliability2": attrs["reliability"],
        "verification": attrs["verification"],
        "cluster_id": None,
        "start_date": row["created_at"],
        "end_date": attrs["end_date"],
        "duration": max(0.0, now - row["created_at"]),
    }

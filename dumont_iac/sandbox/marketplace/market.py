"""A market that looks like the real one, generated deterministically from a seed.

``generate_machines(seed, count, now)`` draws hosts and their machines (GPU model and count,
prices, reliability, location, network, disk, drivers) from ``random.Random(seed)``: the same
seed always gives the same market. ``offer_row`` turns a machine's free GPUs into one offer (a
"slice"); the store calls it whenever a machine's free GPUs change, under fresh ids.

Units follow the wire: ``gpu_ram``, ``gpu_total_ram`` and ``cpu_ram`` in MB, ``disk_space`` in
GB, ``inet_*`` in Mb/s, prices in $/hour, ``storage_cost`` in $/GB/month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

SLICE_SIZES = (1, 2, 4, 8)
HOURS_PER_MONTH = 30 * 24


@dataclass(frozen=True)
class GpuModel:
    name: str
    vram_mb: int
    price_low: float  # on-demand $/h per GPU, cheapest hosts
    price_high: float  # on-demand $/h per GPU, dearest hosts
    compute_cap: int
    dlperf: float  # per GPU
    tflops: float  # per GPU, fp32
    mem_bw: float  # GB/s
    max_power: int  # W
    weight: int  # how common the model is
    tier: str  # consumer | workstation | datacenter


GPU_MODELS: tuple[GpuModel, ...] = (
    GpuModel("GTX 1080 Ti", 11264, 0.012, 0.09, 610, 9.5, 11.3, 484, 250, 5, "consumer"),
    GpuModel("RTX 3060", 12288, 0.015, 0.08, 860, 11.5, 12.7, 360, 170, 8, "consumer"),
    GpuModel("Tesla T4", 15360, 0.02, 0.12, 750, 9.0, 8.1, 320, 70, 4, "datacenter"),
    GpuModel("RTX 3070", 8192, 0.03, 0.10, 860, 16.0, 20.3, 448, 220, 5, "consumer"),
    GpuModel("RTX 3080", 10240, 0.05, 0.15, 860, 22.0, 29.8, 760, 320, 6, "consumer"),
    GpuModel("RTX 3090", 24576, 0.10, 0.30, 860, 27.0, 35.6, 936, 350, 14, "consumer"),
    GpuModel("RTX 4080", 16376, 0.12, 0.30, 890, 35.0, 48.7, 717, 320, 4, "consumer"),
    GpuModel("RTX 4090", 24564, 0.25, 0.70, 890, 58.0, 82.6, 1008, 450, 18, "consumer"),
    GpuModel("RTX 5090", 32607, 0.45, 1.10, 1200, 85.0, 104.8, 1792, 575, 7, "consumer"),
    GpuModel("Tesla V100", 16384, 0.10, 0.35, 700, 25.0, 15.7, 900, 300, 3, "datacenter"),
    GpuModel("RTX A4000", 16376, 0.08, 0.20, 860, 14.0, 19.2, 448, 140, 4, "workstation"),
    GpuModel("RTX A5000", 24564, 0.15, 0.35, 860, 22.0, 27.8, 768, 230, 4, "workstation"),
    GpuModel("RTX A6000", 49140, 0.35, 0.80, 860, 32.0, 38.7, 768, 300, 5, "workstation"),
    GpuModel("A40", 46068, 0.30, 0.60, 860, 30.0, 37.4, 696, 300, 3, "workstation"),
    GpuModel("RTX 6000Ada", 49140, 0.60, 1.20, 890, 58.0, 91.1, 960, 300, 3, "workstation"),
    GpuModel("L40S", 46068, 0.55, 1.10, 890, 60.0, 91.6, 864, 350, 4, "datacenter"),
    GpuModel("A100 PCIE", 40960, 0.60, 1.30, 800, 45.0, 19.5, 1555, 250, 3, "datacenter"),
    GpuModel("A100 SXM4", 81920, 0.80, 1.80, 800, 60.0, 19.5, 2039, 400, 5, "datacenter"),
    GpuModel("H100 PCIE", 81559, 1.50, 2.60, 900, 95.0, 51.2, 2000, 350, 3, "datacenter"),
    GpuModel("H100 SXM", 81559, 1.60, 3.20, 900, 120.0, 66.9, 3350, 700, 6, "datacenter"),
    GpuModel("H200", 143771, 2.50, 4.50, 900, 130.0, 66.9, 4800, 700, 2, "datacenter"),
)
GPU_MODELS_BY_NAME = {model.name: model for model in GPU_MODELS}

# How many GPUs a machine of each tier has (weights for 1, 2, 4, 8 GPUs).
GPU_COUNT_WEIGHTS = {
    "consumer": (18, 20, 27, 35),
    "workstation": (10, 20, 30, 40),
    "datacenter": (5, 10, 25, 60),
}

# Two-letter country code -> continent, with the cities hosts sit in. Clients may use
# COUNTRY_CONTINENT to filter offers by continent (the API only knows "City, CC").
COUNTRY_CONTINENT = {
    "US": "North America", "CA": "North America", "MX": "North America",
    "BR": "South America", "CL": "South America", "AR": "South America",
    "DE": "Europe", "NL": "Europe", "GB": "Europe", "FR": "Europe", "SE": "Europe",
    "PL": "Europe", "FI": "Europe", "ES": "Europe", "NO": "Europe", "CZ": "Europe",
    "RO": "Europe",
    "JP": "Asia", "KR": "Asia", "TW": "Asia", "SG": "Asia", "IN": "Asia", "HK": "Asia",
    "VN": "Asia", "CN": "Asia", "TH": "Asia", "AE": "Asia",
    "AU": "Oceania", "NZ": "Oceania",
    "ZA": "Africa", "KE": "Africa", "NG": "Africa",
}  # fmt: skip
CITIES = {
    "US": ("Dallas", "Los Angeles", "New York", "Chicago", "Seattle", "Miami", "Atlanta"),
    "CA": ("Toronto", "Montreal", "Vancouver"),
    "MX": ("Mexico City",),
    "BR": ("Sao Paulo",),
    "CL": ("Santiago",),
    "AR": ("Buenos Aires",),
    "DE": ("Frankfurt", "Berlin"),
    "NL": ("Amsterdam",),
    "GB": ("London", "Manchester"),
    "FR": ("Paris",),
    "SE": ("Stockholm",),
    "PL": ("Warsaw",),
    "FI": ("Helsinki",),
    "ES": ("Madrid",),
    "NO": ("Oslo",),
    "CZ": ("Prague",),
    "RO": ("Bucharest",),
    "JP": ("Tokyo", "Osaka"),
    "KR": ("Seoul",),
    "TW": ("Taipei",),
    "SG": ("Singapore",),
    "IN": ("Mumbai",),
    "HK": ("Hong Kong",),
    "VN": ("Hanoi",),
    "CN": ("Shanghai",),
    "TH": ("Bangkok",),
    "AE": ("Dubai",),
    "AU": ("Sydney", "Melbourne"),
    "NZ": ("Auckland",),
    "ZA": ("Johannesburg",),
    "KE": ("Nairobi",),
    "NG": ("Lagos",),
}
# Where hosts are, roughly as on the real market: mostly North America and Europe.
COUNTRY_WEIGHTS = {
    "US": 30, "CA": 6, "MX": 1, "BR": 2, "CL": 1, "AR": 1,
    "DE": 5, "NL": 3, "GB": 4, "FR": 3, "SE": 3, "PL": 3, "FI": 2, "ES": 2, "NO": 2,
    "CZ": 2, "RO": 2,
    "JP": 3, "KR": 2, "TW": 3, "SG": 2, "IN": 2, "HK": 2, "VN": 2, "CN": 3, "TH": 1, "AE": 1,
    "AU": 2, "NZ": 1, "ZA": 1, "KE": 1, "NG": 1,
}  # fmt: skip

# (driver version, the newest CUDA it runs)
DRIVERS: tuple[tuple[str, float], ...] = (
    ("470.223.02", 11.4),
    ("525.147.05", 12.0),
    ("535.183.01", 12.2),
    ("545.29.06", 12.3),
    ("550.127.05", 12.4),
    ("560.35.03", 12.6),
    ("565.57.01", 12.7),
    ("570.153.02", 12.8),
    ("575.57.08", 12.9),
)
CONSUMER_CPUS = (
    ("AMD Ryzen 9 5950X 16-Core Processor", 32, 3.4),
    ("AMD Ryzen 9 7950X 16-Core Processor", 32, 4.5),
    ("Intel Core i9-13900K", 32, 3.0),
    ("AMD Ryzen Threadripper PRO 5975WX 32-Cores", 64, 3.6),
    ("Intel Xeon E5-2690 v4", 56, 2.6),
)
SERVER_CPUS = (
    ("AMD EPYC 7763 64-Core Processor", 128, 2.45),
    ("AMD EPYC 9654 96-Core Processor", 192, 2.4),
    ("Intel Xeon Platinum 8480+", 112, 2.0),
    ("Intel Xeon Gold 6338 CPU @ 2.00GHz", 64, 2.0),
)
DISKS = ("Samsung SSD 980 PRO 2TB", "WD_BLACK SN850X 4000GB", "Micron 7450 NVMe", "KIOXIA CD6")
MOBOS = ("ROMED8-2T", "WRX80E-SAGE", "X570 AORUS ELITE", "H12SSL-i", "PRIME Z790-P")


def numeric_driver_version(version: str) -> int:
    """535.86.05 -> 535086005, the integer the official client sends for driver filters."""
    parts = (version.split(".") + ["0", "0"])[:3]
    return int("".join(part.zfill(3) for part in parts))


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _model_for(rng: random.Random, datacenter: bool) -> GpuModel:
    # Datacenter hosts carry datacenter and workstation cards more often than consumer ones.
    weights = [m.weight * (3 if datacenter and m.tier != "consumer" else 1) for m in GPU_MODELS]
    return rng.choices(GPU_MODELS, weights=weights)[0]


def _driver_for(rng: random.Random, model: GpuModel) -> tuple[str, float]:
    # Blackwell cards need a 570+ driver; old Pascal hosts often run old drivers.
    if model.compute_cap >= 1200:
        candidates = DRIVERS[7:]
    elif model.compute_cap < 700:
        candidates = DRIVERS[:6]
    else:
        candidates = DRIVERS[1:]
    return rng.choice(candidates)


def generate_machines(seed: int, count: int, now: float) -> list[dict[str, Any]]:
    """``count`` machines drawn from ``seed``; ``now`` anchors listing dates."""
    rng = random.Random(seed)
    machines: list[dict[str, Any]] = []
    machine_id = 10_000 + rng.randint(0, 999)
    host_id = 1_000 + rng.randint(0, 99)
    while len(machines) < count:
        host_id += rng.randint(1, 40)
        datacenter = rng.random() < 0.2
        country = _pick(rng, COUNTRY_WEIGHTS)
        city = rng.choice(CITIES[country])
        # 198.18.0.0/15 is reserved for benchmarks, so no sandbox address is a real host.
        ip = f"198.{rng.randint(18, 19)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        verification = rng.choices(("verified", "unverified", "deverified"), (82, 15, 3))[0]
        host_reliability = (
            rng.uniform(0.985, 0.9999) if datacenter else 0.80 + 0.199 * rng.betavariate(5, 1.5)
        )
        for _ in range(min(rng.choice((1, 1, 1, 2, 2, 3, 4)), count - len(machines))):
            machine_id += rng.randint(1, 30)
            machines.append(
                _machine(rng, machine_id, host_id, datacenter, country, city, ip, verification,
                         host_reliability, now)
            )  # fmt: skip
    return machines


def _machine(
    rng: random.Random,
    machine_id: int,
    host_id: int,
    datacenter: bool,
    country: str,
    city: str,
    ip: str,
    verification: str,
    host_reliability: float,
    now: float,
) -> dict[str, Any]:
    model = _model_for(rng, datacenter)
    num_gpus = rng.choices(SLICE_SIZES, weights=GPU_COUNT_WEIGHTS[model.tier])[0]
    price = model.price_low + (model.price_high - model.price_low) * rng.betavariate(2, 3)
    min_bid = price * rng.uniform(0.35, 0.70)
    driver, cuda = _driver_for(rng, model)
    server = datacenter or model.tier == "datacenter" or num_gpus == 8
    cpu_name, max_cores, cpu_ghz = rng.choice(SERVER_CPUS if server else CONSUMER_CPUS)
    cpu_cores = min(max_cores, max(8, num_gpus * rng.choice((4, 8, 12, 16, 24, 32))))
    ram_gb = rng.choice((256, 512, 1024, 2048) if server else (32, 64, 128, 256))
    disk_total = rng.choice((500, 1000, 2000, 4000, 8000) if server else (250, 500, 1000, 2000))
    inet_down = rng.uniform(1000, 10000) if datacenter else rng.uniform(50, 2000)
    direct_ports = 0 if rng.random() < 0.1 else rng.choice((2, 8, 24, 64, 100, 250, 500, 1000))
    port_start = rng.randrange(10000, 50000, 100)
    sxm = "SXM" in model.name or model.name == "H200"
    return {
        "machine_id": machine_id,
        "host_id": host_id,
        "num_gpus": num_gpus,
        "gpu_name": model.name,
        "gpu_ram": model.vram_mb,
        "gpu_arch": "nvidia",
        "gpu_mem_bw": round(model.mem_bw * rng.uniform(0.9, 1.0), 1),
        "gpu_max_power": float(model.max_power),
        "gpu_max_temp": float(rng.choice((83, 85, 87, 90))),
        "gpu_display_active": False,
        "gpu_lanes": rng.choice((8, 16)),
        "compute_cap": model.compute_cap,
        "dlperf_per_gpu": round(model.dlperf * rng.uniform(0.85, 1.1), 3),
        "tflops_per_gpu": model.tflops,
        "bw_nvlink": round(rng.uniform(300, 900), 1) if sxm else 0.0,
        "price_per_gpu": round(price, 4),
        "min_bid_per_gpu": round(max(min_bid, 0.001), 4),
        "storage_cost": round(rng.uniform(0.05, 0.2) if datacenter else rng.uniform(0.08, 0.3), 3),
        "inet_up_cost": round(rng.uniform(0.0, 0.02), 4),
        "inet_down_cost": round(rng.uniform(0.0, 0.02), 4),
        "cpu_name": cpu_name,
        "cpu_arch": "amd64",
        "cpu_cores": cpu_cores,
        "cpu_ghz": round(cpu_ghz * rng.uniform(0.95, 1.1), 2),
        "cpu_ram": int(ram_gb * 1024 * rng.uniform(0.96, 0.99)),
        "has_avx": 1,
        "disk_space": float(disk_total),
        "disk_bw": round(rng.uniform(800, 7000) if server else rng.uniform(300, 5000), 1),
        "disk_name": rng.choice(DISKS),
        "mobo_name": rng.choice(MOBOS),
        "pci_gen": float(rng.choice((3, 4, 4, 5))),
        "pcie_bw": round(rng.uniform(6.0, 52.0), 1),
        "inet_down": round(inet_down, 1),
        "inet_up": round(inet_down * rng.uniform(0.3, 1.0), 1),
        "direct_port_count": direct_ports,
        "direct_port_start": port_start,
        "direct_port_end": port_start + direct_ports,
        "static_ip": datacenter or rng.random() < 0.4,
        "hosting_type": 1 if datacenter else 0,
        "datacenter": datacenter,
        "vms_enabled": datacenter and rng.random() < 0.3,
        "reliability": round(min(0.9999, host_reliability * rng.uniform(0.995, 1.0)), 4),
        "verification": verification,
        "verified": verification == "verified",
        # A few partner-cloud offers, which the client's default query leaves out.
        "external": rng.random() < 0.03,
        "rentable": rng.random() < 0.98,
        "driver_version": driver,
        "driver_vers": numeric_driver_version(driver),
        "cuda_max_good": cuda,
        "os_version": rng.choice(("20.04", "22.04", "22.04", "24.04")),
        "country": country,
        "geolocation": f"{city}, {country}",
        "public_ipaddr": ip,
        "start_date": round(now - rng.uniform(1, 400) * 86400),
        "end_date": round(now + rng.uniform(3, 180) * 86400),
        "ssh_proxy": rng.randint(1, 9),
    }


def offer_row(machine: dict[str, Any], gpu_ids: list[int], disk_free: float) -> dict[str, Any]:
    """The offer of ``gpu_ids`` (free GPUs of ``machine``), without its id; prices are the
    on-demand ones with no storage (the search adds storage and bid prices per query)."""
    size = len(gpu_ids)
    frac = size / machine["num_gpus"]
    dph_base = round(machine["price_per_gpu"] * size, 4)
    dlperf = round(machine["dlperf_per_gpu"] * size * (0.97 if size > 1 else 1.0), 3)
    # Larger slices get a host's whole box, so more of its network and CPU.
    return {
        "machine_id": machine["machine_id"],
        "host_id": machine["host_id"],
        "num_gpus": size,
        "gpu_ids": ",".join(str(g) for g in gpu_ids),
        "gpu_frac": frac,
        "gpu_name": machine["gpu_name"],
        "gpu_ram": machine["gpu_ram"],
        "gpu_total_ram": machine["gpu_ram"] * size,
        "gpu_arch": machine["gpu_arch"],
        "gpu_mem_bw": machine["gpu_mem_bw"],
        "gpu_max_power": machine["gpu_max_power"],
        "gpu_max_temp": machine["gpu_max_temp"],
        "gpu_display_active": machine["gpu_display_active"],
        "gpu_lanes": machine["gpu_lanes"],
        "compute_cap": machine["compute_cap"],
        "bw_nvlink": machine["bw_nvlink"],
        "dlperf": dlperf,
        "total_flops": round(machine["tflops_per_gpu"] * size, 2),
        "dph_base": dph_base,
        "min_bid": round(machine["min_bid_per_gpu"] * size, 4),
        "storage_cost": machine["storage_cost"],
        "inet_up_cost": machine["inet_up_cost"],
        "inet_down_cost": machine["inet_down_cost"],
        "cpu_name": machine["cpu_name"],
        "cpu_arch": machine["cpu_arch"],
        "cpu_cores": machine["cpu_cores"],
        "cpu_cores_effective": round(machine["cpu_cores"] * frac, 2),
        "cpu_ghz": machine["cpu_ghz"],
        "cpu_ram": machine["cpu_ram"],
        "has_avx": machine["has_avx"],
        "disk_space": round(disk_free, 1),
        "disk_bw": machine["disk_bw"],
        "disk_name": machine["disk_name"],
        "mobo_name": machine["mobo_name"],
        "pci_gen": machine["pci_gen"],
        "pcie_bw": machine["pcie_bw"],
        "inet_down": machine["inet_down"],
        "inet_up": machine["inet_up"],
        "direct_port_count": machine["direct_port_count"],
        "direct_port_start": machine["direct_port_start"],
        "direct_port_end": machine["direct_port_end"],
        "static_ip": machine["static_ip"],
        "hosting_type": machine["hosting_type"],
        "datacenter": machine["datacenter"],
        "vms_enabled": machine["vms_enabled"],
        "reliability": machine["reliability"],
        "verification": machine["verification"],
        "verified": machine["verified"],
        "external": machine["external"],
        "rentable": machine["rentable"],
        "rented": False,
        "driver_version": machine["driver_version"],
        "driver_vers": machine["driver_vers"],
        "cuda_max_good": machine["cuda_max_good"],
        "os_version": machine["os_version"],
        "country": machine["country"],
        "geolocation": machine["geolocation"],
        "public_ipaddr": machine["public_ipaddr"],
        "start_date": machine["start_date"],
        "end_date": machine["end_date"],
        "cluster_id": None,
        # The marketplace ranks by value: deep-learning performance per dollar, discounted
        # steeply for unreliable hosts.
        "score": round(dlperf / (dph_base + 0.02) * machine["reliability"] ** 8, 3),
    }


def volume_offer_row(machine: dict[str, Any], disk_free: float) -> dict[str, Any]:
    """The machine's free disk as a local-volume offer, without its id."""
    return {
        "machine_id": machine["machine_id"],
        "host_id": machine["host_id"],
        "disk_space": round(disk_free, 1),
        "disk_bw": machine["disk_bw"],
        "disk_name": machine["disk_name"],
        "storage_cost": machine["storage_cost"],
        "inet_up": machine["inet_up"],
        "inet_down": machine["inet_down"],
        "reliability": machine["reliability"],
        "verification": machine["verification"],
        "verified": machine["verified"],
        "external": machine["external"],
        "static_ip": machine["static_ip"],
        "datacenter": machine["datacenter"],
        "cuda_max_good": machine["cuda_max_good"],
        "driver_version": machine["driver_version"],
        "driver_vers": machine["driver_vers"],
        "cpu_arch": machine["cpu_arch"],
        "cpu_ghz": machine["cpu_ghz"],
        "gpu_arch": machine["gpu_arch"],
        "has_avx": machine["has_avx"],
        "os_version": machine["os_version"],
        "pci_gen": machine["pci_gen"],
        "pcie_bw": machine["pcie_bw"],
        "total_flops": round(machine["tflops_per_gpu"] * machine["num_gpus"], 2),
        "country": machine["country"],
        "geolocation": machine["geolocation"],
        "start_date": machine["start_date"],
        "end_date": machine["end_date"],
        "cluster_id": None,
        "nw_disk_min_bw": None,
        "nw_disk_avg_bw": None,
        "nw_disk_max_bw": None,
        # Volume offers rank by reliability and disk speed per dollar of storage.
        "score": round(
            machine["reliability"] ** 8 * machine["disk_bw"] / 100 / machine["storage_cost"], 3
        ),
    }

"""Typed rows of the marketplace API: offers, instances, volumes, the account, a rent request.

Rows ignore fields they do not name (the marketplace adds fields freely) and accept missing
optional ones. Units are the marketplace's: ``gpu_ram`` in MB (the official CLI turns GB into MB
by multiplying by 1000, and shows MB / 1000 as GB; this library does the same), disk in GB,
prices in $/hour, ``storage_cost`` in $/GB/month.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dumont_iac.clients.regions import CONTINENTS, country_of
from dumont_iac.types import MoneyPerHour, PortTuple

HOURS_PER_MONTH = 30 * 24  # the marketplace prices storage per 30-day month


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Offer(_Row):
    """One rentable slice of a machine (1, 2, 4 or 8 of its GPUs); ``id`` is what ``rent`` takes."""

    id: int
    machine_id: int | None = None
    host_id: int | None = None
    num_gpus: int
    gpu_name: str
    gpu_ram: float = 0.0  # MB per GPU
    gpu_total_ram: float | None = None  # MB over all GPUs of the offer
    cpu_cores: float | None = None
    cpu_ram: float | None = None
    disk_space: float | None = None  # GB available
    inet_up: float | None = None
    inet_down: float | None = None
    dph_base: float | None = None  # $/h for the GPUs, on demand
    dph_total: float  # $/h including the storage the search priced (allocated_storage)
    min_bid: float | None = None  # lowest accepted bid, $/h, for interruptible rental
    storage_cost: float | None = None  # $/GB/month
    reliability: float | None = None
    reliability2: float | None = None
    score: float | None = None
    dlperf: float | None = None
    verified: bool | None = None
    verification: str | None = None
    rentable: bool | None = None
    geolocation: str | None = None
    cuda_max_good: float | None = None
    driver_version: str | None = None
    compute_cap: int | None = None
    direct_port_count: int | None = None
    static_ip: bool | None = None
    duration: float | None = None  # seconds the host offers the machine for

    @property
    def gpu_ram_gb(self) -> float:
        return self.gpu_ram / 1000

    @property
    def total_vram_gb(self) -> float:
        total = self.gpu_total_ram if self.gpu_total_ram else self.gpu_ram * self.num_gpus
        return total / 1000

    @property
    def country(self) -> str | None:
        return country_of(self.geolocation)

    @property
    def continent(self) -> str | None:
        country = self.country
        for continent, countries in CONTINENTS.items():
            if country in countries:
                return continent
        return None

    @property
    def reliability_score(self) -> float | None:
        return self.reliability if self.reliability is not None else self.reliability2

    @property
    def is_verified(self) -> bool:
        if self.verified is not None:
            return self.verified
        return self.verification == "verified"

    def price_per_hour(self, *, interruptible: bool = False, disk_gb: float = 0.0) -> float:
        """What renting this offer costs per hour: GPUs (on demand, or the minimum bid) + disk."""
        gpu = self.dph_base if self.dph_base is not None else self.dph_total
        if interruptible and self.min_bid is not None:
            gpu = self.min_bid
        storage = disk_gb * (self.storage_cost or 0.0) / HOURS_PER_MONTH
        return gpu + storage

    def price_per_gpu_hour(self, *, interruptible: bool = False) -> float:
        return self.price_per_hour(interruptible=interruptible) / max(self.num_gpus, 1)


class Instance(_Row):
    """A rental (the marketplace calls it an instance or a contract)."""

    id: int
    label: str | None = None
    actual_status: str | None = None  # None while provisioning
    intended_status: str | None = None
    cur_state: str | None = None
    next_state: str | None = None
    status_msg: str | None = None
    image_uuid: str | None = None
    machine_id: int | None = None
    host_id: int | None = None
    num_gpus: int | None = None
    gpu_name: str | None = None
    gpu_ram: float | None = None
    disk_space: float | None = None
    dph_total: float | None = None
    dph_base: float | None = None
    storage_cost: float | None = None  # $/GB/month of its disk
    min_bid: float | None = None
    is_bid: bool | None = None
    ssh_host: str | None = None
    ssh_port: int | None = None
    public_ipaddr: str | None = None
    ports: dict[str, Any] | None = None
    geolocation: str | None = None
    reliability2: float | None = None
    start_date: float | None = None
    end_date: float | None = None
    volume_info: Any = None
    gpu_util: float | None = None  # percent busy, as the marketplace reports it

    @property
    def is_ready(self) -> bool:
        """Running as intended, and the marketplace reports no error for it."""
        return (
            self.intended_status == "running"
            and self.actual_status == "running"
            and "error" not in (self.status_msg or "").lower()
        )

    @property
    def is_interruptible(self) -> bool:
        return bool(self.is_bid)

    def host_port(self, container_port: int, protocol: str = "tcp") -> int | None:
        """The public port a container port is published on, while the instance runs."""
        bindings = (self.ports or {}).get(f"{container_port}/{protocol}") or []
        for binding in bindings:
            if isinstance(binding, dict) and binding.get("HostPort"):
                return int(binding["HostPort"])
        return None


class Rental(_Row):
    """The outcome of ``rent``: the new instance's id, and whether it was found by its label."""

    instance_id: int
    offer_id: int
    label: str
    recovered: bool = False  # True: the answer was lost and the label lookup found the rental


class VolumeOffer(_Row):
    id: int
    machine_id: int | None = None
    host_id: int | None = None
    disk_space: float | None = None  # GB that can be allocated
    storage_cost: float | None = None  # $/GB/month
    reliability: float | None = None
    geolocation: str | None = None
    verified: bool | None = None


class Volume(_Row):
    id: int
    name: str | None = None
    label: str | None = None
    machine_id: int | None = None
    host_id: int | None = None
    size: float | None = Field(default=None, description="GB")
    disk_space: float | None = None
    status: str | None = None
    storage_cost: float | None = None
    instances: list[int] | None = None
    geolocation: str | None = None

    @property
    def size_gb(self) -> float | None:
        return self.size if self.size is not None else self.disk_space


class CreatedVolume(_Row):
    volume_id: int | None
    name: str
    recovered: bool = False  # found by its name after the answer to the create was lost


class User(_Row):
    id: int
    email: str | None = None
    username: str | None = None
    credit: float = 0.0  # available balance, $
    balance: float | None = None
    balance_threshold: float | None = None


class VolumeAttachment(BaseModel):
    """A local volume for a new instance: an existing volume, or a new one from a volume offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    volume_id: int = Field(description="the volume's id, or with create_new the volume offer's")
    create_new: bool = False
    mount_path: str = Field(default="/data", pattern=r"^/")
    size_gb: float | None = Field(default=None, gt=0, description="GB, for a new volume")
    name: str | None = Field(default=None, max_length=256)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "create_new": self.create_new,
            "volume_id": self.volume_id,
            "mount_path": self.mount_path,
        }
        if self.create_new:
            body.update(size=self.size_gb, name=self.name)
        return body


class RentRequest(BaseModel):
    """What a rental runs. ``bid_price`` set means interruptible at that bid, unset on demand."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = Field(min_length=1)
    disk_gb: float = Field(default=10.0, ge=8, description="container disk, GB (at least 8)")
    env: dict[str, str] = Field(default_factory=dict)
    ports: PortTuple = Field(default=(), description="container ports to publish")
    onstart: str | None = None
    args: tuple[str, ...] | None = None
    runtype: Literal["ssh", "ssh_direct", "ssh_proxy", "jupyter", "jupyter_direct", "args"] = "ssh"
    image_login: SecretStr | None = None
    bid_price: MoneyPerHour | None = Field(default=None, description="$/h; None for on demand")
    target_state: Literal["running", "stopped"] = "running"
    cancel_unavail: bool = True  # an error, not a stopped instance, when it cannot start
    volume: VolumeAttachment | None = None

    def to_body(self, label: str) -> dict[str, Any]:
        env = dict(self.env)
        for port in self.ports:
            env[f"-p {port}:{port}"] = "1"
        body: dict[str, Any] = {
            "client_id": "me",
            "image": self.image,
            "disk": self.disk_gb,
            "env": env,
            "label": label,
            "runtype": self.runtype,
            "target_state": self.target_state,
            "cancel_unavail": self.cancel_unavail,
        }
        if self.onstart is not None:
            body["onstart"] = self.onstart
        if self.args is not None:
            body["args"] = list(self.args)
        if self.image_login is not None:
            body["image_login"] = self.image_login.get_secret_value()
        if self.bid_price is not None:
            body["price"] = self.bid_price
        if self.volume is not None:
            body["volume_info"] = self.volume.to_body()
        return body

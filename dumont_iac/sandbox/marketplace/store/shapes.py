"""The JSON shapes the store answers, as TypedDicts: checked by mypy, plain dicts at run time.

``rows`` builds the big ones (offers, instances, volumes) from stored rows; the store methods
return these types, and the routes answer them as they are.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Done(TypedDict):
    success: bool


class Outcome(TypedDict):
    """What starting, stopping, rebooting or relabelling one instance came to."""

    success: bool
    msg: NotRequired[str]


class Results(TypedDict):
    success: bool
    results: dict[str, Outcome]  # by instance id


class Rented(TypedDict):
    success: bool
    new_contract: int


class RentOutcome(TypedDict):
    """One offer of a bulk rent: its new contract, or the marketplace's error for it."""

    success: bool
    new_contract: NotRequired[int]
    error: NotRequired[str]
    msg: NotRequired[str]


class BulkRented(TypedDict):
    success: bool  # every offer was rented
    new_contracts: list[int]  # in the order the offers were given
    results: dict[str, RentOutcome]  # by offer id
    msg: NotRequired[str]


class PriceBreakdown(TypedDict):
    """An offer's hourly price in parts, as the marketplace nests it under ``search`` (the
    search's pricing) and ``instance`` (the rental's); SkyPilot reads ``search.totalHour``."""

    gpuCostPerHour: float  # noqa: N815 - the marketplace's own key
    diskHour: float  # noqa: N815
    totalHour: float  # noqa: N815
    discountTotalHour: float  # noqa: N815
    discountedTotalPerHour: float  # noqa: N815


class Offer(TypedDict):
    id: int
    ask_contract_id: int
    bundle_id: int
    bundled_results: int
    machine_id: int
    host_id: int
    num_gpus: int
    gpu_ids: list[int]
    gpu_frac: float
    gpu_name: str
    gpu_ram: int
    gpu_total_ram: int
    gpu_arch: str
    gpu_mem_bw: float
    gpu_max_power: float
    gpu_max_temp: float
    gpu_display_active: bool
    gpu_lanes: int
    compute_cap: int
    bw_nvlink: float
    dlperf: float
    total_flops: float
    dph_base: float
    dph_total: float
    min_bid: float
    is_bid: bool
    storage_cost: float
    storage_total_cost: float
    inet_up_cost: float
    inet_down_cost: float
    dlperf_per_dphtotal: float
    flops_per_dphtotal: float
    vram_costperhour: float
    discounted_dph_total: NotRequired[float]  # only for type=reserved
    credit_discount_max: float
    cpu_name: str
    cpu_arch: str
    cpu_cores: int
    cpu_cores_effective: float
    cpu_ghz: float
    cpu_ram: int
    has_avx: int
    disk_space: float
    disk_bw: float
    disk_name: str
    mobo_name: str
    pci_gen: float
    pcie_bw: float
    inet_down: float
    inet_up: float
    direct_port_count: int
    direct_port_start: int
    direct_port_end: int
    static_ip: bool
    hosting_type: int
    datacenter: bool
    vms_enabled: bool
    reliability: float
    reliability2: float
    verification: str
    verified: bool
    external: bool
    rentable: bool
    rented: bool
    driver_version: str
    driver_vers: int
    cuda_max_good: float
    os_version: str
    geolocation: str
    public_ipaddr: str
    start_date: float
    end_date: float
    duration: float
    cluster_id: int | None
    score: float
    resource_type: str
    search: PriceBreakdown
    instance: PriceBreakdown


class VolumeOffer(TypedDict):
    id: int
    ask_contract_id: int
    machine_id: int
    host_id: int
    disk_space: float
    disk_bw: float
    disk_name: str
    storage_cost: float
    storage_total_cost: float
    dph_total: float
    inet_up: float
    inet_down: float
    reliability: float
    reliability2: float
    verification: str
    verified: bool
    external: bool
    static_ip: bool
    datacenter: bool
    cuda_max_good: float
    driver_version: str
    driver_vers: int
    cpu_arch: str
    cpu_ghz: float
    gpu_arch: str
    has_avx: int
    os_version: str
    pci_gen: float
    pcie_bw: float
    total_flops: float
    geolocation: str
    start_date: float
    end_date: float
    duration: float
    cluster_id: int | None
    nw_disk_min_bw: float | None
    nw_disk_avg_bw: float | None
    nw_disk_max_bw: float | None
    score: float
    rentable: bool
    resource_type: str


class AttachedVolume(TypedDict):
    id: int
    volume_name: str
    mount_path: str
    total_space: float
    avail_space: float


class PortBinding(TypedDict):
    HostIp: str
    HostPort: str


class Instance(TypedDict):
    id: int
    label: str | None
    actual_status: str
    intended_status: str
    cur_state: str
    next_state: str
    status_msg: str
    image_uuid: str
    image_args: list[str]
    image_runtype: str | None
    onstart: str | None
    extra_env: list[list[str]]
    template_id: int | None
    template_hash_id: str | None
    template_name: str | None
    jupyter_token: str
    machine_id: int
    host_id: int
    bundle_id: int
    num_gpus: int
    gpu_name: str
    gpu_ram: int
    gpu_totalram: int
    gpu_frac: float
    gpu_arch: str
    gpu_util: float
    gpu_temp: float | None
    compute_cap: int
    cuda_max_good: float
    driver_version: str
    dlperf: float
    total_flops: float
    cpu_name: str
    cpu_cores: int
    cpu_cores_effective: float
    cpu_ram: int
    cpu_util: float | None
    disk_space: float
    disk_usage: float
    disk_util: float
    disk_bw: float
    disk_name: str
    inet_up: float
    inet_down: float
    inet_up_cost: float
    inet_down_cost: float
    is_bid: bool
    dph_base: float
    dph_total: float
    min_bid: float
    storage_cost: float
    storage_total_cost: float
    reliability2: float
    reliability: float
    verification: str
    geolocation: str
    public_ipaddr: str
    local_ipaddrs: str
    static_ip: bool
    direct_port_count: int
    direct_port_start: int
    direct_port_end: int
    ssh_idx: str
    ssh_host: str
    ssh_port: int
    machine_dir_ssh_port: str | None
    ports: dict[str, list[PortBinding]] | None  # only while running
    start_date: float
    end_date: float
    duration: float
    uptime_mins: float | None
    os_version: str
    volume_info: list[AttachedVolume]


class InstancePage(TypedDict):
    success: bool
    instances_found: int
    total_instances: int
    next_token: str | None
    label_counts: dict[str, int]
    instances: list[dict[str, Any]]  # each instance, or the columns select_cols asked for


class InstanceCombo(TypedDict):
    actual_status: str
    verification: str
    gpu_name: str


class InstanceFilters(TypedDict):
    filters: list[InstanceCombo]


class Volume(TypedDict):
    id: int
    volume_name: str
    label: str | None
    name: str | None
    type: str
    status: str
    instances: list[int]
    disk_space: float
    total_space: float
    avail_space: float
    storage_cost: float
    storage_total_cost: float
    machine_id: int
    host_id: int
    geolocation: str
    driver_version: str
    disk_name: str
    inet_up: float
    inet_down: float
    reliability2: float
    verification: str
    cluster_id: int | None
    start_date: float
    end_date: float
    duration: float


class Volumes(TypedDict):
    volumes: list[Volume]


class VolumeCreated(TypedDict):
    success: bool
    volume_name: str


class GpuNames(TypedDict):
    gpu_names: list[str]


class Account(TypedDict):
    id: int
    username: str
    fullname: str
    email: str
    email_verified: bool
    credit: float
    balance: float
    balance_threshold: float
    balance_threshold_enabled: bool
    can_pay: bool
    has_billing: bool
    billing_creditonly: bool
    got_signup_credit: bool
    ssh_key: str | None
    created_at: float


class SshKey(TypedDict):
    id: int
    user_id: int
    public_key: str
    created_at: float
    deleted_at: float | None


class SshKeyAdded(TypedDict):
    success: bool
    key: SshKey


class WorkspaceFile(TypedDict):
    path: str
    size: int  # bytes
    updated_at: float


class Workspace(TypedDict):
    instance_id: int
    files: list[WorkspaceFile]  # by path
    bytes: int  # of all files


# --- answers of the /_sandbox/ surface --------------------------------------------------------


class TakenOffer(TypedDict):
    ask_id: int
    machine_id: int


class Outbid(TypedDict):
    instance_id: int
    winning_bid: float


class MachineFailed(TypedDict):
    machine_id: int
    instances_offline: int


class MachineRecovered(TypedDict):
    machine_id: int


class StallsArmed(TypedDict):
    armed: int


class StallsReleased(TypedDict):
    released: int
    disarmed: int


class Counts(TypedDict):
    machines: int
    offers: int
    instances: int
    volumes: int


class InstanceFailed(TypedDict):
    instance_id: int
    machine_id: int
    gpus_out_of_service: int


class GpusTaken(TypedDict):
    instance_id: int
    machine_id: int
    gpus_taken: int


class LeasesReleased(TypedDict):
    machine_id: int
    released: int


class UtilizationSet(TypedDict):
    instance_id: int
    gpu_util: float

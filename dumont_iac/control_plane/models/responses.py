"""The shapes of the API's answers, so a typed client can be generated from the document.

Answers are not strict (they come from the service itself); their examples live beside each
operation (``answers`` in ``common.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from dumont_iac.control_plane.models.failover import Strategy


class Switch(BaseModel):
    enabled: bool


class FailoverStats(BaseModel):
    failovers_total: int
    failovers_last_24h: int
    last_failover_at: float | None


class GpuSettingsOut(BaseModel):
    gpu_id: str
    use_global_settings: bool
    effective_strategy: Strategy
    warm_pool: Switch
    cpu_standby: Switch
    stats: FailoverStats


class GpuSettingsList(BaseModel):
    gpus: list[GpuSettingsOut]


class GpuSettingsDeleted(GpuSettingsOut):
    deleted: bool


class ActionOut(BaseModel):
    id: int
    gpu_id: str
    kind: str
    state: str  # requested, running, succeeded, failed
    attempts: int
    requested_at: float
    started_at: float | None
    finished_at: float | None
    executed_by: str | None
    result: dict[str, Any] | None
    error: str | None
    request_id: str | None


class ReadinessOut(BaseModel):
    gpu_id: str
    ready: bool
    effective_strategy: Strategy
    warm_pool_ready: bool
    cpu_standby_ready: bool
    reasons: list[str]


class StatusOut(BaseModel):
    gpu_id: str
    in_progress: bool
    lease_holder: str | None
    current: ActionOut | None
    last: ActionOut | None
    recent: list[ActionOut]


class AssociationOut(BaseModel):
    """The association as registered, merged with the runtime state the standby agent writes
    (``standby_state`` documents): state is one of disabled, provisioning, syncing, ready,
    failover_active, recovering, error."""

    gpu_id: str
    cpu_instance_name: str
    zone: str
    ip: str | None
    sync_enabled: bool
    state: str
    gpu_failed: bool
    failure_reason: str | None
    ec2_instance_id: str | None = None
    region: str | None = None
    sync_interval_seconds: int | None = None
    health_check_interval_seconds: int | None = None
    failure_threshold: int | None = None
    auto_failover: bool | None = None
    auto_recovery: bool | None = None
    gpu: dict[str, Any] | None = None
    last_sync_at: float | None = None
    last_failover_at: float | None = None
    failovers_last_24h: int | None = None


class AssociationList(BaseModel):
    associations: list[AssociationOut]


class GpuDeleted(BaseModel):
    gpu_id: str
    deleted: bool


class WarmPoolStatus(BaseModel):
    gpu_id: str
    state: str  # disabled, searching, provisioning, active, failover, recovering, degraded, error
    host_machine_id: int | None
    volume_id: int | None
    primary_gpu_id: str | None
    standby_gpu_id: str | None
    standby_state: str | None
    failover_count: int
    last_failover_at: float | None
    error_message: str | None
    registered: bool = False
    standbys: int | None = None
    primary_contract_id: int | None = None
    standby_contract_ids: list[int] = []


class WarmPoolOut(BaseModel):
    gpu_id: str
    host_machine_id: int
    volume_id: int
    standbys: int
    volume_mount_path: str
    gpu: dict[str, Any]


class BudgetOut(BaseModel):
    """A budget as stored, without its webhook URL and secret (only whether they are set)."""

    id: int
    name: str
    gpu_name: str | None
    threshold: float
    period: str
    email: str | None
    enabled: bool
    action: str
    alert_percents: list[float] = [50.0, 80.0, 100.0]
    gpu_ids: list[str] = []
    max_concurrent_gpus: int | None = None
    max_gpu_hours_per_month: float | None = None
    webhook_origin: str | None = None


class BudgetSpend(BaseModel):
    """What a budget's scope has cost in its current period, as the budgets agent accrued it."""

    id: int
    period_start: float
    spend_usd: float
    gpu_hours: float
    rate_per_hour: float
    concurrent_gpus: int
    alerts: dict[str, str]
    """Threshold percent -> pending | delivered | failed | no_webhook."""
    action_taken: str | None
    action_taken_at: float | None
    updated_at: float | None


class BudgetList(BaseModel):
    budgets: list[BudgetOut]


class BudgetDeleted(BaseModel):
    id: int
    deleted: bool


class EventOut(BaseModel):
    id: int
    kind: str
    message: str
    at: float
    replica: str
    gpu_id: str | None
    duration_ms: float | None
    data: dict[str, Any]


class EventList(BaseModel):
    events: list[EventOut]


class RotationOut(BaseModel):
    api_key: str
    key_id: int
    previous_key_id: int
    previous_key_expires_at: float


class HealthOut(BaseModel):
    status: str
    store: str
    schema_revision: str | None = None
    replica: str


class AgentHealthOut(BaseModel):
    name: str
    description: str
    ticks: int
    last_tick_at: float | None
    last_tick_ms: float | None
    last_error: str | None
    last_error_at: float | None
    detail: str


class AgentsOut(BaseModel):
    replica: str
    running: bool
    agents: list[AgentHealthOut]


class GpuStateOut(BaseModel):
    gpu_id: str
    phase: str
    since: float | None
    reason: str | None
    error: str | None
    managed: bool
    failovers_last_24h: int
    last_failover_at: float | None

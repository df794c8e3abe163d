"""A typed client of the control plane (``dumont-iac control-plane``, or Dumont's own ``/api/v1``).

    client = ControlPlaneClient()                     # dumont:apiUrl / DUMONT_API_URL, apiKey
    client.put_gpu_settings("gpu-0123456789ab", GpuFailoverSettings(strategy="warm_pool"))
    action = client.execute_failover("gpu-0123456789ab", request_id="deploy-42")

Answers are the service's own models (``dumont_iac.control_plane.models``), so both sides read
one schema. Reads and idempotent writes (PUT, DELETE) are retried on 5xx and lost answers; a
POST is sent once, except ``execute_failover`` with a ``request_id``, which the service answers
with the first action when repeated, so it is retried too.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from dumont_iac import errors
from dumont_iac.clients.control_plane.decoder import ControlPlaneErrors
from dumont_iac.clients.http import DEFAULT_RETRY, Endpoint, HttpApi, RetryPolicy
from dumont_iac.config import ServiceSettings, control_plane_settings, not_the_api_sentence
from dumont_iac.control_plane.models.failover import (
    ExecuteRequest,
    GlobalFailoverSettings,
    GpuFailoverSettings,
)
from dumont_iac.control_plane.models.hibernation import (
    HibernationPolicyOut,
    HibernationPolicySpec,
    WakeOut,
)
from dumont_iac.control_plane.models.policies import Budget, RetentionPolicy, StandbyAssociation
from dumont_iac.control_plane.models.responses import (
    ActionOut,
    AgentsOut,
    AssociationList,
    AssociationOut,
    BudgetList,
    BudgetOut,
    BudgetSpend,
    EventList,
    GpuSettingsList,
    GpuSettingsOut,
    GpuStateOut,
    HealthOut,
    ReadinessOut,
    StatusOut,
    WarmPoolOut,
    WarmPoolStatus,
)
from dumont_iac.control_plane.models.snapshots import SnapshotPolicyOut, SnapshotPolicySpec
from dumont_iac.control_plane.models.warm_pools import WarmPoolRegistration

M = TypeVar("M", bound=BaseModel)

READ = Endpoint("read")
WRITE = Endpoint("write")  # PUT and DELETE set a state: repeating them is harmless
CREATE = Endpoint("create", idempotent=False)
EXECUTE_ONCE = Endpoint("execute", idempotent=False)
EXECUTE_WITH_ID = Endpoint("execute")  # the request id makes a repeat answer the first action
API = "/api/v1"


class ControlPlaneClient:
    """Typed calls to the control plane. Arguments left out resolve from Pulumi config or env."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | SecretStr | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        settings: ServiceSettings | None = None,
    ) -> None:
        service = settings or control_plane_settings(url, api_key, pacing_scale=0)
        self.http = HttpApi(
            service,
            "control plane",
            timeout=timeout,
            retry=retry or DEFAULT_RETRY,
            decoder=ControlPlaneErrors(),
        )

    def __repr__(self) -> str:
        return f"ControlPlaneClient(url={self.http.base_url!r})"

    # --- health ------------------------------------------------------------------------------

    def health(self) -> HealthOut:
        return self._get(HealthOut, "/health", auth="none")

    def agents(self) -> AgentsOut:
        return self._get(AgentsOut, "/health/agents", auth="none")

    # --- failover settings -------------------------------------------------------------------

    def global_settings(self) -> GlobalFailoverSettings:
        return self._get(GlobalFailoverSettings, f"{API}/failover/settings/global")

    def put_global_settings(self, settings: GlobalFailoverSettings) -> GlobalFailoverSettings:
        path = f"{API}/failover/settings/global"
        return self._call(GlobalFailoverSettings, "PUT", path, WRITE, settings)

    def gpus_with_settings(self) -> list[GpuSettingsOut]:
        """Every GPU with its own failover settings (a FailoverPolicy), effective values."""
        return self._get(GpuSettingsList, f"{API}/failover/settings/machines").gpus

    def gpu_settings(self, gpu_id: str) -> GpuSettingsOut:
        return self._get(GpuSettingsOut, f"{API}/failover/settings/machines/{gpu_id}")

    def put_gpu_settings(self, gpu_id: str, settings: GpuFailoverSettings) -> GpuSettingsOut:
        path = f"{API}/failover/settings/machines/{gpu_id}"
        return self._call(GpuSettingsOut, "PUT", path, WRITE, settings)

    def delete_gpu_settings(self, gpu_id: str) -> None:
        self._forget(f"{API}/failover/settings/machines/{gpu_id}")

    # --- standby associations and warm pools -----------------------------------------------

    def associations(self) -> AssociationList:
        return self._get(AssociationList, f"{API}/standby/associations")

    def association(self, gpu_id: str) -> AssociationOut | None:
        return self._get_or_none(AssociationOut, f"{API}/standby/associations/{gpu_id}")

    def put_association(self, gpu_id: str, association: StandbyAssociation) -> AssociationOut:
        path = f"{API}/standby/associations/{gpu_id}"
        return self._call(AssociationOut, "PUT", path, WRITE, association)

    def delete_association(self, gpu_id: str) -> None:
        self._forget(f"{API}/standby/associations/{gpu_id}")

    def warm_pool(self, gpu_id: str) -> WarmPoolStatus:
        return self._get(WarmPoolStatus, f"{API}/warmpool/status/{gpu_id}")

    def warm_pool_registration(self, gpu_id: str) -> WarmPoolOut | None:
        return self._get_or_none(WarmPoolOut, f"{API}/warmpool/pools/{gpu_id}")

    def put_warm_pool(self, gpu_id: str, registration: WarmPoolRegistration) -> WarmPoolOut:
        path = f"{API}/warmpool/pools/{gpu_id}"
        return self._call(WarmPoolOut, "PUT", path, WRITE, registration)

    def delete_warm_pool(self, gpu_id: str) -> None:
        self._forget(f"{API}/warmpool/pools/{gpu_id}")

    # --- failover ----------------------------------------------------------------------------

    def gpu_state(self, gpu_id: str) -> GpuStateOut:
        """What the control plane is doing with the GPU (failover, hibernation, a hold)."""
        return self._get(GpuStateOut, f"{API}/gpus/{gpu_id}/state")

    def execute_failover(
        self, gpu_id: str, kind: str = "restart", *, request_id: str | None = None
    ) -> ActionOut:
        body = ExecuteRequest.model_validate(
            {"gpu_id": gpu_id, "kind": kind, "request_id": request_id}
        )
        endpoint = EXECUTE_WITH_ID if request_id else EXECUTE_ONCE
        return self._call(ActionOut, "POST", f"{API}/failover/execute", endpoint, body)

    def action(self, action_id: int) -> ActionOut:
        return self._get(ActionOut, f"{API}/failover/actions/{int(action_id)}")

    def readiness(self, gpu_id: str) -> ReadinessOut:
        return self._get(ReadinessOut, f"{API}/failover/readiness/{gpu_id}")

    def failover_status(self, gpu_id: str) -> StatusOut:
        return self._get(StatusOut, f"{API}/failover/status/{gpu_id}")

    # --- snapshots, budgets, events ----------------------------------------------------------

    def retention_policy(self, instance_id: str | None = None) -> RetentionPolicy:
        params = {"instance_id": instance_id} if instance_id else None
        path = f"{API}/snapshots/retention-policy"
        return self._get(RetentionPolicy, path, params=params)

    def put_retention_policy(self, policy: RetentionPolicy) -> RetentionPolicy:
        path = f"{API}/snapshots/retention-policy"
        return self._call(RetentionPolicy, "PUT", path, WRITE, policy)

    def snapshot_policy(self, gpu_id: str) -> SnapshotPolicyOut | None:
        return self._get_or_none(SnapshotPolicyOut, f"{API}/snapshots/policies/{gpu_id}")

    def put_snapshot_policy(self, gpu_id: str, policy: SnapshotPolicySpec) -> SnapshotPolicyOut:
        path = f"{API}/snapshots/policies/{gpu_id}"
        return self._call(SnapshotPolicyOut, "PUT", path, WRITE, policy)

    def delete_snapshot_policy(self, gpu_id: str) -> None:
        self._forget(f"{API}/snapshots/policies/{gpu_id}")

    # --- hibernation -------------------------------------------------------------------------

    def hibernation_policy(self, gpu_id: str) -> HibernationPolicyOut | None:
        return self._get_or_none(HibernationPolicyOut, f"{API}/hibernation/policies/{gpu_id}")

    def put_hibernation_policy(
        self, gpu_id: str, policy: HibernationPolicySpec
    ) -> HibernationPolicyOut:
        path = f"{API}/hibernation/policies/{gpu_id}"
        return self._call(HibernationPolicyOut, "PUT", path, WRITE, policy)

    def delete_hibernation_policy(self, gpu_id: str) -> None:
        self._forget(f"{API}/hibernation/policies/{gpu_id}")

    def wake(self, gpu_id: str) -> WakeOut:
        """Sent once: a lost answer is not retried (the GPU may already be renting)."""
        answer = self.http.call("POST", f"{API}/hibernation/wake/{gpu_id}", EXECUTE_ONCE)
        return self._parse(WakeOut, answer, f"POST {API}/hibernation/wake/{gpu_id}")

    def budgets(self) -> BudgetList:
        return self._get(BudgetList, f"{API}/budgets")

    def create_budget(self, budget: Budget) -> BudgetOut:
        return self._call(BudgetOut, "POST", f"{API}/budgets", CREATE, budget)

    def put_budget(self, budget_id: int, budget: Budget) -> BudgetOut:
        path = f"{API}/budgets/{int(budget_id)}"
        return self._call(BudgetOut, "PUT", path, WRITE, budget)

    def budget(self, budget_id: int) -> BudgetOut | None:
        return self._get_or_none(BudgetOut, f"{API}/budgets/{int(budget_id)}")

    def budget_spend(self, budget_id: int) -> BudgetSpend | None:
        return self._get_or_none(BudgetSpend, f"{API}/budgets/{int(budget_id)}/spend")

    def delete_budget(self, budget_id: int) -> None:
        self._forget(f"{API}/budgets/{int(budget_id)}")

    def events(
        self, *, gpu_id: str | None = None, kind: str | None = None, since: float | None = None
    ) -> EventList:
        params = {k: v for k, v in {"gpu_id": gpu_id, "kind": kind, "since": since}.items() if v}
        return self._get(EventList, f"{API}/events", params=params or None)

    # --- plumbing ----------------------------------------------------------------------------

    def _get(self, model: type[M], path: str, **kwargs: Any) -> M:
        return self._parse(model, self.http.call("GET", path, READ, **kwargs), f"GET {path}")

    def _get_or_none(self, model: type[M], path: str) -> M | None:
        try:
            return self._get(model, path)
        except errors.NotFound:
            return None

    def _call(self, model: type[M], method: str, path: str, kind: Endpoint, body: Any) -> M:
        payload = body.model_dump(mode="json", exclude_none=True)
        answer = self.http.call(method, path, kind, json=payload)
        return self._parse(model, answer, f"{method} {path}")

    def _forget(self, path: str) -> None:
        """DELETE, where one already gone counts as done (the wanted end is reached)."""
        try:
            self.http.call("DELETE", path, WRITE)
        except errors.NotFound:
            return

    def _parse(self, model: type[M], answer: Any, what: str) -> M:
        try:
            return model.model_validate(answer)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"]) or "the answer"
            raise errors.NotTheApi(
                not_the_api_sentence(
                    self.http.service.url,
                    "control-plane",
                    f"{what} answered {where}: {problem['msg']}",
                ),
                url=self.http.base_url,
                status=200,
                content_type="application/json",
            ) from None

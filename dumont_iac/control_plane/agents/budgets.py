"""The budgets agent: accrues what each budget's scope bills, alerts at its thresholds, and
stops or destroys the scope at its limit.

Per tick of the control plane's clock it lists the rentals and volumes once (the marketplace
bills a running rental ``dph_total``, a stopped one its disk) and the EC2 VMs tagged
``dumont:gpu`` once; then, for each enabled budget, it adds the rate seen at the previous tick
times the time since, so spend stops growing one tick after the scope stops billing. Spend,
GPU-hours and alerts are documents (``budgets.state``): a restart resumes them.

At the limit (or the GPU-hour quota) the action is applied every tick while anything in scope
still bills beyond it, so a GPU started again meanwhile is stopped again: ``stop`` stops each
running rental (its disk keeps billing), ``destroy`` destroys the rentals, the volumes and the
EC2 VMs in scope. Each GPU held so gets a ``gpu_hold`` document (the failover agent leaves it
alone) until the budget is deleted or its period ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dumont_iac.clients.aws import tagged_vms
from dumont_iac.clients.aws.tagged_vms import TaggedVm
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.budgets import state
from dumont_iac.control_plane.budgets.alerts import BudgetAlerts, event_id
from dumont_iac.control_plane.budgets.scope import Billing, in_scope
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.metrics import AgentMetrics
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import GPU_HOLD
from dumont_iac.errors import AwsError, DumontError

log = logging.getLogger(__name__)


class BudgetWatch(Agent):
    name = "budgets"
    description = "Accrues spend against each budget and alerts, stops or destroys at its limit."

    def __init__(
        self,
        store: Store,
        events: EventLog,
        marketplace: Callable[[], MarketplaceClient],
        alerts: BudgetAlerts,
        *,
        metrics: AgentMetrics | None = None,
        vms: Callable[[], list[TaggedVm]] | None = None,
        terminate: Callable[[list[str]], None] | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._events = events
        self._marketplace = marketplace
        self._alerts = alerts
        self._metrics = metrics
        self._vms = vms or _live_vms
        self._terminate = terminate or tagged_vms.terminate

    def tick(self, now: float) -> str:
        budgets = [b for b in self._store.budgets.all() if b[2].get("enabled", True)]
        if not budgets:
            return "no budgets"
        market = self._marketplace()
        rentals, volumes = market.instances(), market.volumes()
        try:
            vms = self._vms()
        except AwsError as exc:
            log.warning("budgets: EC2 VMs not counted this tick: %s", exc)
            vms = []
        over = 0
        for user_id, budget_id, body in budgets:
            billing = in_scope(body.get("gpu_ids") or [], rentals, volumes, vms)
            if self._watch(user_id, budget_id, body, billing, market, now):
                over += 1
        return f"{len(budgets)} budget(s) accrued; {over} at their limit"

    # --- one budget --------------------------------------------------------------------------

    def _watch(
        self,
        user_id: int,
        budget_id: int,
        body: dict[str, Any],
        billing: Billing,
        market: MarketplaceClient,
        now: float,
    ) -> bool:
        spend = state.spend_of(self._store, user_id, budget_id) or state.new_spend(now)
        period = state.PERIOD_SECONDS.get(
            body.get("period", "month"), state.PERIOD_SECONDS["month"]
        )
        if now - spend["period_start"] >= period:
            state.release(self._store, user_id, budget_id)
            spend = state.new_spend(spend["period_start"] + period)
        hours = max(now - spend["last_at"], 0.0) / 3600.0
        added = spend["rate_per_hour"] * hours
        spend["spend_usd"] += added
        spend["gpu_hours"] += spend.get("gpus_running", 0) * hours
        spend["rate_per_hour"] = billing.rate_per_hour()
        spend["gpus_running"] = billing.running_gpus
        spend["concurrent_gpus"] = billing.running_gpus
        spend["last_at"] = now
        if self._metrics is not None and added > 0:
            self._metrics.spend.labels(user=str(user_id)).inc(added)
        limit = float(body["threshold"])
        self._alert(user_id, budget_id, body, spend, limit, now)
        reached = self._reached(body, spend, limit)
        if reached and body.get("action", "alert") != "alert":
            self._act(user_id, budget_id, body, billing, market, spend, reached, now)
        state.put_spend(self._store, user_id, budget_id, spend)
        return reached is not None

    @staticmethod
    def _reached(body: dict[str, Any], spend: dict[str, Any], limit: float) -> str | None:
        if spend["spend_usd"] >= limit:
            return f"spend ${spend['spend_usd']:.4f} reached the limit ${limit:g}"
        quota = body.get("max_gpu_hours_per_month")
        if quota is not None and spend["gpu_hours"] >= quota:
            return f"{spend['gpu_hours']:.2f} GPU-hours reached the quota of {quota:g}"
        return None

    def _alert(
        self,
        user_id: int,
        budget_id: int,
        body: dict[str, Any],
        spend: dict[str, Any],
        limit: float,
        now: float,
    ) -> None:
        sent = state.alerts_of(self._store, user_id, budget_id)
        for percent in sorted(body.get("alert_percents") or []):
            if spend["spend_usd"] < limit * percent / 100.0:
                break
            row = sent.get(f"{percent:g}")
            if row is None:
                row = {
                    "event_id": event_id(budget_id, spend["period_start"], percent),
                    "state": state.PENDING,
                    "at": now,
                    "attempts": 0,
                    "data": {
                        "budget_id": budget_id,
                        "budget_name": body.get("name"),
                        "threshold_percent": percent,
                        "limit_usd": limit,
                        "spend_usd": round(spend["spend_usd"], 6),
                        "action": body.get("action", "alert"),
                        "period_start": spend["period_start"],
                    },
                }
                state.put_alert(self._store, user_id, budget_id, percent, row)
                self._events.record(
                    "budget.threshold",
                    f"budget {budget_id} ({body.get('name')}): spend "
                    f"${spend['spend_usd']:.4f} reached {percent:g} % of ${limit:g}",
                    user_id=user_id,
                    data=row["data"],
                )
            if row["state"] in (state.DELIVERED, state.NO_WEBHOOK):
                continue
            data = {**row["data"], "event_id": row["event_id"]}
            if not self._alerts.send(user_id, budget_id, body, percent, data, row["at"]):
                # Recorded in the event log (the user's webhooks get it) and nowhere else.
                state.put_alert(self._store, user_id, budget_id, percent,
                                {**row, "state": state.NO_WEBHOOK})  # fmt: skip

    def _act(
        self,
        user_id: int,
        budget_id: int,
        body: dict[str, Any],
        billing: Billing,
        market: MarketplaceClient,
        spend: dict[str, Any],
        why: str,
        now: float,
    ) -> None:
        action = body["action"]
        done: list[str] = []
        try:
            if action == "stop":
                for rental in billing.rentals:
                    if (rental.intended_status or "running") != "stopped":
                        market.stop(rental.id)
                        done.append(f"stopped contract {rental.id}")
            else:
                for rental in billing.rentals:
                    market.destroy(rental.id)
                    done.append(f"destroyed contract {rental.id}")
                for volume in billing.volumes:
                    market.delete_volume(volume.id)
                    done.append(f"deleted volume {volume.id}")
                ids = [vm.instance_id for vm in billing.vms]
                if ids:
                    self._terminate(ids)
                    done.extend(f"terminated EC2 VM {i}" for i in ids)
        except DumontError as exc:
            # Recorded and tried again next tick: what was stopped stays stopped.
            self._events.record(
                "budget.action_failed",
                f"budget {budget_id}: {action} failed, retried next tick: {exc}",
                user_id=user_id,
                data={"budget_id": budget_id, "action": action},
            )
        if spend["action_taken"] is None:
            spend["action_taken"], spend["action_taken_at"] = action, now
        since = spend["action_taken_at"]
        held = {"reason": "budget", "budget_id": budget_id, "action": action, "since": since}
        for gpu_id in sorted(set(body.get("gpu_ids") or []) | billing.markers()):
            if self._store.documents.get(user_id, GPU_HOLD, gpu_id) != held:
                state.hold(self._store, user_id, gpu_id, held)
        if done:
            self._events.record(
                "budget.action",
                f"budget {budget_id} ({body.get('name')}): {why}; {', '.join(done)}",
                user_id=user_id,
                data={"budget_id": budget_id, "action": action, "done": done},
            )


def _live_vms() -> list[TaggedVm]:
    return tagged_vms.tagged_vms() if tagged_vms.aws_configured() else []

"""``dumont-iac status``: how ready each GPU of a stack is to fail over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.config import control_plane_settings
from dumont_iac.errors import DumontError
from dumont_iac.lookups_cli import AsJson
from dumont_iac.status import BudgetSpending, GpuReadiness, read_state, readiness, spending

EXIT_ERROR = 2


def status(
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="`pulumi stack export --file FILE` output, or a test-driver state file. "
            "Without it: every GPU the control plane knows for you.",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="Control-plane URL (else dumont:apiUrl, $DUMONT_API_URL)."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", help="Control-plane API key (else dumont:apiKey, $DUMONT_API_KEY)."
        ),
    ] = None,  # fmt: skip
    as_json: AsJson = False,
) -> None:
    """Each GPU's failover readiness (contract, status, strategy, warm pool, CPU standby) and
    each budget's spend so far."""
    try:
        resources = read_state(state) if state is not None else None
        settings = control_plane_settings(
            api_url, api_key, pacing_scale=0, url_given_as="--api-url", key_given_as="--api-key"
        )
        client = ControlPlaneClient(settings=settings)
        found = readiness(client, resources)
        budgets = spending(client, resources or [])
    except DumontError as exc:
        Console(stderr=True, soft_wrap=True).print(exc.message, markup=False, highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        document = {"gpus": [g.to_dict() for g in found],
                    "budgets": [b.to_dict() for b in budgets]}  # fmt: skip
        typer.echo(json.dumps(document, indent=2))
    else:
        Console().print(_table(found))
        if budgets:
            Console().print(_budget_table(budgets))


def _table(found: list[GpuReadiness]) -> Table:
    table = Table(title="Failover readiness")
    for column in ("resource", "logical id", "contract", "status", "strategy", "warm pool",
                   "cpu standby", "last failover", "failovers 24 h"):  # fmt: skip
        table.add_column(column)
    for g in found:
        table.add_row(
            g.resource or "-",
            g.logical_id,
            "-" if g.contract_id is None else str(g.contract_id),
            g.status or "-",
            g.effective_strategy,
            g.warm_pool_state,
            g.standby_state or "none",
            _when(g.last_failover_at),
            str(g.failovers_last_24h),
        )
    if not found:
        table.caption = "no GPU"
    return table


def _budget_table(budgets: list[BudgetSpending]) -> Table:
    table = Table(title="Budgets")
    for column in ("resource", "limit / month", "spent so far", "action taken"):
        table.add_column(column)
    for b in budgets:
        table.add_row(
            b.resource,
            "-" if b.limit_usd is None else f"${b.limit_usd:,.2f}",
            "not accrued yet" if b.spend_usd is None else f"${b.spend_usd:,.2f}",
            b.action_taken or "none",
        )
    return table


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

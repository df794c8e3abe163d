"""``dumont-iac sweep``: destroy everything the library created for a label prefix (a test run,
an abandoned stack) or for every managed rental. See ``dumont_iac.sweep`` for what it touches."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from dumont_iac.clients.aws.ec2 import Ec2
from dumont_iac.clients.aws.s3 import S3Store
from dumont_iac.clients.aws.tagged_vms import aws_configured
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.config import Source, control_plane_settings
from dumont_iac.errors import DumontError
from dumont_iac.lookups_cli import AsJson
from dumont_iac.sweep import Plan, Scope, Sweeper, SweepResult

EXIT_LEFT = 1
EXIT_ERROR = 2


def sweep(
    label_prefix: Annotated[
        str | None,
        typer.Option(
            "--label-prefix",
            help="Sweep marked rentals whose own label (before ' | dumont:...') starts with this.",
        ),
    ] = None,
    all_managed: Annotated[
        bool, typer.Option("--all-managed", help="Sweep every rental carrying a dumont: marker.")
    ] = False,
    buckets: Annotated[
        bool,
        typer.Option("--buckets", help="Also delete the snapshot buckets (and their snapshots)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be destroyed; destroy nothing.")
    ] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region of the VMs and buckets.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for rentals to be gone.")
    ] = 300.0,
    as_json: AsJson = False,
) -> None:
    """Destroy marked rentals, their volumes, CPU standby VMs, control-plane registrations and
    (with --buckets) snapshot buckets. Exit 0: nothing left; 1: something left; 2: error."""
    try:
        sweeper = _sweeper(Scope(label_prefix, all_managed), buckets, region, timeout)
        if dry_run:
            plan = sweeper.plan()
            _show(plan, None, as_json)
            return
        result = sweeper.sweep()
    except DumontError as exc:
        Console(stderr=True, soft_wrap=True).print(exc.message, markup=False, highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    _show(result.planned, result, as_json)
    if result.left:
        raise typer.Exit(EXIT_LEFT)


def _sweeper(scope: Scope, buckets: bool, region: str | None, timeout: float) -> Sweeper:
    market = MarketplaceClient()
    cp_settings = control_plane_settings()
    # A control plane counts as configured when its URL was set, not the built-in default.
    control_plane = (
        ControlPlaneClient(settings=cp_settings)
        if cp_settings.url.source is not Source.DEFAULT
        else None
    )
    on_aws = aws_configured()
    return Sweeper(
        market=market,
        scope=scope,
        control_plane=control_plane,
        ec2=Ec2(region) if on_aws else None,
        s3=S3Store(region=region) if on_aws and buckets else None,
        timeout=timeout,
    )


def _show(plan: Plan, result: SweepResult | None, as_json: bool) -> None:
    items = plan.items()
    left = result.left if result else []
    if as_json:
        body = {
            "dry_run": result is None,
            "found": [vars(f) for f in items],
            "left": [{**vars(f), "reason": why} for f, why in left],
            "skipped": plan.skipped,
        }
        typer.echo(json.dumps(body, indent=2))
        return
    console = Console(soft_wrap=True, highlight=False)
    verb = "would destroy" if result is None else "destroyed"
    if not items:
        console.print("nothing to sweep", markup=False)
    for item in items:
        mark = "left" if any(f == item for f, _ in left) else verb
        console.print(f"{mark}: {item}", markup=False)
    for item, why in left:
        if item not in items:
            console.print(f"left: {item}: {why}", markup=False)
        else:
            console.print(f"  {item.kind} {item.id}: {why}", markup=False)
    for note in plan.skipped:
        console.print(f"skipped: {note}", markup=False)

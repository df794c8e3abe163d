"""``dumont-iac cost PROGRAM_DIR``: price a Pulumi program before deploying it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dumont_iac.errors import DumontError
from dumont_iac.estimate import Estimate, estimate_program
from dumont_iac.lookups_cli import ApiKey, AsJson, Url, client_from_options

EXIT_OVER_BUDGET = 1  # 0: priced, within every Budget of the program
EXIT_ERROR = 2


def cost(
    program_dir: Annotated[Path, typer.Argument(help="The Pulumi project directory.")],
    stack: Annotated[str, typer.Option(help="Its stack (Pulumi.<stack>.yaml config).")] = "dev",
    url: Url = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
    as_markdown: Annotated[
        bool, typer.Option("--markdown", metavar="", help="A Markdown table (a PR comment).")
    ] = False,
    compare_to: Annotated[
        Path | None,
        typer.Option(
            "--compare-to",
            metavar="STATE.json",
            help="A deployed state (dumont-iac's or `pulumi stack export`): show the change.",
        ),
    ] = None,
) -> None:
    """Price a program against live offers without deploying it, and hold it against every
    Budget it declares: exit 0 within every budget, 1 over one, 2 on error."""
    if as_json and as_markdown:
        raise typer.BadParameter("give --json or --markdown, not both")
    try:
        estimate = estimate_program(
            program_dir,
            stack=stack,
            market=client_from_options(url, api_key),
            compare_to=compare_to,
        )
    except DumontError as exc:
        Console(stderr=True, soft_wrap=True).print(exc.message, markup=False, highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        typer.echo(estimate.to_json())
    elif as_markdown:
        typer.echo(estimate.to_markdown(), nl=False)
    else:
        Console().print(_table(estimate))
        for budget in estimate.budgets:
            verdict = "OVER" if budget.over else "within"
            Console(soft_wrap=True).print(
                f"Budget {budget.name} (${budget.limit_usd:,.2f}/month): {verdict}",
                markup=False,
            )
            for refusal in budget.refusals:
                Console(soft_wrap=True).print(f"  {refusal}", markup=False, highlight=False)
    if estimate.over_budget:
        raise typer.Exit(EXIT_OVER_BUDGET)


def _table(estimate: Estimate) -> Table:
    table = Table(title="Cost of the program (730-hour month)")
    for column in ("resource", "kind", "expected $/h", "worst $/h", "priced"):
        table.add_column(column)
    for r in estimate.resources:
        worst = r.cost.worst_per_hour
        table.add_row(
            r.name,
            r.kind,
            "n/a" if r.cost.expected_per_hour is None else f"{r.cost.expected_per_hour:.4f}",
            "unbounded" if worst is None else f"{worst:.4f}",
            r.cost.basis,
        )
    total = estimate.to_dict()["total"]
    worst_month = total["worst_per_month"]
    table.caption = f"expected ${total['expected_per_month']:,.2f}/month; worst case " + (
        "unbounded (a GPU has no price cap)" if worst_month is None else f"${worst_month:,.2f}"
    )
    return table

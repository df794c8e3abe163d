"""The ``dumont-iac`` command: each sub-command lives in the module of the feature it drives."""

from __future__ import annotations

import typer

from dumont_iac.control_plane.cli import control_plane
from dumont_iac.demo import demo
from dumont_iac.estimate_cli import cost
from dumont_iac.hibernation_cli import wake
from dumont_iac.lookups_cli import offers, pricing, recommend
from dumont_iac.sandbox.cli import sandbox
from dumont_iac.status_cli import status
from dumont_iac.sweep_cli import sweep

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def main() -> None:
    """Rented GPUs as Pulumi code, and a local sandbox marketplace to try them on."""


app.command("demo")(demo)
app.command("sandbox")(sandbox)
app.command("offers")(offers)
app.command("pricing")(pricing)
app.command("recommend")(recommend)
app.command("cost")(cost)
app.command("status")(status)
app.command("wake")(wake)
app.command("sweep")(sweep)
app.add_typer(control_plane, name="control-plane")

if __name__ == "__main__":
    app()

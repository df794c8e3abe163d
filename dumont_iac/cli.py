"""The ``dumont-iac`` command: each sub-command lives in the module of the feature it drives."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

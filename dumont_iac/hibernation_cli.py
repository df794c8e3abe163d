"""``dumont-iac wake GPU_ID``: wake a paused or hibernated GPU through the control plane."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.errors import DumontError

EXIT_ERROR = 2

ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", help="The control plane (default: DUMONT_API_URL, dumont:apiUrl)."),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="Its key (default: DUMONT_API_KEY, dumont:apiKey).",
                 show_default=False),
]  # fmt: skip


def wake(
    gpu_id: Annotated[str, typer.Argument(help="The GPU's logical id (its resource id).")],
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    as_json: Annotated[bool, typer.Option("--json", help="The answer as JSON.")] = False,
) -> None:
    """Rent the GPU anew under its declared arguments and restore its last snapshot: the same
    logical GPU on a new contract."""
    try:
        woken = ControlPlaneClient(api_url, api_key, timeout=600).wake(gpu_id)
    except DumontError as exc:
        Console(stderr=True, soft_wrap=True).print(exc.message, markup=False, highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        typer.echo(json.dumps(woken.model_dump()))
        return
    typer.echo(
        f"GPU {woken.gpu_id} is awake on contract {woken.contract_id} (was "
        f"{woken.previous_contract_id or 'none'}); restored "
        f"{woken.snapshot_key or 'no snapshot'} ({woken.restored_files} file(s)) in "
        f"{woken.seconds:.0f} s"
    )

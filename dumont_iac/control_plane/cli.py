"""``dumont-iac control-plane``: serve the control plane; ``add-user`` creates a user and key."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from dumont_iac.control_plane.clock import RealClock
from dumont_iac.control_plane.ratelimit import DEFAULT_RATE_LIMIT, parse_rate_limit
from dumont_iac.control_plane.settings import DEFAULT_DB, ControlPlaneSettings, default_replica_id

control_plane = typer.Typer(
    name="control-plane",
    add_completion=False,
    help="The control plane: failover, standby, snapshot and budget settings, and their agents.",
)

DbOption = Annotated[
    str,
    typer.Option(
        help="A SQLite file (relative to the current directory), a sqlite:/// URL, or a "
        "postgresql://user:password@host/db URL shared by every replica.",
    ),
]


def _positive(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"expected a number > 0, got {value!r}")
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise typer.BadParameter(f"expected a port from 1 to 65535, got {value!r}")
    return value


def _key(value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        raise typer.BadParameter(f"expected a non-empty key without spaces, got {value!r}")
    return value


def _rate_limit(value: str) -> str:
    try:
        parse_rate_limit(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def bootstrap(db: str, user: str, api_key: str | None) -> tuple[str | None, bool]:
    """Make sure someone can call the API: returns (key to show, whether it was generated).

    A given key that is unknown is attached to ``user`` (created if needed), so restarting
    with the same ``--api-key`` keeps working. Without a key, a first user gets a generated one.
    """
    from dumont_iac.control_plane.store import Store

    store = Store.open(db, RealClock())
    try:
        if api_key is not None:
            if store.users.check(api_key).user_id is None:
                user_id = store.users.id_of(user)
                if user_id is None:
                    store.users.create(user, api_key)
                else:
                    store.users.add_key(user_id, api_key)
            return api_key, False
        if store.users.count() == 0:
            _, key = store.users.create(user)
            return key, True
        return None, False
    finally:
        store.close()


@control_plane.callback(invoke_without_command=True)
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(callback=_port, help="The port to listen on.")] = 8000,
    db: DbOption = DEFAULT_DB,
    api_key: Annotated[
        str | None,
        typer.Option(
            callback=_key,
            help="A key for --user, created if new. Without it, the first start generates "
            "and prints one.",
        ),
    ] = None,
    user: Annotated[str, typer.Option(help="The user --api-key belongs to.")] = "admin",
    marketplace_url: Annotated[
        str | None, typer.Option(help="The marketplace the agents act on (default: $VAST_URL).")
    ] = None,
    marketplace_key: Annotated[
        str | None, typer.Option(help="Its API key (default: $VAST_API_KEY).")
    ] = None,
    tls_cert: Annotated[str | None, typer.Option(help="Serve HTTPS with this certificate.")] = None,
    tls_key: Annotated[str | None, typer.Option(help="The certificate's private key.")] = None,
    tick_seconds: Annotated[
        float, typer.Option(callback=_positive, help="Seconds between agent ticks.")
    ] = 5.0,
    lease_seconds: Annotated[
        float,
        typer.Option(callback=_positive, help="How long a GPU lease lasts without renewal."),
    ] = 30.0,
    replica_id: Annotated[
        str | None, typer.Option(help="This replica's name in leases and events.")
    ] = None,
    agents: Annotated[bool, typer.Option(help="Run the background agents.")] = True,
    rate_limit: Annotated[
        str,
        typer.Option(
            callback=_rate_limit,
            help="Requests per user under /api/v1: N/S (N per S seconds), N/S,B (bursts of B) "
            "or off. Each client address may send 5 times as many before its key is checked.",
        ),
    ] = str(DEFAULT_RATE_LIMIT),
) -> None:
    """Serve the control plane's API (/api/v1) and run its agents until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from dumont_iac.control_plane.server import Tls, serve

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    key, generated = bootstrap(db, user, api_key)
    settings = ControlPlaneSettings(
        db=db,
        marketplace_url=marketplace_url,
        marketplace_key=marketplace_key,
        replica_id=replica_id or default_replica_id(),
        run_agents=agents,
        tick_seconds=tick_seconds,
        lease_seconds=lease_seconds,
        rate_limit=parse_rate_limit(rate_limit),
    )
    scheme = "https" if tls_cert else "http"
    url = f"{scheme}://{host}:{port}"
    typer.echo(f"Control plane on {url} (replica {settings.replica_id})")
    typer.echo("Point a client at it with:")
    typer.echo(f"  export DUMONT_API_URL={url}")
    if key is not None:
        # Printed only when generated here: keys are stored hashed, there is no other way.
        typer.echo(f"  export DUMONT_API_KEY={key if generated else '<the key you passed>'}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
    tls = Tls(tls_cert, tls_key) if tls_cert and tls_key else None
    serve(settings, host=host, port=port, tls=tls)


@control_plane.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="A unique user name.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Create a user and print its API key (shown once: only its hash is stored)."""
    from sqlalchemy.exc import IntegrityError

    from dumont_iac.control_plane.store import Store

    store = Store.open(db, RealClock())
    try:
        _, key = store.users.create(name)
    except IntegrityError:
        raise typer.BadParameter(f"a user named {name!r} already exists") from None
    finally:
        store.close()
    typer.echo(key)

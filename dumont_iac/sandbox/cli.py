"""``dumont-iac sandbox``: serve the local marketplace over HTTP until interrupted."""

from __future__ import annotations

import logging
import secrets
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from dumont_iac.sandbox.core.errors import InvalidSetting
from dumont_iac.sandbox.core.ratelimit import parse_mode
from dumont_iac.sandbox.settings import SandboxSettings

DEFAULT_DB = "dumont-sandbox.db"


def bounded(kind: type[int] | type[float], low: float, high: float):
    """A parser for a number within bounds; a bad value is named with what is allowed."""
    allowed = f"{'a whole number' if kind is int else 'a number'} from {_n(low)} to {_n(high)}"

    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise typer.BadParameter(f"expected {allowed}, got {value!r}")
        return number

    return parse


def _n(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


def _rate_limits(value: str) -> str:
    try:
        parse_mode(value)
    except InvalidSetting:
        raise typer.BadParameter(
            f"expected 'realistic', 'off' or a scale factor > 0 (e.g. 0.1), got {value!r}"
        ) from None
    return value.strip().lower()


def _api_key(value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        raise typer.BadParameter(f"expected a non-empty key without spaces, got {value!r}")
    return value


def sandbox(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(parser=bounded(int, 1, 65535), help="The marketplace's port."),
    ] = 8000,
    db: Annotated[
        str,
        typer.Option(
            help="The SQLite file holding the market, rentals, volumes and balances (relative "
            "to the current directory). Restarting on the same file, with the same --api-key, "
            "keeps all of them; ':memory:' keeps nothing.",
        ),
    ] = DEFAULT_DB,
    seed: Annotated[
        int,
        typer.Option(
            parser=bounded(int, 0, 2**31 - 1),
            help="The same seed gives the same market (for a new db).",
        ),
    ] = 0,
    machines: Annotated[
        int,
        typer.Option(
            parser=bounded(int, 1, 1_000_000), help="Machines in a new market (1 to 1,000,000)."
        ),
    ] = 400,
    api_key: Annotated[
        str | None,
        typer.Option(
            callback=_api_key,
            help="The key clients must present. Generated and printed when absent; pass it "
            "again on a restart to keep your rentals.",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            parser=bounded(float, 0.001, 1_000_000),
            help="Sandbox seconds per real second (0.001 to 1,000,000).",
        ),
    ] = 1.0,
    rate_limits: Annotated[
        str,
        typer.Option(
            callback=_rate_limits,
            help="'realistic' (the marketplace's gaps between calls), 'off', or a factor "
            "scaling every gap (0.1 = ten times shorter).",
        ),
    ] = "realistic",
    control_plane_port: Annotated[
        int,
        typer.Option(
            parser=bounded(int, 0, 65535), help="The control plane's port (0 picks a free one)."
        ),
    ] = 8001,
    aws_port: Annotated[
        int,
        typer.Option(
            parser=bounded(int, 0, 65535), help="moto's port for AWS (0 picks a free one)."
        ),
    ] = 5000,
    control_plane_db: Annotated[
        str | None,
        typer.Option(
            help="The control plane's store: a SQLite file or a PostgreSQL URL (default: beside "
            "--db).",
        ),
    ] = None,
    control_plane_key: Annotated[
        str | None,
        typer.Option(
            callback=_api_key,
            help="The control plane's key. Generated and printed when absent.",
        ),
    ] = None,
) -> None:
    """Serve the local world: a GPU marketplace (the Vast.ai REST API) on SQLite, the control
    plane pointed at it, and moto's server for AWS."""
    # uvicorn, the apps and moto load only when serving
    from dumont_iac.sandbox.core.db import SchemaError
    from dumont_iac.sandbox.ports import busy_port_sentence, remove_new_files
    from dumont_iac.sandbox.world import start_world

    busy = busy_port_sentence(
        host,
        {
            "marketplace": (port, "--port"),
            "control plane": (control_plane_port, "--control-plane-port"),
            "AWS stand-in": (aws_port, "--aws-port"),
        },
    )
    if busy is not None:
        typer.echo(f"Error: {busy}", err=True)
        raise typer.Exit(1)
    existing = False
    if db != ":memory:":
        path = Path(db).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        existing, db = path.exists(), str(path)
    generated = api_key is None
    key = api_key or secrets.token_urlsafe(24)
    settings = SandboxSettings(
        db_path=db,
        seed=seed,
        machines=machines,
        api_key=key,
        speed=speed,
        rate_limits=rate_limits,
    )
    url = f"http://{host}:{port}"
    typer.echo(f"Sandbox marketplace on {url} (db: {db}, rate limits: {rate_limits})")
    typer.echo("Point a client at it with:")
    typer.echo(f"  export VAST_URL={url}")
    # A key is printed only when generated here: the user has no other way to learn it.
    typer.echo(f"  export VAST_API_KEY={key if generated else '<the key you passed>'}")
    if generated and existing:
        # Keys are stored hashed: the rentals of an earlier start stay with that start's key.
        typer.echo(
            f"Note: {db} already holds a market; a new key was generated, so rentals made "
            "with an earlier key are not visible to it. Restart with --api-key <that key> "
            "to reach them.",
            err=True,
        )
    # Injected faults and unexpected errors are logged by the services' own loggers.
    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
    started = time.monotonic()
    cp_db = control_plane_db or _beside(db, "control-plane")
    existed = {path: Path(path).exists() for path in (db, cp_db) if path != ":memory:"}
    try:
        world, services = start_world(
            settings,
            control_plane_db=cp_db,
            control_plane_key=control_plane_key,
            host=host,
            ports=(port, control_plane_port, aws_port),
        )
    except SchemaError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # a port taken between the check and the start
        remove_new_files([db, cp_db], existed)
        typer.echo(f"Error: the local world could not start on {host}: {exc.strerror or exc}; "
                   "free the ports or choose others (--port, --control-plane-port, --aws-port).",
                   err=True)  # fmt: skip
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        return  # stopped while starting: what had started is stopped already
    try:  # a Ctrl-C at any point from here stops the services as cleanly as at the prompt
        with services:
            ready = time.monotonic() - started
            exports = world.exports()
            if control_plane_key is not None:
                exports["DUMONT_API_KEY"] = "<the key you passed>"
            for name, value in exports.items():
                if not name.startswith("VAST_"):
                    typer.echo(f"  export {name}={value}")
            if world.aws is None:
                typer.echo(
                    "No AWS stand-in: moto is not installed (pip install 'dumont-iac[sandbox]').",
                    err=True,
                )
            services_up = "marketplace, control plane" + (" and AWS" if world.aws else "")
            typer.echo(f"Ready in {ready:.1f} s ({services_up}). Ctrl-C stops them.")
            _wait_for_a_stop_signal()

    except KeyboardInterrupt:
        pass


def _beside(db: str, name: str) -> str:
    """The control plane's store next to the marketplace's (``market.db`` -> ``market-control-
    plane.db``); for an in-memory market, a file that goes with the process."""
    if db == ":memory:":
        return str(Path(tempfile.mkdtemp(prefix="dumont-sandbox-")) / f"{name}.db")
    path = Path(db)
    return str(path.with_name(f"{path.stem}-{name}{path.suffix or '.db'}"))


def _wait_for_a_stop_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass

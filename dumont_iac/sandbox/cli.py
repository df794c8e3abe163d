"""``dumont-iac sandbox``: serve the local marketplace over HTTP until interrupted."""

from __future__ import annotations

import logging
import secrets
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
        int, typer.Option(parser=bounded(int, 1, 65535), help="The port to listen on.")
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
) -> None:
    """Serve a local GPU marketplace (the Vast.ai REST API) backed by SQLite."""
    # uvicorn and the app load only when serving
    from dumont_iac.sandbox.core.db import SchemaError
    from dumont_iac.sandbox.server import serve

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
    # The key is printed only when generated here: the user has no other way to learn it.
    typer.echo(f"  export VAST_API_KEY={key if generated else '<the key you passed>'}")
    if generated and existing:
        # Keys are stored hashed: the rentals of an earlier start stay with that start's key.
        typer.echo(
            f"Note: {db} already holds a market; a new key was generated, so rentals made "
            "with an earlier key are not visible to it. Restart with --api-key <that key> "
            "to reach them.",
            err=True,
        )
    # Injected faults and unexpected errors are logged by the sandbox's own loggers.
    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
    try:
        serve(settings, host=host, port=port)
    except SchemaError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None

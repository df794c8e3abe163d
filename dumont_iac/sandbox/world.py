"""The whole local world a stack is deployed into: the marketplace stand-in, the real control
plane pointed at it, and moto's server for AWS, each on its own port of 127.0.0.1.

    with running_world(SandboxSettings(db_path="market.db"), control_plane_db="cp.db") as world:
        os.environ.update(world.exports())

The control plane runs on the sandbox's clock (a fast sandbox ticks its agents as fast) and
reaches the marketplace only over HTTP with the sandbox's key, as it would reach the real one.
moto comes with the ``sandbox`` extra (``pip install 'dumont-iac[sandbox]'``); without it the
world has no AWS and says so. ``World.restart_control_plane()`` stops the control plane and starts
it again on the same port and database, as an operator restarting the service would.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.clients.aws.session import AwsAccess
from dumont_iac.control_plane.cli import bootstrap
from dumont_iac.control_plane.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from dumont_iac.control_plane.server import (
    ControlPlaneHandle,
    ControlPlaneStillRunning,
    start_control_plane,
)
from dumont_iac.control_plane.settings import ControlPlaneSettings
from dumont_iac.sandbox.marketplace.aws import MOTO_CREDENTIALS
from dumont_iac.sandbox.server import SandboxHandle, start_sandbox
from dumont_iac.sandbox.settings import SandboxSettings

# moto's server answers any credentials; these only keep boto3 from looking for real ones.
AWS_CREDENTIALS = MOTO_CREDENTIALS
CONTROL_PLANE_USER = "sandbox"
LEASE_REAL_SECONDS = 30.0
# Real seconds a restart waits for the agents to finish the actions they are in (a failover
# under way completes under its lease rather than being cut off).
RESTART_DRAIN_SECONDS = 120.0


@dataclass
class Aws:
    """moto's server, in this process."""

    url: str
    _server: Any = field(repr=False)

    def stop(self) -> None:
        self._server.stop()


@dataclass
class World:
    marketplace: SandboxHandle
    control_plane: ControlPlaneHandle
    control_plane_key: str
    aws: Aws | None

    def exports(self) -> dict[str, str]:
        """The environment a client, a provider or the Pulumi CLI needs to use this world."""
        values = {
            "VAST_URL": self.marketplace.url,
            "VAST_API_KEY": self.marketplace.api_key,
            "DUMONT_API_URL": self.control_plane.url,
            "DUMONT_API_KEY": self.control_plane_key,
        }
        if self.aws is not None:
            values |= {"AWS_ENDPOINT_URL": self.aws.url, **AWS_CREDENTIALS}
        return values

    def restart_control_plane(self) -> ControlPlaneHandle:
        """Stop the control plane, then serve it again on the same port and database.

        The stop is graceful: the agents finish the action each is in, so two control planes
        never act on the same database at once; what was requested and not yet taken is taken
        by the new one."""
        old = self.control_plane
        if not old.stop(timeout=RESTART_DRAIN_SECONDS):
            raise ControlPlaneStillRunning(
                f"The control plane on {old.url} did not stop within {RESTART_DRAIN_SECONDS:g} s."
            )
        port = int(old.url.rsplit(":", 1)[1])
        host = old.url.split("://", 1)[1].rsplit(":", 1)[0]
        self.control_plane = start_control_plane(
            old.settings, host=host, port=port, clock=self.marketplace.clock
        )
        return self.control_plane


def start_world(
    settings: SandboxSettings,
    *,
    control_plane_db: str,
    control_plane_key: str | None = None,
    host: str = "127.0.0.1",
    ports: tuple[int, int, int] = (0, 0, 0),
    with_aws: bool = True,
    control_plane_rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
) -> tuple[World, ExitStack]:
    """Start the three services (ports 0 pick free ones); the stack stops them in reverse.
    AWS comes first, so the marketplace's fault surface can terminate its VMs.
    ``control_plane_rate_limit`` None serves the control plane's API unlimited."""
    market_port, control_plane_port, aws_port = ports
    stack = ExitStack()
    try:
        aws = _start_aws(host, aws_port) if with_aws else None
        if aws is not None:
            stack.callback(aws.stop)
            settings = dataclasses.replace(settings, aws_endpoint_url=aws.url)
        market = start_sandbox(settings, host, market_port)
        stack.callback(market.stop)
        key = _control_plane_user(control_plane_db, control_plane_key)
        control_plane = start_control_plane(
            ControlPlaneSettings(
                db=control_plane_db,
                marketplace_url=market.url,
                marketplace_key=settings.api_key,
                marketplace_pacing=_client_pacing(settings.rate_limits),
                # Leases are counted on the sandbox's clock; 30 real seconds of lease keep a
                # long failover's renewals well clear of a busy machine's scheduling delays.
                lease_seconds=LEASE_REAL_SECONDS * max(1.0, settings.speed),
                aws=_aws_access(aws),
                rate_limit=control_plane_rate_limit,
            ),
            host=host,
            port=control_plane_port,
            clock=market.clock,
        )
        world = World(market, control_plane, key, aws)
        stack.callback(lambda: world.control_plane.stop())  # the one serving, after a restart
    except BaseException:
        stack.close()
        raise
    return world, stack


@contextmanager
def running_world(settings: SandboxSettings, **kwargs: Any) -> Iterator[World]:
    world, stack = start_world(settings, **kwargs)
    with stack:
        yield world


def _aws_access(aws: Aws | None) -> AwsAccess | None:
    if aws is None:
        return None
    return AwsAccess(aws.url, AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                     AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])  # fmt: skip


def aws_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


def _control_plane_user(db: str, key: str | None) -> str:
    """The key of the sandbox's control-plane user, given or generated, attached to it."""
    wanted = key or secrets.token_urlsafe(24)
    bootstrap(db, CONTROL_PLANE_USER, wanted)
    return wanted


def _client_pacing(rate_limits: str) -> float:
    """How the control plane paces itself against this sandbox's limits."""
    mode = rate_limits.strip().lower()
    if mode == "off":
        return 0.0
    return 1.0 if mode == "realistic" else float(mode)


def _start_aws(host: str, port: int) -> Aws | None:
    if not aws_available():
        return None
    from moto.server import ThreadedMotoServer

    # One access-log line per AWS call would drown the services' own log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return Aws(f"http://{bound_host}:{bound_port}", server)

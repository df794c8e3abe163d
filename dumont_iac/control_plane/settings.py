"""How a control plane is started: one immutable value shared by the CLI, the app and tests."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from dumont_iac.clients.aws.session import AwsAccess
from dumont_iac.control_plane.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from dumont_iac.control_plane.webhooks import DEFAULT_POLICY, DeliveryPolicy

DEFAULT_DB = "dumont-control-plane.db"


def default_replica_id() -> str:
    """Names this process in leases and events: unique per host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ControlPlaneSettings:
    # A SQLAlchemy URL or a SQLite file path ("sqlite:///x.db", "postgresql://...", "cp.db").
    db: str = DEFAULT_DB
    # The marketplace the agents act on; None resolves VAST_URL / VAST_API_KEY as the library's
    # clients do.
    marketplace_url: str | None = None
    marketplace_key: str | None = None
    # Client-side pacing of marketplace calls (1 = the marketplace's documented gaps).
    marketplace_pacing: float | None = None
    replica_id: str = field(default_factory=default_replica_id)
    run_agents: bool = True
    # Seconds of the control plane's clock between two agent ticks.
    tick_seconds: float = 5.0
    # How long a GPU lease lasts without renewal; a dead replica's lease frees after this long.
    lease_seconds: float = 30.0
    # Marketplace calls of one action give up after this long (real seconds).
    marketplace_timeout: float = 30.0
    # Requests per verified user under /api/v1 (and ratelimit.ADDRESS_FACTOR times as many per
    # client address before the key check); None: no limit.
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT
    # How webhook deliveries are retried (attempts, backoff, per-attempt timeout).
    webhook_delivery: DeliveryPolicy = DEFAULT_POLICY
    # AWS for the agents (standby VMs, snapshot buckets, EC2 spend); None: boto3's own chain
    # (environment, profile, instance role), as a self-hosted control plane uses it.
    aws: AwsAccess | None = None

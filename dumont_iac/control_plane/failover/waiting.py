"""Bounded waits on the control plane's clock (the sandbox's, when it runs faster)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from dumont_iac.control_plane.failover.context import GpuContext

T = TypeVar("T")
# Real seconds between two polls: short, because a fast sandbox clock moves a minute a second.
POLL_SECONDS = 0.1


def until(ctx: GpuContext, seconds: float, probe: Callable[[], T | None]) -> T | None:
    """``probe()`` until it answers something, or ``seconds`` of control-plane time pass."""
    deadline = ctx.now() + seconds
    while True:
        found = probe()
        if found is not None or ctx.now() >= deadline:
            return found
        time.sleep(POLL_SECONDS)

"""One waiter for every provider: poll a condition until it holds or a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable

from dumont_iac.config import resolve_pacing_scale

POLL_SECONDS = 2.0  # the marketplace's gap for "show instance"


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Call ``condition`` until it returns True; raise TimeoutError naming ``what``.

    Exceptions from ``condition`` propagate at once: a terminal state should fail fast rather
    than wait out the deadline. The poll interval follows the pacing scale, so a scaled-down
    sandbox is polled proportionally faster.
    """
    interval = max(POLL_SECONDS * resolve_pacing_scale(), 0.05)
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up waiting after {timeout:g} s for {what}")
        time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))

"""Logging of a provider process: one line per API call and per decision, on stderr.

The engine keeps a provider's stderr (``pulumi up -v`` and the logs show it); stdout belongs to
the gRPC handshake. ``DUMONT_LOG_LEVEL`` chooses the level (default INFO; ``WARNING`` quietens
it). Nothing logged carries a key: the HTTP layer logs method, path, status and latency only.
"""

from __future__ import annotations

import logging
import os
import sys

LEVEL_ENV = "DUMONT_LOG_LEVEL"
_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
_installed: list[logging.Handler] = []


def log_to_stderr() -> None:
    """Send the ``dumont_iac`` loggers to stderr, once per process."""
    if _installed:
        return
    level = os.environ.get(LEVEL_ENV, "INFO").strip().upper() or "INFO"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger("dumont_iac")
    logger.addHandler(handler)
    logger.setLevel(level if level in logging.getLevelNamesMapping() else logging.INFO)
    _installed.append(handler)

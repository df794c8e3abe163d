"""Whether the ports the local world is to serve on are free, checked before anything starts,
so a busy port costs one sentence and leaves no file behind."""

from __future__ import annotations

import errno
import socket
from pathlib import Path


def busy_port_sentence(host: str, ports: dict[str, tuple[int, str]]) -> str | None:
    """The sentence for the first service whose port cannot be bound, or None when all can.

    ``ports`` maps a service ("marketplace") to its port and the option choosing it; port 0
    picks a free one and is never busy."""
    seen: dict[int, str] = {}
    for service, (port, option) in ports.items():
        if port == 0:
            continue
        if port in seen:
            return (
                f"Port {port} is given to both the {seen[port]} and the {service}: choose "
                f"another {option} (0 picks a free one)."
            )
        seen[port] = service
        reason = _cannot_bind(host, port)
        if reason is not None:
            return (
                f"The {service}'s port {host}:{port} is {reason}: stop what holds it or choose "
                f"another {option}" + (" (0 picks a free one)." if option != "--port" else ".")
            )
    return None


def _cannot_bind(host: str, port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers bind: a port left in TIME_WAIT by an earlier run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "already in use"
            if exc.errno == errno.EACCES:
                return "not open to this user (ports below 1024 need privileges)"
            return f"not available ({exc.strerror or exc})"
    return None


def remove_new_files(paths: list[str], existed: dict[str, bool]) -> None:
    """Remove the database files a failed start created (and SQLite's side files)."""
    for path in paths:
        if path == ":memory:" or "://" in path or existed.get(path, True):
            continue
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)

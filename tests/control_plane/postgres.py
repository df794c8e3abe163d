"""A throwaway PostgreSQL server from the machine's own packages, as pytest-postgresql starts one.

``PostgresServer.start()`` runs ``initdb`` into a temporary directory and starts ``postgres`` on
127.0.0.1 on a free port, with fsync off (test data need not survive a crash). Under root both
run as the ``postgres`` user through ``runuser``, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BIN_DIRS = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (15, 16, 17, 14)]
OS_USER = "postgres"


def find_binaries() -> tuple[Path | None, str]:
    """The directory holding initdb, pg_ctl and postgres, or None and the reason."""
    for directory in BIN_DIRS:
        if directory.is_dir():
            for name in ("initdb", "pg_ctl", "postgres"):
                if not (directory / name).exists():
                    return None, f"PostgreSQL binary {directory / name} is missing"
            return directory, ""
    return None, f"PostgreSQL binary {BIN_DIRS[0] / 'initdb'} is missing (no PostgreSQL 15)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="dumont-pg-"))
        server = cls(bin_dir, root, free_port())
        if os.geteuid() == 0:
            entry = pwd.getpwnam(OS_USER)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        try:
            server._run(
                "initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync", "--locale=C",
            )  # fmt: skip
            options = (
                f"-h 127.0.0.1 -p {server.port} -k {root} -F "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            server._run(
                "pg_ctl", "-D", str(server.data), "-l", str(root / "log"), "-o", options,
                "-w", "-t", "60", "start",
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, binary: str, *args: str) -> None:
        command = [str(self.bin_dir / binary), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{binary} failed ({done.returncode}): {done.stderr.strip()} {tail}".strip()
            )

"""Control-plane replicas as real processes (``python -m dumont_iac.control_plane``) on 127.0.0.1.

Each writes its output to a file (a pipe nobody reads could fill and block it) and is stopped,
or killed, and waited for, so no process or file outlives the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from .postgres import free_port

START_SECONDS = 60.0


class Replica:
    def __init__(
        self, name: str, db: str, sandbox: Any | None, log_dir: Path, **options: Any
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable, "-m", "dumont_iac.control_plane",
            "--host", "127.0.0.1", "--port", str(self.port), "--db", db,
            "--replica-id", name,
        ]  # fmt: skip
        if sandbox is not None:
            args += ["--marketplace-url", sandbox.url, "--marketplace-key", sandbox.api_key]
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}"] + ([] if value is True else [str(value)])
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        # No client-side pacing: the sandbox's rate limits are off in tests.
        env = {**os.environ, "DUMONT_PACING_SCALE": "0", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: {self.log_path.read_text()[-2000:]}")

    def agent_ticks(self) -> int:
        body = httpx.get(self.url + "/health/agents", timeout=5).json()
        return next(a["ticks"] for a in body["agents"] if a["name"] == "standby_manager")

    def kill(self) -> None:
        """SIGKILL: no cleanup runs, the lease is left behind to expire."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

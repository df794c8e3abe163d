"""``dumont-iac sandbox``: option checking, the printed set-up, and a real server process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from dumont_iac.cli import app


def _plain(text: str) -> str:
    """Typer's boxed error text as one line: no box drawing, no colour, single spaces."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"[│╭╮╰╯─]", " ", text)
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("args", "option", "detail"),
    [
        (["--rate-limits", "fast"], "--rate-limits", "got 'fast'"),
        (["--rate-limits", "-2"], "--rate-limits", "got '-2'"),
        (["--speed", "0"], "--speed", "expected a number from 0.001 to 1,000,000, got '0'"),
        (["--speed", "quick"], "--speed", "got 'quick'"),
        (["--port", "70000"], "--port", "expected a whole number from 1 to 65,535, got '70000'"),
        (["--port", "0"], "--port", "got '0'"),
        (["--machines", "0"], "--machines", "expected a whole number from 1 to 1,000,000, got '0'"),
        (["--seed", "-1"], "--seed", "got '-1'"),
        (["--api-key", "has space"], "--api-key", "without spaces, got 'has space'"),
    ],
)
def test_a_bad_option_is_refused_naming_it(args, option, detail):
    result = CliRunner().invoke(app, ["sandbox", *args])
    assert result.exit_code == 2
    message = _plain(result.output)
    assert f"Invalid value for '{option}'" in message, message
    assert detail in message, message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(db: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    command = [
        sys.executable, "-m", "dumont_iac.cli", "sandbox", "--port", str(port), "--db", str(db),
        "--machines", "300", "--rate-limits", "off", "--control-plane-port", "0",
        "--aws-port", "0", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    return process, port


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return out, err


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the sandbox did not answer /health")


@pytest.mark.slow
def test_the_command_serves_prints_a_generated_key_and_keeps_its_file(tmp_path):
    db = tmp_path / "nested" / "market.db"
    process, port = _start(db)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        with httpx.Client(base_url=url) as http:
            offer = http.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"][0]
            out_so_far = process.stdout.readline() + process.stdout.readline()
            out_so_far += process.stdout.readline() + process.stdout.readline()
            key = re.search(r"export VAST_API_KEY=(\S+)", out_so_far).group(1)
            rented = http.put(
                f"/api/v0/asks/{offer['id']}/",
                json={"image": "ubuntu", "label": "kept"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert rented.status_code == 200, rented.text
    finally:
        out, err = _stop(process)
    assert process.returncode == 0, err
    assert f"export VAST_URL={url}" in out_so_far
    assert len(key) >= 24
    assert db.exists()

    # Restarted on the same file with that key: the rental is still there.
    process, port = _start(db, "--api-key", key)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        listed = httpx.get(
            f"{url}/api/v0/instances/", headers={"Authorization": f"Bearer {key}"}
        ).json()["instances"]
    finally:
        out, err = _stop(process)
    assert [row["label"] for row in listed] == ["kept"]
    assert key not in out and key not in err  # a key given on the command line is not echoed

    # Restarted without a key: a new one is generated, and the user is told where theirs went.
    process, port = _start(db)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        out, err = _stop(process)
    assert "export VAST_API_KEY=" in out and key not in out
    assert "already holds a market" in _plain(err)


@pytest.mark.slow
def test_the_command_starts_the_whole_world_and_prints_every_export(tmp_path):
    process, port = _start(tmp_path / "market.db")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
        lines = []
        while not lines or not lines[-1].startswith("Ready in"):
            lines.append(process.stdout.readline().strip())
            assert len(lines) < 30, lines
    finally:
        _stop(process)
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
    )
    assert set(exports) == {
        "VAST_URL", "VAST_API_KEY", "DUMONT_API_URL", "DUMONT_API_KEY", "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
    }  # fmt: skip
    assert "(marketplace, control plane and AWS)" in lines[-1]
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("option", "service"),
    [
        ("--port", "marketplace"),
        ("--control-plane-port", "control plane"),
        ("--aws-port", "AWS stand-in"),
    ],
)
def test_a_busy_port_is_one_sentence_before_any_banner_and_leaves_no_file(
    tmp_path, option, service
):
    db = tmp_path / "market.db"
    ports = {"--port": _free_port(), "--control-plane-port": "0", "--aws-port": "0"}
    with socket.socket() as holder:  # something else already serves on the port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        ports[option] = busy
        command = [sys.executable, "-m", "dumont_iac.cli", "sandbox", "--db", str(db),
                   "--machines", "300", "--rate-limits", "off"]  # fmt: skip
        for name, value in ports.items():
            command += [name, str(value)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done
    assert done.stdout == ""  # not one banner line
    assert done.stderr.strip().splitlines() == [
        f"Error: The {service}'s port 127.0.0.1:{busy} is already in use: stop what holds it "
        f"or choose another {option}" + (" (0 picks a free one)." if option != "--port" else ".")
    ]
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # neither the market's nor the control plane's db


def test_one_port_given_to_two_services_is_refused_before_starting(tmp_path):
    port = str(_free_port())
    result = CliRunner().invoke(
        app,
        ["sandbox", "--db", str(tmp_path / "m.db"), "--port", port, "--aws-port", port],
    )
    assert result.exit_code == 1
    assert f"Port {port} is given to both the marketplace and the AWS stand-in" in result.output
    assert list(tmp_path.iterdir()) == []

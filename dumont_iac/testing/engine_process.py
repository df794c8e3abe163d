"""The real dynamic provider server (``python -m pulumi.dynamic``) in its own process, driven
over gRPC the way the Pulumi engine drives it.

``ProviderProcess`` speaks the engine's side of the provider protocol: property maps are
serialized with the SDK's own ``rpc.serialize_properties``, secret markers are stripped before
sending (the dynamic server answers Configure with ``acceptSecrets=False``), and every call has a
deadline. Failures raise ``ProviderOperationError`` carrying the provider's own message, its
traceback and the tail of the process's stderr.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import selectors
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

import dumont_iac
from dumont_iac.errors import ProviderOperationError

PROVIDER_KEY = "__provider"
UNKNOWN = rpc.UNKNOWN
"""How an unknown value (preview) appears in the plain data this module returns."""
_PACKAGE_ROOT = str(Path(dumont_iac.__file__).resolve().parent.parent)
_LIVE: weakref.WeakSet[ProviderProcess] = weakref.WeakSet()


@atexit.register
def _stop_live_processes() -> None:
    """A test run that ends abruptly must not leave provider servers waiting forever."""
    for process in list(_LIVE):
        process.stop()


@dataclass
class CheckOutcome:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class DiffOutcome:
    changes: bool | None
    """True or False, or None when the provider did not say (DIFF_UNKNOWN)."""
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass
class ReadOutcome:
    id: str
    """Empty when the resource is gone."""
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


class ProviderProcess:
    """One ``python -m pulumi.dynamic`` server process and a gRPC client for it.

    ``cwd`` is the program directory (the engine starts providers there); it comes first on the
    child's ``PYTHONPATH``, followed by ``pythonpath`` and the directory holding ``dumont_iac``.
    ``env`` is added to the inherited environment.
    """

    def __init__(
        self,
        *,
        cwd: str | os.PathLike[str] | None = None,
        pythonpath: Sequence[str | os.PathLike[str]] = (),
        env: Mapping[str, str] | None = None,
        project: str = "project",
        python: str | None = None,
        call_timeout: float = 120.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.cwd = str(Path(cwd or os.getcwd()).resolve())
        self.pythonpath = [str(p) for p in pythonpath]
        self.env = dict(env or {})
        self.project = project
        self.python = python or sys.executable
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.startup_seconds: float | None = None
        """Seconds from spawn until the server printed its port."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._stderr_text = ""
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None

    # --- process ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ProviderProcess:
        if self._proc is not None:
            return self
        env = {**os.environ, **self.env, "PULUMI_PROJECT": self.project}
        paths = [self.cwd, *self.pythonpath, _PACKAGE_ROOT]
        if os.environ.get("PYTHONPATH"):
            paths.append(os.environ["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        self._stderr = tempfile.TemporaryFile()
        started = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                [self.python, "-u", "-m", "pulumi.dynamic", "127.0.0.1:1"],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except BaseException:
            self.stop()
            raise
        _LIVE.add(self)
        try:
            self.port = self._read_port()
            self.startup_seconds = time.perf_counter() - started
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            try:
                grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
            except grpc.FutureTimeoutError:
                raise self._error("start", "", f"port {self.port} not ready in time") from None
            self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._error("start", "", f"no port within {self.start_timeout:.0f}s")
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 1024)
                if not chunk:
                    self._proc.wait(timeout=5)
                    raise self._error(
                        "start",
                        "",
                        f"the provider process exited with code {self._proc.returncode}",
                    )
                buffer += chunk
        try:
            return int(buffer.split(b"\n", 1)[0])
        except ValueError:
            raise self._error("start", "", f"unexpected first line {buffer[:80]!r}") from None

    def stop(self) -> None:
        """Stop the server (terminate, then kill) and release every handle; safe to repeat."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stub = None
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        self._stderr_text = self.stderr_text()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def kill(self) -> None:
        """Kill the server abruptly, as a crash would (for fault tests)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)

    def stderr_text(self) -> str:
        """Everything the provider process wrote to stderr so far."""
        if self._stderr is None:
            return self._stderr_text
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def __enter__(self) -> ProviderProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the provider protocol ----------------------------------------------------------

    def configure(self, config: Mapping[str, Any], secret_keys: Sequence[str] = ()) -> None:
        """Send the stack config (keys ``namespace:key``), as the engine does before any call."""
        args = {k: (rpc.wrap_rpc_secret(v) if k in secret_keys else v) for k, v in config.items()}
        request = provider_pb2.ConfigureRequest(
            args=_to_struct(args, strip=False),
            # The engine's legacy form of the same config: "namespace:config:key".
            variables={_variable(k): str(v) for k, v in config.items()},
            acceptSecrets=True,
            acceptResources=True,
        )
        self._call("Configure", "", request)

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckOutcome:
        request = provider_pb2.CheckRequest(
            urn=urn,
            olds=_to_struct(olds),
            news=_to_struct(news),
            type=_type_of(urn),
            name=_name_of(urn),
        )
        response = self._call("Check", urn, request)
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckOutcome(_from_struct(response.inputs), failures)

    def diff(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> DiffOutcome:
        request = provider_pb2.DiffRequest(
            id=id_,
            urn=urn,
            olds=_to_struct(olds),
            news=_to_struct(news),
            old_inputs=_to_struct(old_inputs or {}),
            type=_type_of(urn),
            name=_name_of(urn),
        )
        response = self._call("Diff", urn, request)
        changes = {
            provider_pb2.DiffResponse.DIFF_SOME: True,
            provider_pb2.DiffResponse.DIFF_NONE: False,
        }.get(response.changes)
        return DiffOutcome(changes, list(response.replaces), bool(response.deleteBeforeReplace))

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn,
            properties=_to_struct(props),
            timeout=self.call_timeout,
            type=_type_of(urn),
            name=_name_of(urn),
        )
        response = self._call("Create", urn, request)
        return response.id, _from_struct(response.properties)

    def read(
        self,
        urn: str,
        id_: str,
        props: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
    ) -> ReadOutcome:
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=urn,
            properties=_to_struct(props),
            inputs=_to_struct(inputs or {}),
            type=_type_of(urn),
            name=_name_of(urn),
        )
        response = self._call("Read", urn, request)
        new_inputs = _from_struct(response.inputs) if response.HasField("inputs") else None
        return ReadOutcome(response.id, _from_struct(response.properties), new_inputs)

    def update(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn,
            olds=_to_struct(olds),
            news=_to_struct(news),
            old_inputs=_to_struct(old_inputs or {}),
            timeout=self.call_timeout,
            type=_type_of(urn),
            name=_name_of(urn),
        )
        return _from_struct(self._call("Update", urn, request).properties)

    def delete(
        self,
        urn: str,
        id_: str,
        props: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_,
            urn=urn,
            properties=_to_struct(props),
            old_inputs=_to_struct(old_inputs or {}),
            timeout=self.call_timeout,
            type=_type_of(urn),
            name=_name_of(urn),
        )
        self._call("Delete", urn, request)

    def _call(self, method: str, urn: str, request: Any) -> Any:
        if self._stub is None:
            raise self._error(method, urn, "the provider process is not running; start() it")
        try:
            return getattr(self._stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:
            raise self._rpc_error(method, urn, exc) from None

    def _rpc_error(self, method: str, urn: str, exc: grpc.RpcError) -> ProviderOperationError:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        details = (exc.details() if isinstance(exc, grpc.Call) else str(exc)) or ""
        if self._exited(settle=code == grpc.StatusCode.UNAVAILABLE):
            assert self._proc is not None
            message = f"the provider process exited with code {self._proc.returncode}"
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            message = f"no answer within {self.call_timeout:g}s"
        elif code == grpc.StatusCode.UNKNOWN:
            message = exception_text(details)
        else:
            message = f"{code.name if code else 'error'}: {details}"
        return self._error(method, urn, message, traceback=details, code=code.name if code else "")

    def _exited(self, settle: bool) -> bool:
        """Whether the server process has ended. ``settle`` waits a moment for an ending one:
        a dying server drops its connections before the OS reports its exit, and ``poll`` from
        this thread answers None while another thread is reaping it."""
        proc = self._proc
        if proc is None:
            return False
        try:
            proc.wait(timeout=2.0 if settle else 0)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _error(
        self, operation: str, urn: str, message: str, **kwargs: Any
    ) -> ProviderOperationError:
        return ProviderOperationError(operation, urn, message, stderr=self.stderr_text(), **kwargs)


def exception_text(traceback_text: str) -> str:
    """The exception line(s) at the end of a Python traceback, without the module path."""
    lines = traceback_text.rstrip().splitlines()
    start = 0
    for i, line in enumerate(lines):
        if line.startswith(" ") or line.startswith("Traceback"):
            start = i + 1
    text = "\n".join(lines[start:]).strip() or traceback_text.strip()
    head, sep, rest = text.partition(": ")
    if sep and " " not in head and "." in head:
        text = f"{head.rsplit('.', 1)[-1]}: {rest}"
    return text


def strip_secrets(value: Any) -> Any:
    """Remove secret markers recursively, as the engine does for a provider refusing secrets."""
    if rpc.is_rpc_secret(value):
        return strip_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_secrets(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """Deserialized wire values as plain JSON-able data (unknowns become ``UNKNOWN``)."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def serialize(props: Mapping[str, Any]) -> Any:
    """``rpc.serialize_properties`` run to completion in a private event loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _to_struct(props: Mapping[str, Any], strip: bool = True) -> Any:
    return serialize(strip_secrets(props) if strip else props)


def _from_struct(struct: Any) -> dict[str, Any]:
    return plain(rpc.deserialize_properties(struct, keep_unknowns=True))


def _variable(key: str) -> str:
    namespace, _, name = key.partition(":")
    return f"{namespace}:config:{name}" if name else key


def _type_of(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) >= 4 else ""


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn.count("::") >= 3 else ""

"""Deploy a Pulumi program without the Pulumi CLI: up, preview, refresh and destroy, with the real
dynamic providers running in a real ``python -m pulumi.dynamic`` process over gRPC.

    deployment = Deployment(program, project="quickstart", stack="dev",
                            config={"dumont:apiUrl": url}, secret_config={"dumont:apiKey": key})
    first = deployment.up()          # first.created == [urn, ...], first.outputs == {...}
    again = deployment.up()          # again.changed is False
    deployment.refresh(); deployment.destroy()

The program runs in this process under the SDK's mock runtime (as ``pulumi.runtime.test``
does), but every dynamic resource it registers is routed to the provider process through the
same Check / Diff / Create / Update / Read / Delete calls the engine makes, with the state kept
between runs in ``deployment.state`` (and in ``state_file`` when given). Each run starts its own
provider process, as each ``pulumi up`` does, and stops it at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi.runtime import config as pulumi_config
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockEngine, Mocks
from pulumi.runtime.proto import engine_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from dumont_iac.errors import DeploymentError, ProjectError
from dumont_iac.testing.engine_monitor import EngineMonitor
from dumont_iac.testing.engine_process import ProviderProcess
from dumont_iac.testing.engine_state import StackState
from dumont_iac.testing.engine_steps import DeploymentResult, Steps
from dumont_iac.testing.project import (
    SECURE_PLACEHOLDER,
    config_text,
    load_project,
)

_log = logging.getLogger("dumont_iac.testing.program")


class Deployment:
    """One stack of one program, deployed through the engine protocol.

    ``program`` is a function (run as a Pulumi program) or the path of a Pulumi project
    directory, whose ``Pulumi.yaml`` names the project and whose ``Pulumi.<stack>.yaml``
    supplies config. ``config`` keys without a namespace get the project's. ``secret_config``
    values reach the program as secrets. ``env`` is added to the provider process environment.
    """

    def __init__(
        self,
        program: Callable[[], Any] | str | os.PathLike[str],
        *,
        project: str | None = None,
        stack: str = "dev",
        config: Mapping[str, Any] | None = None,
        secret_config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        pythonpath: Sequence[str | os.PathLike[str]] = (),
        mocks: Mocks | None = None,
        call_timeout: float = 120.0,
        parallel: int = 4,
    ) -> None:
        file_config: dict[str, str] = {}
        if callable(program):
            self._program = program
            self.project = project or "project"
            self.cwd = Path(cwd or os.getcwd()).resolve()
        else:
            loaded = load_project(program)
            self._program = loaded.program()
            self.project = project or loaded.name
            self.cwd = Path(cwd or loaded.directory).resolve()
            file_config = loaded.stack_config(stack)
        self.stack = stack
        self.config = {**file_config, **self._qualified(config or {})}
        secrets = self._qualified(secret_config or {})
        self.config.update(secrets)
        self.secret_keys = sorted(secrets)
        encrypted = sorted(k for k, v in self.config.items() if v == SECURE_PLACEHOLDER)
        if encrypted:
            raise ProjectError(
                f"Pulumi.{stack}.yaml holds encrypted values the driver cannot read: "
                f"{', '.join(encrypted)}; pass them as secret_config={{...}}"
            )
        self.env = dict(env or {})
        self.pythonpath = [str(p) for p in pythonpath]
        self.mocks = mocks
        self.call_timeout = call_timeout
        self.parallel = parallel
        self.state_file = Path(state_file) if state_file is not None else None
        if self.state_file is not None and self.state_file.exists():
            self._state = StackState.load(self.state_file)
        else:
            self._state = StackState(project=self.project, stack=stack)
        self.provider: ProviderProcess | None = None
        """The provider process of the run in progress (None between runs)."""
        self.provider_logs: list[str] = []
        """The stderr of each run's provider process, oldest first."""

    @property
    def state(self) -> StackState:
        return self._state

    # --- operations ---------------------------------------------------------------------------

    def up(self) -> DeploymentResult:
        """Run the program and bring the stack to what it declares."""
        return self._deploy("up", preview=False)

    def preview(self) -> DeploymentResult:
        """Run the program and report what ``up`` would do; the state is left as it is."""
        return self._deploy("preview", preview=True)

    def refresh(self) -> DeploymentResult:
        """Read every resource back: gone ones are ``deleted``, drifted ones ``updated``."""
        with self._session() as provider:
            steps = Steps("refresh", self._state, provider, persist=self._persist)
            self._guard(steps, steps.refresh)
        steps.result.outputs = dict(self._state.outputs)
        steps.result.secret_outputs = list(self._state.secret_outputs)
        return steps.result

    def destroy(self) -> DeploymentResult:
        """Delete every resource, dependents first, then the most recently created."""
        with self._session() as provider:
            steps = Steps("destroy", self._state, provider, persist=self._persist)
            self._guard(steps, steps.destroy)
        self._state.outputs, self._state.secret_outputs = {}, []
        self._persist(self._state)
        return steps.result

    def close(self) -> None:
        """Stop a provider process left running (only after an interrupted run)."""
        if self.provider is not None:
            self.provider.stop()
            self.provider = None

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------

    def _deploy(self, operation: str, *, preview: bool) -> DeploymentResult:
        state = self._state.model_copy(deep=True) if preview else self._state
        persist = (lambda _state: None) if preview else self._persist
        with self._session() as provider:
            steps = Steps(
                operation, state, provider, preview=preview, persist=persist, parallel=self.parallel
            )
            monitor = EngineMonitor(steps.register, self.mocks)
            failure = self._run_program(monitor, preview, steps.result.warnings)
            errors = list(monitor.errors) or ([failure] if failure is not None else [])
            if errors:
                raise DeploymentError(operation, errors, steps.result) from errors[0]
            self._guard(steps, steps.delete_unregistered)
        steps.result.outputs = monitor.stack_outputs
        steps.result.secret_outputs = monitor.secret_stack_outputs
        if not preview:
            state.outputs = monitor.stack_outputs
            state.secret_outputs = monitor.secret_stack_outputs
            self._persist(state)
        return steps.result

    @staticmethod
    def _guard(steps: Steps, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            raise DeploymentError(steps.result.operation, [exc], steps.result) from exc

    def _run_program(
        self, monitor: EngineMonitor, preview: bool, warnings: list[str]
    ) -> BaseException | None:
        """Run the program in a fresh thread, so that its Pulumi settings, config and event loop
        are its own and the caller's (perhaps running) event loop is never touched."""
        outcome: list[BaseException | None] = [None]

        def target() -> None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(functools.partial(_quiet_about_reported, monitor.errors))
            asyncio.set_event_loop(loop)
            try:
                pulumi_settings.configure(
                    pulumi_settings.Settings(
                        project=self.project,
                        stack=self.stack,
                        monitor=monitor,
                        engine=_Engine(_log, warnings),
                        dry_run=preview,
                        organization="organization",
                        root_directory=str(self.cwd),
                    )
                )
                pulumi_settings.ROOT.set(None)
                pulumi_config.set_all_config(dict(self.config), list(self.secret_keys))
                # As pulumi.runtime.test: run_pulumi_func (inside run_in_stack) waits for every
                # registration; run_in_stack also registers the stack's exported outputs.
                _sync_await(run_in_stack(self._program))
            except BaseException as exc:  # handed to the calling thread
                outcome[0] = exc
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
                asyncio.set_event_loop(None)
                loop.close()

        thread = threading.Thread(target=target, name=f"pulumi-program-{self.stack}")
        thread.start()
        thread.join()
        return outcome[0]

    @contextlib.contextmanager
    def _session(self) -> Iterator[Callable[[], ProviderProcess]]:
        """Yield a getter that starts (once, on first use) and configures the provider process."""
        lock = threading.Lock()
        started: list[ProviderProcess] = []

        def provider() -> ProviderProcess:
            with lock:
                if not started:
                    process = ProviderProcess(
                        cwd=self.cwd,
                        pythonpath=self.pythonpath,
                        env=self.env,
                        project=self.project,
                        call_timeout=self.call_timeout,
                    )
                    started.append(process)
                    process.start()
                    process.configure(self.config, self.secret_keys)
                    self.provider = process
                return started[0]

        try:
            yield provider
        finally:
            for process in started:
                process.stop()
                self.provider_logs.append(process.stderr_text())
            self.provider = None

    def _persist(self, state: StackState) -> None:
        if self.state_file is not None:
            state.save(self.state_file)

    def _qualified(self, config: Mapping[str, Any]) -> dict[str, str]:
        return {
            (key if ":" in key else f"{self.project}:{key}"): config_text(value)
            for key, value in config.items()
        }


def _quiet_about_reported(
    reported: list[BaseException], loop: asyncio.AbstractEventLoop, context: dict
) -> None:
    """A failed registration leaves every Output depending on it holding the exception; that
    failure is raised as DeploymentError already, so asyncio need not log it once per Output."""
    if any(context.get("exception") is error for error in reported):
        return
    loop.default_exception_handler(context)


class _Engine(MockEngine):
    """The engine's log service: messages go to the ``dumont_iac.testing.program`` logger, and
    warnings are kept for the run's result."""

    def __init__(self, logger: logging.Logger, warnings: list[str]) -> None:
        super().__init__(logger)
        self.warnings = warnings

    def Log(self, request: Any) -> None:  # noqa: N802 - the engine's gRPC method name
        if request.severity == engine_pb2.WARNING:
            self.warnings.append(request.message)
        super().Log(request)

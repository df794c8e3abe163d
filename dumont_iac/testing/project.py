"""A Pulumi project directory (``Pulumi.yaml``, ``__main__.py``, ``Pulumi.<stack>.yaml``) turned
into a program function and its stack config, for the engine-protocol driver."""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dumont_iac.errors import ProjectError


@dataclass(frozen=True)
class Project:
    name: str
    directory: Path
    main: Path

    def program(self) -> Callable[[], None]:
        """A function running ``__main__.py`` as the Pulumi language host does: cwd is the
        project directory, which also comes first on ``sys.path``. Modules imported from the
        directory are forgotten afterwards, so every run reads the files afresh."""
        return lambda: _run_main(self.directory, self.main)

    def stack_config(self, stack: str) -> dict[str, str]:
        """The plain values of ``Pulumi.<stack>.yaml``; encrypted (``secure:``) values cannot be
        read without the CLI, so each must be given to the driver instead."""
        path = self.directory / f"Pulumi.{stack}.yaml"
        if not path.exists():
            return {}
        document = _load_yaml(path)
        config = document.get("config") or {}
        if not isinstance(config, dict):
            raise ProjectError(f"{path}: 'config' must be a mapping, got {type(config).__name__}")
        values: dict[str, str] = {}
        for key, value in config.items():
            key = key if ":" in key else f"{self.name}:{key}"
            if isinstance(value, dict) and "secure" in value:
                values[key] = SECURE_PLACEHOLDER
            else:
                values[key] = config_text(value)
        return values


SECURE_PLACEHOLDER = "<secure value: give it to the driver as secret_config>"


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read ``Pulumi.yaml`` in ``path`` (the project name and its ``main``)."""
    directory = Path(path).resolve()
    manifest = directory / "Pulumi.yaml"
    if not manifest.exists():
        raise ProjectError(f"{directory} is not a Pulumi project: it has no Pulumi.yaml")
    document = _load_yaml(manifest)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(f"{manifest}: 'name' is required and must be a string")
    main = directory / str(document.get("main") or ".")
    if main.is_dir():
        main = main / "__main__.py"
    if not main.exists():
        raise ProjectError(f"{manifest}: the program {main} does not exist")
    return Project(name, directory, main)


def config_text(value: Any) -> str:
    """A config value as Pulumi stores it: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ProjectError(f"{path}: expected a mapping at the top level")
    return document


def _run_main(directory: Path, main: Path) -> None:
    before = set(sys.modules)
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    try:
        runpy.run_path(str(main), run_name="__main__")
    finally:
        os.chdir(previous_cwd)
        if str(directory) in sys.path:
            sys.path.remove(str(directory))
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(directory) + os.sep):
                del sys.modules[name]

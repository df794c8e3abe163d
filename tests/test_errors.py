"""One exception tree: the one its module's docstring draws, and the only one raised."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import dumont_iac
from dumont_iac import errors

# Services render their own errors as HTTP answers; no caller ever sees them raised.
SERVICES = ("dumont_iac.sandbox", "dumont_iac.control_plane")


def test_the_error_tree_in_the_docstring_is_the_class_tree():
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    tree = [
        line
        for line in errors.__doc__.splitlines()
        if "──" in line or line.strip() == "DumontError"
    ]
    for line in tree:
        found = re.search(r"[A-Z][A-Za-z]+", line)
        if not found or not hasattr(errors, found.group()):
            continue
        depth, name = found.start(), found.group()  # the column is the depth in the tree
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    drawn = set(parents) | {"DumontError"}
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.DumontError)
    }
    assert drawn == defined
    for name, parent in parents.items():
        # The first base is the parent in the tree; a builtin may follow (InvalidValue is
        # also a ValueError, as Python's own functions raise for a bad value).
        bases = getattr(errors, name).__bases__
        assert bases[0] is getattr(errors, parent), name
        assert all(b.__module__ == "builtins" for b in bases[1:]), name


def test_every_exception_the_library_defines_is_a_dumont_error_from_the_errors_module():
    stray = []
    for info in pkgutil.walk_packages(dumont_iac.__path__, "dumont_iac."):
        if (
            info.name.startswith(SERVICES)
            or info.name in ("dumont_iac.errors",)
            or info.name.endswith("__main__")
        ):
            continue
        module = importlib.import_module(info.name)
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                stray.append(f"{info.name}.{name}")
    assert stray == [], "define exceptions in dumont_iac.errors, under DumontError"
    assert all(
        issubclass(value, errors.DumontError)
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    )

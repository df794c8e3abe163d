"""The clients package's public names, and the error tree as its docstring draws it."""

from __future__ import annotations

import re

import dumont_iac.clients as clients
from dumont_iac.clients import errors


def test_the_public_names_are_pinned_and_resolve():
    assert clients.__all__ == [
        "CreatedVolume",
        "Instance",
        "MarketplaceClient",
        "Offer",
        "OfferFilter",
        "RentRequest",
        "Rental",
        "User",
        "Volume",
        "VolumeAttachment",
        "VolumeOffer",
    ]
    for name in clients.__all__:
        assert getattr(clients, name).__name__ == name


def test_the_error_tree_in_the_docstring_is_the_class_tree():
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
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
        assert getattr(errors, name).__bases__ == (getattr(errors, parent),), name

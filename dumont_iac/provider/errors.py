"""Errors the providers raise. Pulumi shows an exception's message to the user, so each message
is the whole explanation: what happened, to which resource, and what to do next."""

from __future__ import annotations


class ProviderError(Exception):
    """A resource operation could not be carried out."""


class NoMatchingOffer(ProviderError):
    """No live offer satisfies the resource's constraints."""


class InstanceNotReady(ProviderError):
    """A rental did not reach the wanted state; ``status`` is the last one seen."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class CreateFailed(ProviderError):
    """Create failed after renting; the rental was destroyed (the cause is ``__cause__``)."""

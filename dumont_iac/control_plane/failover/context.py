"""One GPU of one user, as a failover step sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dumont_iac.clients.aws.session import AwsAccess
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.store import Store
from dumont_iac.provider.labels import logical_id_of


class CannotFailOver(Exception):
    """This strategy cannot take over; the message says why (the next strategy may)."""


@dataclass
class GpuContext:
    store: Store
    events: EventLog
    market: MarketplaceClient
    user_id: int
    gpu_id: str
    aws: AwsAccess | None = None

    def doc(self, kind: str) -> dict[str, Any] | None:
        return self.store.documents.get(self.user_id, kind, self.gpu_id)

    def merge(self, kind: str, **changes: Any) -> dict[str, Any]:
        return self.store.documents.merge(self.user_id, kind, self.gpu_id, **changes)

    def record(self, kind: str, message: str, **data: Any) -> None:
        self.events.record(kind, message, user_id=self.user_id, gpu_id=self.gpu_id, data=data)

    def now(self) -> float:
        return self.store.clock.now()

    def current(self) -> Instance | None:
        """The contract the logical GPU is on now: the newest carrying its marker."""
        return current_contracts(self.market.instances()).get(self.gpu_id)


def current_contracts(listing: list[Instance]) -> dict[str, Instance]:
    """The newest contract carrying each marker: where each logical GPU is now."""
    current: dict[str, Instance] = {}
    for instance in listing:
        marker = logical_id_of(instance.label)
        if marker and (marker not in current or instance.id > current[marker].id):
            current[marker] = instance
    return current

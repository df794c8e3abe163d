"""Typed offer filters, compiled to the marketplace's query language and re-checked locally.

The search body is ``{field: {op: value}, ..., "order": [[field, dir]], "limit": n, "type": ...}``.
Units on the wire: ``gpu_ram`` and ``gpu_total_ram`` in MB, converted from GB by x1000 as the
official CLI does; disk in GB. Regions: the marketplace filters countries only, so continents
are expanded to their country codes here and sent as ``geolocation in [...]``.

Every returned offer is checked against the filter again on this side, and results are sorted
here too: a marketplace (or a stand-in) that ignores a filter or the order cannot make the
client rent the wrong GPU or call an expensive offer the cheapest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dumont_iac.clients.marketplace.models import Offer
from dumont_iac.clients.regions import expand
from dumont_iac.types import GpuModelNames, MoneyPerHour, RegionTuple

Order = Literal["price", "price_per_gpu", "reliability", "score", "dlperf", "vram"]
Choice = Literal["preference", "cheapest"]
ORDERS: tuple[str, ...] = Order.__args__  # type: ignore[attr-defined]

MAX_LIMIT = 1000


class OfferFilter(BaseModel):
    """Which offers a search returns. Every field is optional; the defaults match any GPU."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu_names: GpuModelNames = Field(
        default=(), description='GPU models, e.g. "RTX 4090" (underscores read as spaces)'
    )
    choice: Choice = Field(
        default="preference",
        description="with several gpu_names: every offer of the first model before the next "
        "model's (preference), or all of them by price (cheapest)",
    )
    num_gpus: int | None = Field(default=None, ge=1, le=64, description="exact GPU count")
    min_num_gpus: int | None = Field(default=None, ge=1, le=64, description="at least this many")
    max_num_gpus: int | None = Field(default=None, ge=1, le=64, description="at most this many")
    min_vram_gb: float | None = Field(default=None, gt=0, description="per GPU, GB")
    min_total_vram_gb: float | None = Field(default=None, gt=0, description="over all GPUs, GB")
    max_price_per_hour: MoneyPerHour | None = Field(default=None, description="$/h for the offer")
    interruptible: bool = Field(
        default=False, description="price and rent as interruptible (bid) instead of on demand"
    )
    regions: RegionTuple = Field(
        default=(), description="continents (EU NA SA AS OC AF) or ISO country codes (DE, US)"
    )
    min_reliability: float | None = Field(default=None, ge=0, le=1)
    verified_only: bool = True
    min_cuda: float | None = Field(default=None, gt=0, description="CUDA version, e.g. 12.1")
    min_disk_gb: float | None = Field(default=None, gt=0)
    machine_id: int | None = None
    disk_gb: float = Field(default=10.0, ge=0, description="disk priced into each offer, GB")
    order: Order = "price"
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)

    @field_validator("gpu_names", "regions", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OfferFilter:
        if self.num_gpus and self.max_num_gpus and self.num_gpus > self.max_num_gpus:
            raise ValueError(
                f"num_gpus {self.num_gpus} is more than max_num_gpus {self.max_num_gpus}"
            )
        if self.num_gpus and self.min_num_gpus:
            raise ValueError("give num_gpus (exactly) or min_num_gpus (at least), not both")
        if self.min_num_gpus and self.max_num_gpus and self.min_num_gpus > self.max_num_gpus:
            raise ValueError(
                f"min_num_gpus {self.min_num_gpus} is more than max_num_gpus {self.max_num_gpus}"
            )
        return self

    def countries(self) -> frozenset[str]:
        return expand(self.regions)

    def to_query(self) -> dict[str, Any]:
        """The marketplace search body for this filter."""
        q: dict[str, Any] = {"rentable": {"eq": True}}
        if self.verified_only:
            q["verified"] = {"eq": True}
        if len(self.gpu_names) == 1:
            q["gpu_name"] = {"eq": self.gpu_names[0]}
        elif self.gpu_names:
            q["gpu_name"] = {"in": sorted(self.gpu_names)}  # one query, one cache entry
        if self.num_gpus is not None:
            q["num_gpus"] = {"eq": self.num_gpus}
        elif self.min_num_gpus is not None or self.max_num_gpus is not None:
            q["num_gpus"] = {}
            if self.min_num_gpus is not None:
                q["num_gpus"]["gte"] = self.min_num_gpus
            if self.max_num_gpus is not None:
                q["num_gpus"]["lte"] = self.max_num_gpus
        if self.min_vram_gb is not None:
            q["gpu_ram"] = {"gte": round(self.min_vram_gb * 1000)}
        if self.min_total_vram_gb is not None:
            q["gpu_total_ram"] = {"gte": round(self.min_total_vram_gb * 1000)}
        if self.max_price_per_hour is not None:
            field = "min_bid" if self.interruptible else "dph_total"
            q[field] = {"lte": self.max_price_per_hour}
        if self.regions:
            q["geolocation"] = {"in": sorted(self.countries())}
        if self.min_reliability is not None:
            q["reliability"] = {"gte": self.min_reliability}
        if self.min_cuda is not None:
            q["cuda_max_good"] = {"gte": self.min_cuda}
        if self.min_disk_gb is not None:
            q["disk_space"] = {"gte": self.min_disk_gb}
        if self.machine_id is not None:
            q["machine_id"] = {"eq": self.machine_id}
        q["order"] = [self._server_order()]
        q["limit"] = self.limit
        q["type"] = "bid" if self.interruptible else "on-demand"
        q["allocated_storage"] = self.disk_gb
        return q

    def _server_order(self) -> list[str]:
        if self.order in ("price", "price_per_gpu"):
            return ["min_bid" if self.interruptible else "dph_total", "asc"]
        field = {"reliability": "reliability", "score": "score", "dlperf": "dlperf"}
        return [field.get(self.order, "gpu_ram"), "desc"]

    def price(self, offer: Offer) -> float:
        return offer.price_per_hour(interruptible=self.interruptible, disk_gb=self.disk_gb)

    def matches(self, offer: Offer) -> bool:
        """Whether an offer the marketplace returned really satisfies this filter."""
        checks = [
            not self.gpu_names or offer.gpu_name in self.gpu_names,
            self.num_gpus is None or offer.num_gpus == self.num_gpus,
            self.min_num_gpus is None or offer.num_gpus >= self.min_num_gpus,
            self.max_num_gpus is None or offer.num_gpus <= self.max_num_gpus,
            self.min_vram_gb is None or offer.gpu_ram >= round(self.min_vram_gb * 1000),
            self.min_total_vram_gb is None
            or offer.total_vram_gb * 1000 >= round(self.min_total_vram_gb * 1000),
            self.max_price_per_hour is None or self.price(offer) <= self.max_price_per_hour,
            not self.regions or offer.country in self.countries(),
            self.min_reliability is None
            or (offer.reliability_score or 0.0) >= self.min_reliability,
            not self.verified_only or offer.is_verified,
            self.min_cuda is None or (offer.cuda_max_good or 0.0) >= self.min_cuda,
            self.min_disk_gb is None or (offer.disk_space or 0.0) >= self.min_disk_gb,
            self.machine_id is None or offer.machine_id == self.machine_id,
            offer.rentable is not False,
        ]
        return all(checks)

    def sort(self, offers: list[Offer]) -> list[Offer]:
        """Offers in this filter's order, the preferred model first when ``choice`` says so;
        price orders break ties by reliability, then id."""
        if self.order == "price":
            key: Any = lambda o: (self.price(o), -(o.reliability_score or 0), o.id)  # noqa: E731
        elif self.order == "price_per_gpu":
            key = lambda o: (self.price(o) / max(o.num_gpus, 1), o.id)  # noqa: E731
        elif self.order == "reliability":
            key = lambda o: (-(o.reliability_score or 0), self.price(o), o.id)  # noqa: E731
        elif self.order == "score":
            key = lambda o: (-(o.score or 0), self.price(o), o.id)  # noqa: E731
        elif self.order == "dlperf":
            key = lambda o: (-(o.dlperf or 0), self.price(o), o.id)  # noqa: E731
        else:
            key = lambda o: (-o.gpu_ram, self.price(o), o.id)  # noqa: E731
        ordered = sorted(offers, key=key)
        return by_preference(ordered, self.gpu_names) if self.choice == "preference" else ordered


def by_preference(offers: list[Offer], gpu_names: Sequence[str]) -> list[Offer]:
    """Offers of the first listed model first, then the next model's...; each model's offers
    keep their order (cheapest first)."""
    rank = {name.lower(): n for n, name in enumerate(gpu_names)}
    return sorted(offers, key=lambda offer: rank.get(offer.gpu_name.lower(), len(rank)))

"""Lookups to decide with: offers, spot pricing per GPU model, and which GPU a workload needs.

Plain functions returning pydantic models, usable from Python and from a Pulumi program
(``offer = find_offers("RTX 4090", max_price_per_hour=0.5)[0]``; ``offer.model_dump()`` gives
plain values to export). Each resolves the marketplace URL and key like everything else
(argument > Pulumi config > environment > default), or takes a ``client``. Offer search needs no
key. Identical searches within a minute are answered from the client's cache.

Prices are in $/hour. "Cheapest" is the cheapest of every matching offer: the marketplace sorts
by price before it cuts the page, and this side re-checks and re-sorts what comes back.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Offer
from dumont_iac.clients.marketplace.offer_filter import MAX_LIMIT, Choice, OfferFilter, Order

Precision = Literal["fp32", "fp16", "bf16", "int8", "int4"]
WorkloadKind = Literal["inference", "lora", "full_finetune", "training", "vram"]

BYTES_PER_PARAM: dict[str, float] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "int4": 0.5}
# Inference keeps the KV cache and activations next to the weights: about 20% more.
INFERENCE_OVERHEAD = 0.20
# Full fine-tuning and training with Adam in mixed precision hold, per parameter: weights (2),
# gradients (2), an fp32 master copy (4) and Adam's two moments (8) = 16 bytes (fp32: 4+4+8).
ADAM_BYTES_PER_PARAM = 16
# Activations of a modest batch, on top of what training holds per parameter.
ACTIVATION_OVERHEAD = 0.20
# LoRA trains adapters of about 1% of the parameters, with gradients and Adam (16 bytes each).
LORA_TRAINED_FRACTION = 0.01

PRICING_SAMPLE = 1000


def _client(
    client: MarketplaceClient | None, url: str | None, api_key: str | None
) -> MarketplaceClient:
    return client or MarketplaceClient(url, api_key)


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


# --- offers --------------------------------------------------------------------------------


def find_offers(
    gpu: str | Sequence[str] | None = None,
    *,
    num_gpus: int | None = None,
    min_num_gpus: int | None = None,
    min_vram_gb: float | None = None,
    max_price_per_hour: float | None = None,
    interruptible: bool = False,
    regions: str | Sequence[str] | None = None,
    min_reliability: float | None = None,
    verified_only: bool = True,
    min_cuda: float | None = None,
    min_disk_gb: float | None = None,
    disk_gb: float = 10.0,
    order: Order = "price",
    choice: Choice = "preference",
    limit: int = 20,
    url: str | None = None,
    api_key: str | None = None,
    client: MarketplaceClient | None = None,
) -> list[Offer]:
    """Offers matching every filter given, cheapest first (``order`` changes that).

    ``gpu`` is one model name or several ("RTX 4090"), in order of preference: every offer of
    the first model comes before the next model's, as GpuInstance chooses (``choice="cheapest"``
    orders them all by price instead). ``num_gpus`` is an exact count, ``min_num_gpus`` a least
    one; ``regions`` are continent codes (EU NA SA AS OC AF) or ISO country codes; prices
    include ``disk_gb`` of storage; ``interruptible`` prices offers at their minimum bid.
    """
    offer_filter = OfferFilter(
        gpu_names=_names(gpu),
        num_gpus=num_gpus,
        min_num_gpus=min_num_gpus,
        min_vram_gb=min_vram_gb,
        max_price_per_hour=max_price_per_hour,
        interruptible=interruptible,
        regions=_names(regions),
        min_reliability=min_reliability,
        verified_only=verified_only,
        min_cuda=min_cuda,
        min_disk_gb=min_disk_gb,
        disk_gb=disk_gb,
        order=order,
        choice=choice,
        limit=limit,
    )
    return _client(client, url, api_key).search_offers(offer_filter)


def cheapest_offer(gpu: str | Sequence[str] | None = None, **filters) -> Offer | None:
    """The cheapest offer matching the filters of ``find_offers`` (of the first listed model
    that has one, unless ``choice="cheapest"``), or None."""
    filters.update(order="price", limit=1)
    offers = find_offers(gpu, **filters)
    return offers[0] if offers else None


# --- spot pricing --------------------------------------------------------------------------


class GpuPricing(BaseModel):
    """Prices of one GPU model, in $ per GPU per hour (an 8-GPU offer counts its price / 8)."""

    model_config = ConfigDict(frozen=True)

    gpu_name: str
    offers: int = Field(description="matching offers of this model")
    cheapest: float | None = Field(description="lowest price, on demand or interruptible")
    median: float | None = Field(description="median on-demand price")
    on_demand: float | None = Field(description="lowest on-demand price")
    interruptible: float | None = Field(description="lowest interruptible price (minimum bid)")
    savings_pct: float | None = Field(description="interruptible vs on demand, lowest to lowest")
    cheapest_offer_id: int | None = Field(
        description="the offer at the ``cheapest`` price (on demand or interruptible)"
    )
    on_demand_offer_id: int | None = Field(description="the offer at the ``on_demand`` price")
    interruptible_offer_id: int | None = Field(
        description="the offer at the ``interruptible`` price"
    )


def spot_pricing(
    gpu_names: str | Sequence[str] | None = None,
    *,
    num_gpus: int | None = None,
    regions: str | Sequence[str] | None = None,
    min_reliability: float | None = None,
    verified_only: bool = True,
    sample: int = PRICING_SAMPLE,
    url: str | None = None,
    api_key: str | None = None,
    client: MarketplaceClient | None = None,
) -> list[GpuPricing]:
    """On-demand and interruptible prices per GPU model; works with no arguments at all.

    Parameters (all optional):
    - ``gpu_names``: models to price; default every model on offer. Models named but not on
      offer are listed with ``offers=0`` so comparisons keep their columns.
    - ``num_gpus``: only offers of exactly this many GPUs; default any size (priced per GPU).
    - ``regions``: continent codes (EU NA SA AS OC AF) or ISO country codes; default anywhere.
    - ``min_reliability``: 0-1; default no minimum.
    - ``verified_only``: only verified hosts; default True, like the marketplace's own client.
    - ``sample``: how many of the cheapest offers to look at (1-10000); default 1000.
    - ``url``, ``api_key``, ``client``: where to ask; default the resolved settings (no key
      is needed for prices).

    Result: one row per model, cheapest on-demand first (named models keep the order given).
    """
    offer_filter = OfferFilter(
        gpu_names=_names(gpu_names),
        num_gpus=num_gpus,
        regions=_names(regions),
        min_reliability=min_reliability,
        verified_only=verified_only,
        disk_gb=0,
        order="price",
        limit=min(max(sample, 1), MAX_LIMIT),
    )
    offers = _client(client, url, api_key).search_offers(offer_filter)
    by_model: dict[str, list[Offer]] = {name: [] for name in offer_filter.gpu_names}
    for offer in offers:
        by_model.setdefault(offer.gpu_name, []).append(offer)
    rows = [_pricing(name, model_offers) for name, model_offers in by_model.items()]
    if not offer_filter.gpu_names:
        rows.sort(key=lambda row: (row.on_demand is None, row.on_demand or 0.0, row.gpu_name))
    return rows


def _pricing(gpu_name: str, offers: list[Offer]) -> GpuPricing:
    if not offers:
        return GpuPricing(
            gpu_name=gpu_name, offers=0, cheapest=None, median=None, on_demand=None,
            interruptible=None, savings_pct=None, cheapest_offer_id=None,
            on_demand_offer_id=None, interruptible_offer_id=None,
        )  # fmt: skip
    # Each price is taken from one offer, and that offer's id goes beside it.
    best = min(offers, key=lambda o: (o.price_per_gpu_hour(), o.id))
    biddable = [o for o in offers if o.min_bid is not None]
    best_bid = (
        min(biddable, key=lambda o: (o.price_per_gpu_hour(interruptible=True), o.id))
        if biddable
        else None
    )
    lowest = best.price_per_gpu_hour()
    lowest_bid = None if best_bid is None else best_bid.price_per_gpu_hour(interruptible=True)
    savings = None
    if lowest_bid is not None and lowest > 0:
        savings = round((1 - lowest_bid / lowest) * 100, 1)
    cheapest = best if best_bid is None or lowest_bid is None or lowest <= lowest_bid else best_bid
    return GpuPricing(
        gpu_name=gpu_name,
        offers=len(offers),
        cheapest=round(min(lowest, lowest_bid if lowest_bid is not None else lowest), 4),
        median=round(statistics.median(o.price_per_gpu_hour() for o in offers), 4),
        on_demand=round(lowest, 4),
        interruptible=None if lowest_bid is None else round(lowest_bid, 4),
        savings_pct=savings,
        cheapest_offer_id=cheapest.id,
        on_demand_offer_id=best.id,
        interruptible_offer_id=None if best_bid is None else best_bid.id,
    )


# --- GPU recommendation --------------------------------------------------------------------


class Workload(BaseModel):
    """What the GPUs are for: a model of ``params_billion`` at ``precision``, or a VRAM need."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: WorkloadKind = "inference"
    params_billion: float | None = Field(default=None, gt=0, le=100_000)
    precision: Precision = "fp16"
    vram_gb: float | None = Field(default=None, gt=0, le=100_000)

    @model_validator(mode="after")
    def _complete(self) -> Workload:
        if self.kind == "vram":
            if self.vram_gb is None:
                raise ValueError("vram_gb: kind='vram' needs vram_gb (GB of GPU memory)")
        elif self.params_billion is None:
            raise ValueError(
                f"params_billion: kind={self.kind!r} needs the model size in billions of "
                "parameters (or use kind='vram' with vram_gb)"
            )
        if self.kind in ("full_finetune", "training") and self.precision in ("int8", "int4"):
            raise ValueError(
                f"precision: {self.kind} runs at fp32, fp16 or bf16, not {self.precision}; "
                "quantized models are fine-tuned with kind='lora'"
            )
        return self

    def vram_needed(self) -> tuple[float, str]:
        """GB of GPU memory the workload needs, and the arithmetic that gives it, in words."""
        if self.kind == "vram":
            assert self.vram_gb is not None
            return self.vram_gb, f"{self.vram_gb:g} GB as given"
        params = self.params_billion
        assert params is not None
        size = f"{params:g}B params"
        if self.kind in ("full_finetune", "training"):
            state = params * ADAM_BYTES_PER_PARAM
            total = state * (1 + ACTIVATION_OVERHEAD)
            return total, (
                f"{size} x {ADAM_BYTES_PER_PARAM} bytes (weights, gradients, fp32 master copy, "
                f"Adam moments) = {state:g} GB; + {ACTIVATION_OVERHEAD:.0%} for activations "
                f"= {total:g} GB"
            )
        width = BYTES_PER_PARAM[self.precision]
        weights = params * width
        if self.kind == "inference":
            total = weights * (1 + INFERENCE_OVERHEAD)
            return total, (
                f"{size} x {width:g} bytes ({self.precision}) = {weights:g} GB of weights; "
                f"+ {INFERENCE_OVERHEAD:.0%} for KV cache and activations = {total:g} GB"
            )
        adapters = params * LORA_TRAINED_FRACTION * ADAM_BYTES_PER_PARAM
        total = weights * (1 + ACTIVATION_OVERHEAD) + adapters
        return total, (
            f"{size} x {width:g} bytes ({self.precision}) = {weights:g} GB of frozen weights; "
            f"+ {ACTIVATION_OVERHEAD:.0%} for activations; + adapters of "
            f"{LORA_TRAINED_FRACTION:.0%} of the params x {ADAM_BYTES_PER_PARAM} bytes = "
            f"{adapters:g} GB; total {total:g} GB"
        )


class GpuOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    gpu_name: str
    num_gpus: int
    vram_per_gpu_gb: float
    total_vram_gb: float
    price_per_hour: float
    offer: Offer

    @property
    def multi_gpu(self) -> bool:
        return self.num_gpus > 1


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    workload: Workload
    vram_needed_gb: float
    formula: str
    max_gpus: int
    options: list[GpuOption] = Field(description="one per GPU model, cheapest first")

    @property
    def best(self) -> GpuOption | None:
        return self.options[0] if self.options else None


def recommend_gpu(
    workload: Workload | None = None,
    *,
    kind: WorkloadKind = "inference",
    params_billion: float | None = None,
    precision: Precision = "fp16",
    vram_gb: float | None = None,
    max_gpus: int = 8,
    interruptible: bool = False,
    max_price_per_hour: float | None = None,
    regions: str | Sequence[str] | None = None,
    min_reliability: float | None = None,
    verified_only: bool = True,
    limit: int = 10,
    url: str | None = None,
    api_key: str | None = None,
    client: MarketplaceClient | None = None,
) -> Recommendation:
    """GPU models that can hold the workload, ranked by their cheapest live offer that fits.

    The VRAM need comes from ``Workload.vram_needed`` (its formula is in the result). An offer
    fits when its GPUs together have at least that much memory; ``max_gpus`` caps how many
    GPUs one offer may have (1 for single-GPU only; splitting a model over several GPUs needs
    tensor or pipeline parallelism in the serving or training code).
    """
    if workload is None and vram_gb is not None and params_billion is None:
        kind = "vram"  # a plain VRAM need: recommend_gpu(vram_gb=40)
    wanted = workload or Workload(
        kind=kind, params_billion=params_billion, precision=precision, vram_gb=vram_gb
    )
    need, formula = wanted.vram_needed()
    offer_filter = OfferFilter(
        max_num_gpus=max_gpus,
        min_total_vram_gb=need,
        max_price_per_hour=max_price_per_hour,
        interruptible=interruptible,
        regions=_names(regions),
        min_reliability=min_reliability,
        verified_only=verified_only,
        disk_gb=0,
        order="price",
        limit=MAX_LIMIT,
    )
    offers = _client(client, url, api_key).search_offers(offer_filter)
    best: dict[str, GpuOption] = {}
    for offer in offers:
        if offer.total_vram_gb < need:  # the filter re-checks; this keeps the promise local
            continue
        option = GpuOption(
            gpu_name=offer.gpu_name,
            num_gpus=offer.num_gpus,
            vram_per_gpu_gb=offer.gpu_ram_gb,
            total_vram_gb=round(offer.total_vram_gb, 2),
            price_per_hour=round(offer_filter.price(offer), 4),
            offer=offer,
        )
        current = best.get(offer.gpu_name)
        if current is None or (option.price_per_hour, option.num_gpus) < (
            current.price_per_hour,
            current.num_gpus,
        ):
            best[offer.gpu_name] = option
    ranked = sorted(best.values(), key=lambda o: (o.price_per_hour, o.num_gpus, o.gpu_name))
    return Recommendation(
        workload=wanted,
        vram_needed_gb=round(need, 3),
        formula=formula,
        max_gpus=max_gpus,
        options=ranked[:limit],
    )

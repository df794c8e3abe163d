"""The engine side of ``GpuInstance``: Pulumi's create/read/update/delete as marketplace calls.

Identity: the resource id is a logical id derived from the stack, the resource name and the
arguments that pick the machine. It is written into the rental's label, so

* a deploy that died after renting finds its rental by label and adopts it instead of renting a
  second one (the rerun derives the same id);
* ``read`` follows the logical id to whatever contract currently carries it (failover and wake
  rent new contracts with the same label);
* a replacement (new machine arguments) gets a new id, so old and new never share a label.

Nothing that bills is left behind by a failed create: any error after renting destroys the rental
before it surfaces.
"""

from __future__ import annotations

import hashlib
import json
import re

from pulumi.dynamic import ConfigureRequest, CreateResult, ReadResult, UpdateResult

from dumont_iac import config
from dumont_iac.clients.errors import OfferUnavailable
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace_models import Instance, RentRequest
from dumont_iac.clients.offer_filter import OfferFilter
from dumont_iac.provider.errors import InstanceNotReady, NoMatchingOffer, ProviderError
from dumont_iac.provider.waiter import wait_for
from dumont_iac.resources.gpu_instance import GpuInstanceArgs
from dumont_iac.schema import SchemaProvider, fields_of

LABEL_MARK = "dumont:"
_LABEL_ID = re.compile(r"dumont:(gpu-[0-9a-f]{12})$")
MAX_OFFERS_TRIED = 5  # offers taken between search and rent before giving up
DELETE_TIMEOUT_SECONDS = 300.0
# Statuses the marketplace never brings back to running (reference: instance lifecycle).
TERMINAL = frozenset({"exited", "offline", "unknown"})


def logical_id_for(args: GpuInstanceArgs) -> str:
    """Deterministic in the stack/resource name and every argument that replaces the machine."""
    replacing = {
        name: getattr(args, name)
        for name, policy in fields_of(GpuInstanceArgs).arguments.items()
        if policy.replaces
    }
    digest = hashlib.sha256(json.dumps(replacing, sort_keys=True, default=str).encode())
    return "gpu-" + digest.hexdigest()[:12]


def rental_label(logical_id: str, label: str | None) -> str:
    marker = LABEL_MARK + logical_id
    return f"{label} | {marker}" if label else marker


def logical_id_of(label: str | None) -> str | None:
    found = _LABEL_ID.search(label or "")
    return found.group(1) if found else None


class GpuInstanceProvider(SchemaProvider):
    schema = GpuInstanceArgs

    def configure(self, req: ConfigureRequest) -> None:
        config.use_provider_config({k: req.config.get(f"dumont:{k}") for k in config.PULUMI_KEYS})

    # --- create ----------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        args: GpuInstanceArgs = self.args(props)
        logical_id = logical_id_for(args)
        client = MarketplaceClient()
        found = _current(client, logical_id)
        ours = True
        if found is None and args.adopt_instance_id is not None:
            found, ours = _adopt(client, args, logical_id), False
        instance = found or _rent(client, args, logical_id)
        try:
            instance = _settle(client, instance.id, args)
        except BaseException:
            if ours:
                client.destroy(instance.id)
            raise
        return CreateResult(logical_id, self.outs(args, **_outputs(logical_id, instance)))

    # --- read ------------------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        instance = _current(MarketplaceClient(), id_)
        if instance is None:
            return self.gone()
        args = self.args(props)
        inputs = args.model_dump(mode="json", exclude=set(fields_of(GpuInstanceArgs).outputs))
        inputs = {k: v for k, v in inputs.items() if v is not None}
        return ReadResult(id_, self.outs(args, **_outputs(id_, instance)), inputs)

    # --- update ----------------------------------------------------------------------------

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old: GpuInstanceArgs = self.args(olds)
        new: GpuInstanceArgs = self.args(news)
        client = MarketplaceClient()
        instance = _current(client, id_)
        if instance is None:
            raise ProviderError(
                f"GPU {id_} has no rental on the marketplace any more (destroyed outside this "
                "stack); run `pulumi refresh` to drop it, then deploy again to rent a new one."
            )
        if new.label != old.label:
            client.set_label(instance.id, rental_label(id_, new.label))
        if new.interruptible and (old.bid_price, old.bid_headroom) != (
            new.bid_price,
            new.bid_headroom,
        ):
            client.change_bid(instance.id, _bid(new, instance.min_bid or 0.0))
        if new.desired_state != (instance.intended_status or "running"):
            if new.desired_state == "stopped":
                client.stop(instance.id)
            else:
                client.start(instance.id)
        instance = _settle(client, instance.id, new)
        return UpdateResult(self.outs(new, **_outputs(id_, instance)))

    # --- delete ----------------------------------------------------------------------------

    def delete(self, id_: str, props: dict) -> None:
        """Destroy every rental carrying the logical id and return once none is left."""
        client = MarketplaceClient()
        rentals = _carrying(client, id_)
        for rental in rentals:
            client.destroy(rental.id)
        for rental in rentals:
            wait_for(
                lambda rid=rental.id: client.instance(rid) is None,
                timeout=DELETE_TIMEOUT_SECONDS,
                what=f"contract {rental.id} of GPU {id_} to be destroyed",
            )


# --- helpers --------------------------------------------------------------------------------


def _carrying(client: MarketplaceClient, logical_id: str) -> list[Instance]:
    return [i for i in client.instances() if logical_id_of(i.label) == logical_id]


def _current(client: MarketplaceClient, logical_id: str) -> Instance | None:
    """The newest rental carrying the logical id (failover rents newer contracts)."""
    rentals = _carrying(client, logical_id)
    return max(rentals, key=lambda i: i.id) if rentals else None


def _adopt(client: MarketplaceClient, args: GpuInstanceArgs, logical_id: str) -> Instance:
    assert args.adopt_instance_id is not None
    instance = client.instance(args.adopt_instance_id)
    if instance is None:
        raise ProviderError(
            f"adopt_instance_id: no rental {args.adopt_instance_id} exists under this key; "
            "give the id of one of your instances (`dumont-iac` or the marketplace lists them)."
        )
    client.set_label(instance.id, rental_label(logical_id, args.label))
    return instance


def offer_filter_for(args: GpuInstanceArgs) -> OfferFilter:
    return OfferFilter(
        gpu_names=tuple(args.gpu_models),
        num_gpus=args.gpu_count,
        min_vram_gb=args.min_vram_gb,
        max_price_per_hour=args.max_price_per_hour,
        interruptible=args.interruptible,
        regions=tuple(args.regions),
        min_reliability=args.min_reliability,
        verified_only=args.verified_only,
        min_cuda=args.min_cuda,
        min_disk_gb=args.disk_gb,
        disk_gb=args.disk_gb,
        order="price",
        limit=MAX_OFFERS_TRIED * 4,
    )


def _rent(client: MarketplaceClient, args: GpuInstanceArgs, logical_id: str) -> Instance:
    """Rent the cheapest satisfying offer, moving on when one is taken under us."""
    wanted = offer_filter_for(args)
    offers = client.search_offers(wanted)
    tried: list[int] = []
    for offer in offers[:MAX_OFFERS_TRIED]:
        request = RentRequest(
            image=args.image,
            disk_gb=args.disk_gb,
            env=args.env,
            ports=tuple(args.ports),
            onstart=args.onstart,
            bid_price=_bid(args, offer.min_bid or 0.0) if args.interruptible else None,
        )
        try:
            rental = client.rent(offer.id, request, label=rental_label(logical_id, args.label))
        except OfferUnavailable:
            tried.append(offer.id)
            continue
        found = client.instance(rental.instance_id)
        if found is None:
            raise InstanceNotReady(
                f"contract {rental.instance_id} vanished right after it was rented", logical_id
            )
        return found
    raise NoMatchingOffer(_no_offer_sentence(wanted, len(offers), tried))


def _bid(args: GpuInstanceArgs, min_bid: float) -> float:
    if args.bid_price is not None:
        return args.bid_price
    bid = min_bid * (1 + args.bid_headroom)
    if args.max_price_per_hour is not None:
        bid = min(bid, args.max_price_per_hour)
    return round(max(bid, min_bid), 4)


def _settle(client: MarketplaceClient, contract_id: int, args: GpuInstanceArgs) -> Instance:
    """Wait until the rental is in the desired state; fail fast on states it never leaves."""
    latest: list[Instance | None] = [None]

    def arrived() -> bool:
        instance = client.instance(contract_id)
        latest[0] = instance
        if instance is None:
            raise InstanceNotReady(f"contract {contract_id} was destroyed while starting", "")
        status = instance.actual_status or "provisioning"
        if status in TERMINAL:
            raise InstanceNotReady(
                f"contract {contract_id} went {status!r} ({instance.status_msg or 'no message'})"
                " and will not run",
                status,
            )
        if args.desired_state == "stopped":
            return status == "stopped"
        return instance.is_ready

    try:
        wait_for(
            arrived,
            timeout=args.create_timeout_seconds,
            what=f"contract {contract_id} to be {args.desired_state}",
        )
    except TimeoutError as exc:
        status = latest[0].actual_status if latest[0] is not None else None
        raise InstanceNotReady(
            f"contract {contract_id} was still {status or 'provisioning'!r} after "
            f"{args.create_timeout_seconds} s (create_timeout_seconds); it has been destroyed",
            status or "provisioning",
        ) from exc
    assert latest[0] is not None
    return latest[0]


def _outputs(logical_id: str, instance: Instance) -> dict:
    host, port = instance.ssh_host, instance.ssh_port
    return {
        "logical_id": logical_id,
        "contract_id": instance.id,
        "machine_id": instance.machine_id,
        "gpu_name": instance.gpu_name,
        "num_gpus": instance.num_gpus,
        "vram_gb": round(instance.gpu_ram / 1000, 1) if instance.gpu_ram else None,
        "price_per_hour": instance.dph_total,
        "status": instance.actual_status or "provisioning",
        "status_message": instance.status_msg,
        "ssh_host": host,
        "ssh_port": port,
        "ssh_command": f"ssh -p {port} root@{host}" if host and port else None,
        "public_ip": instance.public_ipaddr,
        "region": instance.geolocation,
    }


def _no_offer_sentence(wanted: OfferFilter, found: int, tried: list[int]) -> str:
    constraints = wanted.model_dump(exclude_defaults=True, exclude={"order", "limit", "disk_gb"})
    if tried:
        return (
            f"every matching offer was taken before it could be rented (tried {tried}); "
            "deploy again, or widen the constraints"
        )
    return (
        f"no offer satisfies {constraints} ({found} found); raise max_price_per_hour, accept "
        "more gpu_models or regions, or lower min_reliability"
    )

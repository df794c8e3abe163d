"""The engine side of ``GpuInstance``: Pulumi's create/read/update/delete as marketplace calls.

Identity: the resource id is a logical id derived from the stack, the resource name and the
arguments that pick the machine. It is written into the rental's label, so

* a deploy that died after renting finds its rental by label and adopts it instead of renting a
  second one (the rerun derives the same id);
* ``read`` follows the logical id to whatever contract currently carries it (failover and wake
  rent new contracts with the same label);
* a replacement (new machine arguments) gets a new id, so old and new never share a label;
  the old rental is destroyed before the new one is rented (delete-before-replace), which also
  keeps a forced replacement, whose id does not change, from adopting the rental it replaces.

Nothing that bills is left behind by a failed create: any error after renting destroys the rental
before it surfaces. How an offer is chosen and rented, and how a rental is waited for, live in
``dumont_iac.provider.renting``.
"""

from __future__ import annotations

import functools
import logging

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import CreateFailed, ProviderError
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider import labels
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.provider.labels import logical_id_of, rental_label, user_label_of
from dumont_iac.provider.policy_state import held_by_policy
from dumont_iac.provider.rentals import (
    DELETE_TIMEOUT_SECONDS,
    destroy_after_failure,
    rental_outputs,
)
from dumont_iac.provider.renting import (
    TERMINAL,
    bid_for,
    price_rentals,
    rent_cheapest,
    settle,
)
from dumont_iac.provider.waiter import wait_for
from dumont_iac.schema import fields_of

# Labels are shared with GpuFleet (``provider.labels``); these names stay importable from here.
__all__ = [
    "GpuInstanceProvider",
    "logical_id_for",
    "logical_id_of",
    "rental_label",
    "user_label_of",
]

log = logging.getLogger("dumont_iac.provider")


def logical_id_for(args: GpuInstanceArgs) -> str:
    """Deterministic in the stack/resource name and every argument that replaces the machine."""
    return labels.logical_id_for(args, labels.GPU_PREFIX)


class GpuInstanceProvider(SchemaProvider[GpuInstanceArgs]):
    schema = GpuInstanceArgs

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        """As the schema says, and a rental that will never run again (its machine went
        offline, it exited) is replaced: ``status`` names why in the plan."""
        planned = super().diff(id_, olds, news)
        if olds.get("status") not in TERMINAL:
            return planned
        return DiffResult(
            changes=True,
            replaces=[*(planned.replaces or []), "status"],
            stables=[],
            delete_before_replace=True,
        )

    @classmethod
    def cost(cls, args: GpuInstanceArgs, market: MarketplaceClient) -> ResourceCost:
        """The offer create would rent now, and the price cap as the worst case."""
        return price_rentals(args, market, count=1)

    # --- create ----------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        if not args.logical_name:
            raise ProviderError(
                "logical_name is not set: declare GPUs with dumont_iac.GpuInstance, which sets "
                "it to project/stack/resource, or give a logical_name unique to this GPU"
            )
        logical_id = logical_id_for(args)
        client = MarketplaceClient()
        found = _current(client, logical_id, cached=True)
        if found is not None and (found.actual_status or "") in TERMINAL:
            # A rental from an interrupted deploy that died on its host: start over.
            log.info("GPU %s: contract %d is %s; renting anew", logical_id, found.id,
                     found.actual_status)  # fmt: skip
            client.destroy(found.id)
            found = None
        ours = True
        if found is not None:
            log.info("GPU %s: adopting contract %d found by its label", logical_id, found.id)
        elif args.adopt_instance_id is not None:
            found, ours = _adopt(client, args, logical_id), False
        if found is not None:
            contract_id = found.id
            _apply_state(client, found, args.desired_state)
        else:
            label = rental_label(logical_id, args.label)
            contract_id = rent_cheapest(client, args, label, target_state=args.desired_state)
        try:
            instance = settle(
                client, contract_id, args.desired_state, args.create_timeout_seconds, "create"
            )
        except Exception as exc:
            if not ours:
                raise
            destroy_after_failure(client, contract_id, logical_id, exc)
            raise CreateFailed(
                f"GPU {args.logical_name} ({logical_id}): {exc}; contract {contract_id} was "
                "destroyed, so nothing is left billing"
            ) from exc
        return CreateResult(logical_id, self.outs(args, **rental_outputs(logical_id, instance)))

    # --- read ------------------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        # Cached: every GPU of a refresh shares one listing instead of one list call each.
        instance = _current(MarketplaceClient(), id_, props.get("contract_id"), cached=True)
        args = self.args(props)
        inputs = {k: v for k, v in props.items() if k in fields_of(GpuInstanceArgs).arguments}
        if _off_course(instance, args):
            held = held_by_policy(id_)
            if held is not None:
                # Moving or asleep by policy: the same GPU, its inputs as declared.
                kept = {**props, "status": held.phase, "status_message": held.reason}
                return ReadResult(id_, kept, inputs)
        if instance is None:
            return self.gone()
        # Outputs show the live label and intended state, so the next deploy corrects drift.
        live = args.model_copy(update={"label": user_label_of(instance.label)})
        if instance.intended_status in ("running", "stopped"):
            live = live.model_copy(update={"desired_state": instance.intended_status})
        return ReadResult(id_, self.outs(live, **rental_outputs(id_, instance)), inputs)

    # --- update ----------------------------------------------------------------------------

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self.args(olds), self.args(news)
        client = MarketplaceClient()
        instance = _current(client, id_, olds.get("contract_id"), cached=True)
        if instance is None:
            raise ProviderError(
                f"GPU {id_} has no rental on the marketplace any more (destroyed outside this "
                "stack); run `pulumi refresh` to drop it, then deploy again to rent a new one."
            )
        if rental_label(id_, new.label) != instance.label:
            client.set_label(instance.id, rental_label(id_, new.label))
        if (
            new.interruptible
            and instance.is_interruptible
            and (
                (old.bid_price, old.bid_headroom, old.max_price_per_hour)
                != (new.bid_price, new.bid_headroom, new.max_price_per_hour)
            )
        ):
            client.change_bid(instance.id, bid_for(new, instance.min_bid or 0.0))
        if _apply_state(client, instance, new.desired_state):
            instance = settle(
                client, instance.id, new.desired_state, new.create_timeout_seconds, "update"
            )
        else:
            instance = client.instance(instance.id) or instance
        return UpdateResult(self.outs(new, **rental_outputs(id_, instance)))

    # --- delete ----------------------------------------------------------------------------

    def delete(self, id_: str, props: dict) -> None:
        """Destroy every rental carrying the logical id and return once none is left."""
        client = MarketplaceClient()
        rentals = _carrying(client, id_, props.get("contract_id"))
        for rental in rentals:
            log.info("GPU %s: destroying contract %d", id_, rental.id)
            client.destroy(rental.id)
        for rental in rentals:
            wait_for(
                functools.partial(_is_gone, client, rental.id),
                timeout=DELETE_TIMEOUT_SECONDS,
                what=f"contract {rental.id} of GPU {id_} to be destroyed",
            )


# --- helpers --------------------------------------------------------------------------------


def _carrying(
    client: MarketplaceClient, logical_id: str, contract_id: object = None, cached: bool = False
) -> list[Instance]:
    """Rentals carrying the logical id, plus the recorded contract if its label lost the marker
    (edited outside the stack) without being claimed by another GPU. Delete lists afresh: a
    rental another process made moments ago must not be missed and left billing."""
    rentals = []
    for instance in client.instances(cached=cached, reader=logical_id):
        owner = logical_id_of(instance.label)
        if owner == logical_id or (owner is None and instance.id == contract_id):
            rentals.append(instance)
    return rentals


def _current(
    client: MarketplaceClient, logical_id: str, contract_id: object = None, cached: bool = False
) -> Instance | None:
    """The newest rental carrying the logical id (failover rents newer contracts)."""
    rentals = _carrying(client, logical_id, contract_id, cached)
    return max(rentals, key=lambda i: i.id) if rentals else None


def _off_course(instance: Instance | None, args: GpuInstanceArgs) -> bool:
    """Not where the declaration wants it: gone, dead, or not in its desired state."""
    return (
        instance is None
        or (instance.actual_status or "") in TERMINAL
        or (instance.intended_status or args.desired_state) != args.desired_state
    )


def _is_gone(client: MarketplaceClient, contract_id: int) -> bool:
    return client.instance(contract_id) is None


def _adopt(client: MarketplaceClient, args: GpuInstanceArgs, logical_id: str) -> Instance:
    assert args.adopt_instance_id is not None
    instance = client.instance(args.adopt_instance_id)
    if instance is None:
        raise ProviderError(
            f"adopt_instance_id: no rental {args.adopt_instance_id} exists under this key; "
            "give the id of one of your instances (`dumont-iac` or the marketplace lists them)."
        )
    owner = logical_id_of(instance.label)
    if owner is not None and owner != logical_id:
        raise ProviderError(
            f"adopt_instance_id: rental {instance.id} already belongs to GPU {owner} (its "
            f"label is {instance.label!r}); a rental can belong to one GPU only."
        )
    log.info("GPU %s: adopting rental %d (adopt_instance_id)", logical_id, instance.id)
    client.set_label(instance.id, rental_label(logical_id, args.label))
    return instance


def _apply_state(client: MarketplaceClient, instance: Instance, desired: str) -> bool:
    """Ask for the desired state if the rental is not meant to be in it; True if asked."""
    if (instance.intended_status or "running") == desired:
        return False
    if desired == "stopped":
        client.stop(instance.id)
    else:
        client.start(instance.id)
    return True

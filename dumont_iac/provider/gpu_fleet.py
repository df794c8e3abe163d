"""The engine side of ``GpuFleet``: N GPUs rented and waited for in parallel inside one operation.

Pulumi's dynamic-provider server runs at most four operations at once, so N GpuInstances with
real boot times wait for about N/4 boots in a row. A fleet rents all its members from one
create, as fast as the marketplace's rent gap allows, and waits for all of them at once.

Identity: the resource id is the fleet's logical id (derived like a GpuInstance's from the
stack, the resource name and every argument that replaces); member ``i`` carries
``dumont:<fleet id>-<i>`` in its rental label. A create finds members left by an interrupted
deploy by label and adopts them instead of renting again.

Nothing bills that the state does not declare: members that cannot be rented or do not run are
destroyed; with fewer than ``min_count`` running, create (or a scale-up) destroys what it
rented and fails saying why. Changing ``count`` adds or removes members in place (by
``scale_down``); the other machine arguments replace the fleet, old members first.

Fleets do not take part in failover or budgets yet: that needs failover, standby and budget
resources registered with the control plane, which this package does not declare so far
(``docs/fleets.md`` says what they need from a fleet).
"""

from __future__ import annotations

import logging
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import CreateFailed, ProviderError
from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.provider import labels
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.provider.fleet_members import (
    Outcome,
    bring_up,
    fleet_rentals,
    free_indices,
    held_members,
)
from dumont_iac.provider.labels import logical_id_of, member_id, rental_label
from dumont_iac.provider.rentals import (
    destroy_all,
    price_of,
    published_ports,
    ssh_command_of,
    status_of,
)
from dumont_iac.provider.renting import TERMINAL, bid_for, price_rentals
from dumont_iac.schema import fields_of

log = logging.getLogger("dumont_iac.provider")

MAX_REASONS_SHOWN = 5


def fleet_id_for(args: GpuFleetArgs) -> str:
    return labels.logical_id_for(args, labels.FLEET_PREFIX)


class GpuFleetProvider(SchemaProvider[GpuFleetArgs]):
    schema = GpuFleetArgs

    @classmethod
    def cost(cls, args: GpuFleetArgs, market: MarketplaceClient) -> ResourceCost:
        """Every member: the offers a create would take now, and the price cap per member."""
        return price_rentals(args, market, count=args.count, one_per_machine=args.one_per_machine)

    # --- diff: the generic one, plus members missing since the last deploy ------------------

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(_id, olds, news)
        count = news.get("count")
        members = olds.get("members")
        if result.changes or not isinstance(count, int | float) or not isinstance(members, list):
            return result
        unhealthy = [m for m in members if isinstance(m, dict) and m.get("status") in TERMINAL]
        if len(members) < int(count) or unhealthy:
            # Not a change of the declaration: the update rents what is missing.
            return DiffResult(
                changes=True,
                replaces=[],
                stables=[],
                delete_before_replace=GpuFleetArgs.delete_before_replace,
            )
        return result

    # --- create ----------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        if not args.logical_name:
            raise ProviderError(
                "logical_name is not set: declare fleets with dumont_iac.GpuFleet, which sets "
                "it to project/stack/resource, or give a logical_name unique to this fleet"
            )
        fleet_id = fleet_id_for(args)
        client = MarketplaceClient()
        listed = client.instances()
        held = _healthy(client, fleet_id, _held(client, fleet_id, listed, props))
        for index, instance in held.items():
            log.info("fleet %s: adopting member %d (contract %d) found by its label",
                     fleet_id, index, instance.id)  # fmt: skip
        kept = dict(sorted(held.items())[: args.count])
        destroy_all(client, [i.id for n, i in held.items() if n not in kept], f"fleet {fleet_id}")
        to_rent = free_indices(kept, args.count - len(kept))
        outcome = Outcome()
        try:
            bring_up(client, args, fleet_id, to_rent, kept, outcome)
        except Exception as exc:
            everything = {*outcome.rented.values(), *(i.id for i in kept.values())}
            destroy_all(client, everything, f"fleet {fleet_id}")
            raise CreateFailed(
                f"GpuFleet {args.logical_name} ({fleet_id}): {exc}; its {len(everything)} "
                "rentals were destroyed, so nothing is left billing"
            ) from exc
        minimum = args.min_count or args.count
        if len(outcome.running) < minimum:
            destroy_all(client, [i.id for i in outcome.running.values()], f"fleet {fleet_id}")
            raise CreateFailed(
                f"GpuFleet {args.logical_name} ({fleet_id}): {len(outcome.running)} of "
                f"{args.count} members ran, fewer than min_count {minimum}. "
                f"{_reasons(outcome.failed)} Every member was destroyed, so nothing is left "
                "billing; widen the constraints, lower min_count, or deploy again."
            )
        return CreateResult(fleet_id, self._outs(args, fleet_id, outcome.running, outcome.failed))

    # --- read ------------------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        client = MarketplaceClient()
        # Cached: every resource of a refresh shares one listing.
        listed = client.instances(cached=True, reader=id_)
        held = held_members(listed, id_)
        held.update(_unmarked_recorded(listed, props, held))
        if not held:
            return self.gone()
        args = self.args(props)
        inputs = {k: v for k, v in props.items() if k in fields_of(GpuFleetArgs).arguments}
        return ReadResult(id_, self._outs(args, id_, held, {}), inputs)

    # --- update ----------------------------------------------------------------------------

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self.args(olds), self.args(news)
        client = MarketplaceClient()
        listed = client.instances(cached=True, reader=id_)
        held = _healthy(client, id_, _held(client, id_, listed, olds))
        for index, instance in held.items():
            wanted = rental_label(member_id(id_, index), new.label)
            if instance.label != wanted:
                client.set_label(instance.id, wanted)
            if (
                new.interruptible
                and instance.is_interruptible
                and (old.bid_price, old.bid_headroom, old.max_price_per_hour)
                != (new.bid_price, new.bid_headroom, new.max_price_per_hour)
            ):
                client.change_bid(instance.id, bid_for(new, instance.min_bid or 0.0))
        missing: dict[int, str] = {}
        if len(held) > new.count:
            leaving = _scale_down_order(held, new.scale_down)[: len(held) - new.count]
            log.info("fleet %s: removing members %s (%s first)", id_, sorted(leaving),
                     new.scale_down)  # fmt: skip
            destroy_all(client, [held.pop(index).id for index in leaving], f"fleet {id_}")
        elif len(held) < new.count:
            outcome = Outcome()
            to_rent = free_indices(held, new.count - len(held))
            machines = [i.machine_id for i in held.values()]
            try:
                bring_up(client, new, id_, to_rent, {}, outcome, machines_in_use=machines)
            except Exception as exc:
                destroy_all(client, list(outcome.rented.values()), f"fleet {id_}")
                raise ProviderError(
                    f"GpuFleet {new.logical_name} ({id_}): adding members failed ({exc}); the "
                    "members it rented were destroyed and the fleet is as before"
                ) from exc
            minimum = new.min_count or new.count
            if len(held) + len(outcome.running) < minimum:
                added = [i.id for i in outcome.running.values()]
                destroy_all(client, added, f"fleet {id_}")
                raise ProviderError(
                    f"GpuFleet {new.logical_name} ({id_}): {len(held) + len(outcome.running)} "
                    f"of {new.count} members would run, fewer than min_count {minimum}. "
                    f"{_reasons(outcome.failed)} The members added were destroyed, so the "
                    f"fleet keeps its {len(held)}; widen the constraints or lower min_count."
                )
            held.update(outcome.running)
            missing = outcome.failed
        return UpdateResult(self._outs(new, id_, held, missing))

    # --- delete ----------------------------------------------------------------------------

    def delete(self, id_: str, props: dict) -> None:
        """Destroy every member and return once none is left (listed afresh: a member another
        process rented moments ago must not be missed)."""
        client = MarketplaceClient()
        listed = client.instances()
        held = _unmarked_recorded(listed, props, held_members(listed, id_))
        doomed = {i.id for i in fleet_rentals(listed, id_)} | {i.id for i in held.values()}
        destroy_all(client, doomed, f"fleet {id_}")

    # --- outputs ---------------------------------------------------------------------------

    def _outs(
        self,
        args: GpuFleetArgs,
        fleet_id: str,
        held: dict[int, Instance],
        failed: dict[int, str],
    ) -> dict:
        members = [_member(fleet_id, index, held[index]) for index in sorted(held)]
        missing = [
            {"index": i, "logical_id": member_id(fleet_id, i), "reason": failed.get(i, reason)}
            for i, reason in _missing(fleet_id, args.count, held, failed)
        ]
        running = [m for m in members if m["status"] == "running"]
        total = sum(m["price_per_hour"] or 0.0 for m in members)
        return self.outs(
            args,
            logical_id=fleet_id,
            members=members,
            missing_members=missing,
            running_count=len(running),
            total_price_per_hour=round(total, 4),
            ssh_commands=[m["ssh_command"] for m in members if m["ssh_command"]],
        )


# --- helpers --------------------------------------------------------------------------------


def _member(fleet_id: str, index: int, instance: Instance) -> dict[str, Any]:
    return {
        "index": index,
        "logical_id": member_id(fleet_id, index),
        "contract_id": instance.id,
        "machine_id": instance.machine_id,
        "gpu_name": instance.gpu_name,
        "region": instance.geolocation,
        "price_per_hour": price_of(instance),
        "status": status_of(instance),
        "ssh_command": ssh_command_of(instance),
        "public_ip": instance.public_ipaddr,
        "ports": published_ports(instance),
    }


def _missing(
    fleet_id: str, count: int, held: dict[int, Instance], failed: dict[int, str]
) -> list[tuple[int, str]]:
    """Declared members not held: the failed ones with their reason, then any others."""
    shortfall = max(count - len(held), 0)
    out = [(i, failed[i]) for i in sorted(failed) if i not in held][:shortfall]
    others = free_indices({*held, *(i for i, _ in out)}, shortfall - len(out))
    out += [(i, "not on the marketplace (destroyed outside this stack?)") for i in others]
    return out


def _held(
    client: MarketplaceClient, fleet_id: str, listed: list[Instance], props: dict
) -> dict[int, Instance]:
    """The fleet's members by index; older duplicates of a member (two contracts carrying one
    member id) are destroyed, so that only declared members bill."""
    held = held_members(listed, fleet_id)
    current = {i.id for i in held.values()}
    extra = [i.id for i in fleet_rentals(listed, fleet_id) if i.id not in current]
    destroy_all(client, extra, f"fleet {fleet_id} (duplicate members)")
    held.update(_unmarked_recorded(listed, props, held))
    return held


def _healthy(
    client: MarketplaceClient, fleet_id: str, held: dict[int, Instance]
) -> dict[int, Instance]:
    """The held members without those in a state they never leave (destroyed here)."""
    dead = {n: i for n, i in held.items() if status_of(i) in TERMINAL}
    for index, instance in dead.items():
        log.info("fleet %s: member %d (contract %d) is %s; renting it anew",
                 fleet_id, index, instance.id, instance.actual_status)  # fmt: skip
    destroy_all(client, [i.id for i in dead.values()], f"fleet {fleet_id}")
    return {n: i for n, i in held.items() if n not in dead}


def _unmarked_recorded(
    listed: list[Instance], props: dict, held: dict[int, Instance]
) -> dict[int, Instance]:
    """Recorded members whose label lost its marker (edited outside the stack) and that no
    other resource claims."""
    by_id = {i.id: i for i in listed if logical_id_of(i.label) is None}
    found: dict[int, Instance] = {}
    for member in props.get("members") or []:
        if not isinstance(member, dict):
            continue
        index, contract = int(member.get("index", -1)), member.get("contract_id")
        if index >= 0 and index not in held and contract in by_id:
            found[index] = by_id[contract]  # type: ignore[index]
    return found


def _scale_down_order(held: dict[int, Instance], rule: str) -> list[int]:
    """Member indices in the order they leave when the fleet shrinks."""
    if rule == "oldest":
        return sorted(held, key=lambda n: held[n].id)
    if rule == "most_expensive":
        return sorted(held, key=lambda n: (-(held[n].dph_total or 0.0), -held[n].id))
    return sorted(held, key=lambda n: -held[n].id)  # newest: the latest contract first


def _reasons(failed: dict[int, str]) -> str:
    if not failed:
        return ""
    shown = [f"member {i}: {failed[i]}" for i in sorted(failed)[:MAX_REASONS_SHOWN]]
    more = len(failed) - len(shown)
    return "; ".join(shown) + (f"; and {more} more." if more > 0 else ".")

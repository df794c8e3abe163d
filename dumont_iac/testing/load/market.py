"""The marketplace's share of a load run: each client rents, lists, labels, reads back and
destroys, with the calls (and pacing) the provider makes; then every acknowledged write is
checked through the API.

One operation of a client: search offers, rent one (a label unique to this write), find it in
the listing, relabel it (a second unique label), read it back, destroy it. The last
operation's rental is kept, so the audit sees rentals that must exist (with their second
label) beside the ones that must be gone; the audit then destroys the kept ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.clients.marketplace.client import (
    DESTROY,
    LIST_INSTANCES,
    MANAGE,
    RENT,
    SEARCH,
    SHOW_INSTANCE,
)
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.testing.load.caller import Caller

PREFIX = "load-"
IMAGE = "nvidia/cuda:12.4.1-base-ubuntu22.04"
QUERY = OfferFilter(limit=200).to_query()
RENT_TRIES = 20  # offers tried per operation when other clients keep getting there first


@dataclass
class Ledger:
    """What one key's clients were told: each rental acknowledged (id -> its last acknowledged
    label), and those whose destroy was acknowledged."""

    rented: dict[int, str] = field(default_factory=dict)
    destroyed: set[int] = field(default_factory=set)

    @property
    def standing(self) -> dict[int, str]:
        return {c: name for c, name in self.rented.items() if c not in self.destroyed}


def label(client: int, op: int, version: int) -> str:
    return f"{PREFIX}c{client:03d}-o{op:02d}-v{version}"


async def run_client(caller: Caller, client: int, ops: int, ledger: Ledger) -> None:
    chooser = random.Random(client)
    for op in range(ops):
        contract = await _rent(caller, client, op, chooser, ledger)
        if contract is None:
            continue
        await _listed_with(caller, contract, label(client, op, 1))
        second = label(client, op, 2)
        answer = await caller.call("manage instance", "PUT", f"/api/v0/instances/{contract}/",
                                   MANAGE, json={"label": second})  # fmt: skip
        if answer is None or answer.status_code != 200:
            caller.unexpected("manage instance", answer)
        else:
            ledger.rented[contract] = second
        await _shown_with(caller, contract, ledger.rented[contract])
        if op < ops - 1:
            await destroy(caller, contract, ledger)


async def _rent(caller: Caller, client: int, op: int, chooser: random.Random,
                ledger: Ledger) -> int | None:  # fmt: skip
    answer = await caller.call("search offers", "POST", "/api/v0/bundles/", SEARCH, json=QUERY)
    if answer is None or answer.status_code != 200:
        caller.unexpected("search offers", answer)
        return None
    offers = [o["id"] for o in answer.json()["offers"]]
    chooser.shuffle(offers)  # a hundred clients all renting the cheapest would only collide
    body = RentRequest(image=IMAGE).to_body(label(client, op, 1))
    for offer in offers[:RENT_TRIES]:
        answer = await caller.call("rent", "PUT", f"/api/v0/asks/{offer}/", RENT, json=body)
        if answer is not None and answer.status_code in (404, 410):  # no_such_ask
            caller.figures.taken += 1
            continue
        if answer is None or answer.status_code != 200:
            caller.unexpected("rent", answer)
            return None
        contract = int(answer.json()["new_contract"])
        ledger.rented[contract] = body["label"]
        return contract
    caller.figures.errors.append(f"rent: {RENT_TRIES} offers taken in a row")
    return None


async def _listed_with(caller: Caller, contract: int, wanted: str) -> None:
    answer = await caller.call("show instances", "GET", "/api/v0/instances/", LIST_INSTANCES,
                               params={"owner": "me"})  # fmt: skip
    if answer is None or answer.status_code != 200:
        caller.unexpected("show instances", answer)
        return
    found = [i for i in answer.json()["instances"] if i["id"] == contract]
    if [i["label"] for i in found] != [wanted]:
        caller.figures.lost.append(f"rental {contract} acknowledged as {wanted!r}, listed as "
                                   f"{[i['label'] for i in found]}")  # fmt: skip


async def _shown_with(caller: Caller, contract: int, wanted: str) -> None:
    answer = await caller.call("show instance", "GET", f"/api/v0/instances/{contract}/",
                               SHOW_INSTANCE, params={"owner": "me"})  # fmt: skip
    if answer is None or answer.status_code != 200:
        caller.unexpected("show instance", answer)
        return
    row = answer.json().get("instances")
    shown = row.get("label") if isinstance(row, dict) else None
    if shown != wanted:
        caller.figures.lost.append(f"rental {contract} relabelled {wanted!r}, shows {shown!r}")


async def destroy(caller: Caller, contract: int, ledger: Ledger) -> None:
    answer = await caller.call("destroy instance", "DELETE", f"/api/v0/instances/{contract}/",
                               DESTROY)  # fmt: skip
    if answer is None or answer.status_code != 200:
        caller.unexpected("destroy instance", answer)
        return
    ledger.destroyed.add(contract)


async def audit(caller: Caller, ledger: Ledger) -> None:
    """Every acknowledged write of one key, against its listing: standing rentals present once
    with their last label, destroyed ones gone, no rental the clients were not told about; then
    the standing ones are destroyed, and must be gone too."""
    listed = await _listing(caller, ledger)
    if listed is None:
        return
    lost = caller.figures.lost
    for contract, wanted in ledger.standing.items():
        shown = listed.get(contract, {}).get("label")
        if shown != wanted:
            lost.append(f"rental {contract} ({wanted!r}) is listed as {shown!r}")
    by_label: dict[str, list[int]] = {}
    for contract, row in listed.items():
        by_label.setdefault(row["label"], []).append(contract)
        if contract not in ledger.rented:
            lost.append(f"rental {contract} ({row['label']!r}) was never acknowledged")
    for name, contracts in by_label.items():
        if len(contracts) > 1:
            lost.append(f"label {name!r} is rented {len(contracts)} times: {sorted(contracts)}")
    for contract in list(ledger.standing):
        await destroy(caller, contract, ledger)
    left = await _listing(caller, ledger)
    for contract in ledger.destroyed & (left or {}).keys():
        lost.append(f"rental {contract} was destroyed (acknowledged) but is still listed")


async def _listing(caller: Caller, ledger: Ledger) -> dict[int, Any] | None:
    """This key's rentals made by the load run, by id; None (counted as lost) when unreadable."""
    answer = await caller.call("show instances", "GET", "/api/v0/instances/", LIST_INSTANCES,
                               params={"owner": "me"})  # fmt: skip
    if answer is None or answer.status_code != 200:
        caller.unexpected("show instances", answer)
        caller.figures.lost.append(f"a key's listing could not be read: {len(ledger.rented)} "
                                   "rentals unchecked")  # fmt: skip
        return None
    return {i["id"]: i for i in answer.json()["instances"]
            if str(i.get("label") or "").startswith(PREFIX)}  # fmt: skip

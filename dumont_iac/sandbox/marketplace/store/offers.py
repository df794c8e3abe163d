"""Searching offers, and the market events a test can inject (taken offers, failed machines)."""

from __future__ import annotations

import json
from typing import Any

from dumont_iac.sandbox.marketplace.errors import NoSuchAsk
from dumont_iac.sandbox.marketplace.query import OFFERS, compile_search
from dumont_iac.sandbox.marketplace.store import rows
from dumont_iac.sandbox.marketplace.store.base import OFFLINE_MSG, StoreBase, operation
from dumont_iac.sandbox.marketplace.store.shapes import (
    GpuNames,
    MachineFailed,
    MachineRecovered,
    Offer,
    TakenOffer,
)


class OfferActions(StoreBase):
    @operation
    def search_offers(self, query: Any) -> list[Offer]:
        search = compile_search(query, OFFERS, self.now)
        found = self._dicts(
            f"SELECT * FROM offers WHERE {search.where} ORDER BY {search.order_by} LIMIT :_limit",
            {**search.params, "_limit": search.limit},
        )
        return [rows.offer(row, search, self.now) for row in found]

    @operation
    def gpu_names(self) -> GpuNames:
        names = {attrs["gpu_name"] for attrs in self._all_machines()}
        return {"gpu_names": sorted(names)}

    def _all_machines(self) -> list[dict[str, Any]]:
        return [json.loads(row["attrs"]) for row in self._db.execute("SELECT attrs FROM machines")]

    @operation
    def take_offer(self, ask_id: int) -> TakenOffer:
        """Another tenant rents the offer: its GPUs are gone until the machine fails."""
        offer = self._db.execute("SELECT * FROM offers WHERE id = ?", (ask_id,)).fetchone()
        if offer is None:
            raise NoSuchAsk(ask_id)
        self._db.execute(
            "INSERT INTO leases (machine_id, gpu_ids, price, created_at) VALUES (?, ?, ?, ?)",
            (offer["machine_id"], offer["gpu_ids"], offer["dph_base"], self.now),
        )
        self._db.execute("DELETE FROM offers WHERE id = ?", (ask_id,))
        self._refresh_machine(offer["machine_id"])
        return {"ask_id": ask_id, "machine_id": offer["machine_id"]}

    @operation
    def fail_machine(self, machine_id: int) -> MachineFailed:
        self._machine(machine_id)
        self._db.execute("UPDATE machines SET failed = 1 WHERE id = ?", (machine_id,))
        cursor = self._db.execute(
            "UPDATE instances SET actual = 'offline', since = ?, status_msg = ? "
            "WHERE machine_id = ? AND destroyed_at IS NULL",
            (self.now, OFFLINE_MSG.format(m=machine_id), machine_id),
        )
        self._db.execute("DELETE FROM leases WHERE machine_id = ?", (machine_id,))
        self._refresh_machine(machine_id)
        return {"machine_id": machine_id, "instances_offline": cursor.rowcount}

    @operation
    def recover_machine(self, machine_id: int) -> MachineRecovered:
        self._machine(machine_id)
        self._db.execute("UPDATE machines SET failed = 0 WHERE id = ?", (machine_id,))
        self._refresh_machine(machine_id)
        return {"machine_id": machine_id}

"""Local volumes and the account (balance, SSH keys).

A local volume is disk on one machine: it is created from that machine's volume offer, attaches
only to instances on the same machine, and cannot be deleted while an instance (running or
stopped) uses it. It bills storage from creation until deleted.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.sandbox.core import db
from dumont_iac.sandbox.marketplace import bodies
from dumont_iac.sandbox.marketplace.errors import InvalidArgs, InvalidRequest, NoSuchVolume
from dumont_iac.sandbox.marketplace.query import VOLUME_OFFERS, compile_search
from dumont_iac.sandbox.marketplace.store import rows
from dumont_iac.sandbox.marketplace.store.base import StoreBase, operation
from dumont_iac.sandbox.marketplace.store.shapes import (
    Account,
    Done,
    SshKey,
    SshKeyAdded,
    Volume,
    VolumeCreated,
    VolumeOffer,
    Volumes,
)


class VolumeActions(StoreBase):
    @operation
    def search_volume_offers(self, query: Any) -> list[VolumeOffer]:
        search = compile_search(query, VOLUME_OFFERS, self.now)
        found = self._dicts(
            f"SELECT * FROM volume_offers WHERE {search.where} ORDER BY {search.order_by} "
            "LIMIT :_limit",
            {**search.params, "_limit": search.limit},
        )
        return [rows.volume_offer(row, search, self.now) for row in found]

    @operation
    def create_volume(self, user_id: int, body: Any) -> VolumeCreated:
        request = bodies.parse(bodies.VolumeCreate, body)
        volume_id = self._new_volume(user_id, request.id, request.size, request.name)
        return {"success": True, "volume_name": f"V.{volume_id}"}

    @operation
    def list_volumes(self, user_id: int) -> Volumes:
        result: list[Volume] = []
        for row in self._db.execute(
            "SELECT * FROM volumes WHERE user_id = ? AND deleted_at IS NULL ORDER BY id", (user_id,)
        ).fetchall():
            result.append(
                rows.volume(row, self._machine(row["machine_id"]), self._users_of(row["id"]),
                            self.now)
            )  # fmt: skip
        return {"volumes": result}

    def _users_of(self, volume_id: int) -> list[int]:
        return [
            r["instance_id"]
            for r in self._db.execute(
                "SELECT a.instance_id FROM attachments a JOIN instances i ON i.id = a.instance_id "
                "WHERE a.volume_id = ? AND i.destroyed_at IS NULL ORDER BY a.instance_id",
                (volume_id,),
            )
        ]

    @operation
    def delete_volume(self, user_id: int, volume_id: int) -> Done:
        row = self._db.execute(
            "SELECT * FROM volumes WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
            (volume_id, user_id),
        ).fetchone()
        if row is None:
            raise NoSuchVolume(volume_id)
        attached = self._users_of(volume_id)
        if attached:
            raise InvalidRequest(
                f"Volume V.{volume_id} is attached to instance(s) "
                f"{', '.join(str(i) for i in attached)} (running or stopped); destroy them first.",
                volume_id=volume_id,
                instances=attached,
            )
        self._db.execute("UPDATE volumes SET deleted_at = ? WHERE id = ?", (self.now, volume_id))
        self._refresh_machine(row["machine_id"])
        return {"success": True}

    @operation
    def current_user(self, user_id: int) -> Account:
        row = self._db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        key = self._db.execute(
            "SELECT public_key FROM ssh_keys WHERE user_id = ? AND deleted_at IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
        credit = row["credit"]
        return {
            "id": row["id"],
            "username": f"user{row['id']}",
            "fullname": f"Sandbox user {row['id']}",
            "email": row["email"],
            "email_verified": True,
            "credit": credit,
            "balance": max(0.0, -credit),
            "balance_threshold": 0.0,
            "balance_threshold_enabled": False,
            "can_pay": True,
            "has_billing": True,
            "billing_creditonly": True,
            "got_signup_credit": True,
            "ssh_key": None if key is None else key["public_key"],
            "created_at": row["created_at"],
        }

    def _key_row(self, row: Any) -> SshKey:
        return {
            "id": row["id"],
            "user_id": row["user_id"],
            "public_key": row["public_key"],
            "created_at": row["created_at"],
            "deleted_at": row["deleted_at"],
        }

    @operation
    def list_ssh_keys(self, user_id: int) -> list[SshKey]:
        return [
            self._key_row(row)
            for row in self._db.execute(
                "SELECT * FROM ssh_keys WHERE user_id = ? AND deleted_at IS NULL ORDER BY id",
                (user_id,),
            )
        ]

    @operation
    def add_ssh_key(self, user_id: int, body: Any) -> SshKeyAdded:
        request = bodies.parse(bodies.SshKeyBody, body)
        key_id = db.insert_row(self._db, "ssh_keys", {
            "user_id": user_id, "public_key": request.ssh_key, "created_at": self.now,
        })  # fmt: skip
        row = self._db.execute("SELECT * FROM ssh_keys WHERE id = ?", (key_id,)).fetchone()
        return {"success": True, "key": self._key_row(row)}

    @operation
    def delete_ssh_key(self, user_id: int, key_id: int) -> Done:
        cursor = self._db.execute(
            "UPDATE ssh_keys SET deleted_at = ? WHERE id = ? AND user_id = ? "
            "AND deleted_at IS NULL",
            (self.now, key_id, user_id),
        )
        if cursor.rowcount == 0:
            raise InvalidArgs(f"No ssh key with id {key_id}.", status=404, field="id")
        return {"success": True}

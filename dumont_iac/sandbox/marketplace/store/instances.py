"""Renting offers and everything a renter does to an instance afterwards."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from typing import Any

from dumont_iac.sandbox.core import db
from dumont_iac.sandbox.core.errors import ServiceError
from dumont_iac.sandbox.marketplace import bodies
from dumont_iac.sandbox.marketplace.errors import (
    InvalidArgs,
    InvalidPrice,
    InvalidRequest,
    NoSuchAsk,
    NoSuchInstance,
    NoSuchVolume,
)
from dumont_iac.sandbox.marketplace.lifecycle import HOLDS_GPUS, loading_seconds
from dumont_iac.sandbox.marketplace.market import HOURS_PER_MONTH
from dumont_iac.sandbox.marketplace.query import INSTANCES, compile_row_filter, parse_order
from dumont_iac.sandbox.marketplace.store import rows
from dumont_iac.sandbox.marketplace.store.base import OFFLINE_MSG, OUTBID_MSG, StoreBase, operation
from dumont_iac.sandbox.marketplace.store.shapes import (
    AttachedVolume,
    BulkRented,
    Done,
    Instance,
    InstanceFilters,
    InstancePage,
    Outbid,
    Outcome,
    Rented,
    RentOutcome,
    Results,
    StallsArmed,
    StallsReleased,
)

PAGE_LIMIT = 25
OUTBID_MARKUP = 1.25
STALL_META = "stalled_rentals_armed"
STALLED_LOADING_SECONDS = 10 * 365 * 86400.0  # longer than any test runs, in sandbox time
MAX_STALLS = 1000


class InstanceActions(StoreBase):
    @operation
    def rent(self, user_id: int, ask_id: int, body: Any) -> Rented:
        request = bodies.parse(bodies.RentBody, body).checked()
        return {"success": True, "new_contract": self._rent(user_id, ask_id, request)}

    @operation
    def rent_many(self, user_id: int, body: Any) -> BulkRented:
        """Rent every offer in ``ids`` with one body. Each offer rents or fails on its own (a
        taken offer does not undo the others); when none can be rented, the first one's error
        is the answer."""
        request = bodies.parse(bodies.BulkRentBody, body)
        request.checked()
        if len(set(request.ids)) != len(request.ids):
            raise InvalidArgs("ids: each offer can be rented once; remove the repeated ids.",
                              field="ids")  # fmt: skip
        results: dict[str, RentOutcome] = {}
        contracts: list[int] = []
        first_error: ServiceError | None = None
        for ask_id in request.ids:
            self._db.execute("SAVEPOINT rent_one")
            try:
                contract = self._rent(user_id, ask_id, request)
            except ServiceError as exc:
                self._db.execute("ROLLBACK TO rent_one")
                first_error = first_error or exc
                results[str(ask_id)] = {"success": False, "error": exc.code, "msg": exc.msg}
            else:
                contracts.append(contract)
                results[str(ask_id)] = {"success": True, "new_contract": contract}
            finally:
                self._db.execute("RELEASE rent_one")
        if not contracts and first_error is not None:
            raise first_error
        answer: BulkRented = {
            "success": len(contracts) == len(request.ids),
            "new_contracts": contracts,
            "results": results,
        }
        if not answer["success"]:
            answer["msg"] = (
                f"{len(contracts)} of {len(request.ids)} offers rented; see results for the others."
            )
        return answer

    def _rent(self, user_id: int, ask_id: int, request: bodies.RentBody) -> int:
        offer = self._db.execute("SELECT * FROM offers WHERE id = ?", (ask_id,)).fetchone()
        if offer is None or not offer["rentable"]:
            raise NoSuchAsk(ask_id, status=410 if request.cancel_unavail else 404)
        machine_id = offer["machine_id"]
        attrs = self._machine(machine_id)
        is_bid = request.price is not None
        price = request.price if is_bid else offer["dph_base"]
        if is_bid and request.price < offer["min_bid"]:
            raise InvalidPrice(
                f"price {request.price} is below the minimum bid {offer['min_bid']} $/h for "
                f"ask {ask_id}; bid at least that.",
                field="price",
                min_bid=offer["min_bid"],
            )
        free_disk = self._free_disk(machine_id)
        if request.disk > free_disk:
            raise InvalidArgs(
                f"disk={request.disk:g} GB is more than the {free_disk:g} GB free on machine "
                f"{machine_id}.",
                field="disk",
            )
        hourly = price + request.disk * offer["storage_cost"] / HOURS_PER_MONTH
        self._require_credit(user_id, hourly)
        attach = self._volume_for_rental(user_id, request, machine_id, free_disk)

        start = request.target_state != "stopped"
        snapshot = {**attrs, **dict(offer), "machine_num_gpus": attrs["num_gpus"]}
        instance_id = db.insert_row(self._db, "instances", {
            "user_id": user_id, "machine_id": machine_id, "ask_id": ask_id,
            "num_gpus": offer["num_gpus"], "gpu_ids": offer["gpu_ids"],
            "actual": "created" if start else "stopped",
            "intended": "running" if start else "stopped",
            "since": self.now, "loading_seconds": 0.0,
            "status_msg": "Creating the container." if start else "Created stopped.",
            "image": request.image, "disk": request.disk, "label": request.label,
            "env": json.dumps(request.env or {}), "onstart": request.onstart,
            "args": json.dumps(request.args) if request.args is not None else None,
            "runtype": request.runtype, "is_bid": is_bid, "price": price,
            "storage_cost": offer["storage_cost"], "ports": "{}", "ssh_port": 0,
            "offer": json.dumps(snapshot), "created_at": self.now,
        })  # fmt: skip
        self._db.execute(
            "UPDATE instances SET loading_seconds = ?, ports = ?, ssh_port = ? WHERE id = ?",
            (
                self._loading_seconds_of_new(request.image or "", instance_id, start),
                json.dumps(self._host_ports(instance_id, attrs, request.ports())),
                10_000 + (instance_id * 7919) % 50_000,
                instance_id,
            ),
        )
        if attach is not None:
            volume_id, mount_path = attach
            self._db.execute(
                "INSERT INTO attachments (instance_id, volume_id, mount_path) VALUES (?, ?, ?)",
                (instance_id, volume_id, mount_path),
            )
        self._db.execute("DELETE FROM offers WHERE id = ?", (ask_id,))
        self._refresh_machine(machine_id)
        return instance_id

    def _loading_seconds_of_new(self, image: str, instance_id: int, start: bool) -> float:
        """The pull time of a new rental; an armed stall makes it endless (until released)."""
        stalls = int(self._meta(STALL_META) or 0)
        if start and stalls > 0:
            self._set_meta(STALL_META, str(stalls - 1))
            return STALLED_LOADING_SECONDS
        return loading_seconds(image, instance_id)

    @operation
    def stall_next_rentals(self, times: int) -> StallsArmed:
        """The next ``times`` rentals that start stay ``loading`` until ``release_stalls``:
        an image pull that never finishes, for testing create timeouts."""
        if not 1 <= times <= MAX_STALLS:
            raise InvalidArgs(f"times={times} must be from 1 to {MAX_STALLS}.", field="times")
        armed = int(self._meta(STALL_META) or 0) + times
        self._set_meta(STALL_META, str(armed))
        return {"armed": armed}

    @operation
    def release_stalls(self) -> StallsReleased:
        """Disarm pending stalls; stalled rentals finish loading after their usual pull time
        (counted from when they began loading, so a long-stalled one runs at once)."""
        disarmed = int(self._meta(STALL_META) or 0)
        self._set_meta(STALL_META, "0")
        stalled = self._db.execute(
            "SELECT id, image FROM instances WHERE loading_seconds >= ? AND destroyed_at IS NULL",
            (STALLED_LOADING_SECONDS,),
        ).fetchall()
        for row in stalled:
            self._db.execute(
                "UPDATE instances SET loading_seconds = ? WHERE id = ?",
                (loading_seconds(row["image"], row["id"]), row["id"]),
            )
        return {"released": len(stalled), "disarmed": disarmed}

    @staticmethod
    def _host_ports(instance_id: int, attrs: dict[str, Any], asked: list[str]) -> dict[str, str]:
        """Host ports for 22/tcp and the asked container ports: direct ports when the machine
        has enough of them, else high ports of its proxy."""
        specs = ["22/tcp", *[spec for spec in asked if spec != "22/tcp"]]
        count, start = attrs["direct_port_count"], attrs["direct_port_start"]
        if count >= len(specs):
            base = start + (instance_id * len(specs)) % max(1, count - len(specs) + 1)
        else:
            base = 20_000 + (instance_id * 37) % 40_000
        return {spec: str(base + offset) for offset, spec in enumerate(specs)}

    def _volume_for_rental(
        self, user_id: int, request: bodies.RentBody, machine_id: int, free_disk: float
    ) -> tuple[int, str] | None:
        info = request.volume_info
        if info is None:
            return None
        if info.create_new:
            offer = self._db.execute(
                "SELECT machine_id FROM volume_offers WHERE id = ?", (info.volume_id,)
            ).fetchone()
            if offer is None or offer["machine_id"] != machine_id:
                raise InvalidArgs(
                    f"volume_info.volume_id={info.volume_id}: a new volume must come from the "
                    f"volume offer of the instance's machine {machine_id}; search volume offers "
                    f"with machine_id eq {machine_id}.",
                    field="volume_info.volume_id",
                )
            volume_id = self._new_volume(
                user_id, info.volume_id, info.size or 15.0, info.name, reserved=request.disk
            )
            return volume_id, info.mount_path
        volume = self._db.execute(
            "SELECT machine_id FROM volumes WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
            (info.volume_id, user_id),
        ).fetchone()
        if volume is None:
            raise NoSuchVolume(info.volume_id)
        if volume["machine_id"] != machine_id:
            raise InvalidArgs(
                f"volume_info.volume_id={info.volume_id}: volume V.{info.volume_id} lives on "
                f"machine {volume['machine_id']} and attaches only to instances there; this "
                f"offer is on machine {machine_id}.",
                field="volume_info.volume_id",
            )
        return info.volume_id, info.mount_path

    def _own(self, user_id: int, instance_id: int) -> Any:
        row = self._db.execute(
            "SELECT * FROM instances WHERE id = ? AND user_id = ? AND destroyed_at IS NULL",
            (instance_id, user_id),
        ).fetchone()
        if row is None:
            raise NoSuchInstance(instance_id)
        return row

    def _render(self, row: Any) -> Instance:
        volumes: list[AttachedVolume] = [
            {"id": v["volume_id"], "volume_name": f"V.{v['volume_id']}",
             "mount_path": v["mount_path"], "total_space": v["size"], "avail_space": v["size"]}
            for v in self._db.execute(
                "SELECT a.volume_id, a.mount_path, v.size FROM attachments a "
                "JOIN volumes v ON v.id = a.volume_id WHERE a.instance_id = ?", (row["id"],)
            )
        ]  # fmt: skip
        return rows.instance(row, volumes, self.now)

    def _rows_of(self, user_id: int) -> list[Instance]:
        return [
            self._render(row)
            for row in self._db.execute(
                "SELECT * FROM instances WHERE user_id = ? AND destroyed_at IS NULL ORDER BY id",
                (user_id,),
            )
        ]

    @operation
    def list_instances(self, user_id: int) -> list[Instance]:
        return self._rows_of(user_id)

    @operation
    def get_instance(self, user_id: int, instance_id: int) -> Instance | None:
        try:
            return self._render(self._own(user_id, instance_id))
        except NoSuchInstance:
            return None

    @operation
    def list_instances_page(
        self,
        user_id: int,
        select_filters: Any = None,
        order_by: Any = None,
        limit: Any = None,
        after_token: str | None = None,
        select_cols: Any = None,
    ) -> InstancePage:
        keep = compile_row_filter(select_filters)
        order = parse_order(order_by, INSTANCES) or [("id", False)]
        size = _page_limit(limit)
        offset = _decode_token(after_token)
        found = [row for row in self._rows_of(user_id) if keep(row)]
        for name, descending in reversed(order):  # stable sorts, last key first
            found.sort(key=functools.partial(_sort_key, name), reverse=descending)
        page = found[offset : offset + size]
        more = offset + size < len(found)
        labels: dict[str, int] = {}
        for row in found:
            labels[row["label"] or ""] = labels.get(row["label"] or "", 0) + 1
        return {
            "success": True,
            "instances_found": len(page),
            "total_instances": len(found),
            "next_token": _encode_token(offset + size) if more else None,
            "label_counts": labels,
            "instances": [_project(row, select_cols) for row in page],
        }

    @operation
    def instance_filters(self, user_id: int) -> InstanceFilters:
        combos = {
            (row["actual_status"], row["verification"], row["gpu_name"])
            for row in self._rows_of(user_id)
        }
        return {
            "filters": [
                {"actual_status": status, "verification": verification, "gpu_name": gpu}
                for status, verification, gpu in sorted(combos)
            ]
        }

    @operation
    def manage_instance(self, user_id: int, instance_id: int, body: Any) -> Outcome:
        update = bodies.parse(bodies.InstanceUpdate, body)
        return self._manage(user_id, instance_id, update)

    @operation
    def manage_instances(self, user_id: int, body: Any) -> Results:
        update = bodies.parse(bodies.BulkInstanceUpdate, body)
        results = {str(i): self._manage(user_id, i, update) for i in update.ids}
        failed = [i for i, result in results.items() if not result["success"]]
        return {"success": not failed, "results": results}

    def _manage(self, user_id: int, instance_id: int, update: bodies.InstanceUpdate) -> Outcome:
        if update.state is None and update.label is None:
            raise InvalidArgs(
                'Give "state" ("running" or "stopped") or "label" to change.', field="state"
            )
        row = self._own(user_id, instance_id)
        if update.label is not None:
            bodies.check_label(update.label)
            self._db.execute(
                "UPDATE instances SET label = ? WHERE id = ?", (update.label, row["id"])
            )
        if update.state == "stopped":
            return self._stop(row)
        if update.state == "running":
            return self._start(row)
        return {"success": True}

    def _stop(self, row: Any) -> Outcome:
        if row["actual"] == "offline":
            return {"success": False, "msg": OFFLINE_MSG.format(m=row["machine_id"])}
        if row["actual"] in HOLDS_GPUS:
            self._db.execute(
                "UPDATE instances SET actual = 'stopped', intended = 'stopped', since = ?, "
                "status_msg = 'Stopped by the renter.' WHERE id = ?",
                (self.now, row["id"]),
            )
            self._refresh_machine(row["machine_id"])
        else:
            self._db.execute("UPDATE instances SET intended = 'stopped' WHERE id = ?", (row["id"],))
        return {"success": True}

    def _start(self, row: Any) -> Outcome:
        if row["actual"] == "offline":
            return {"success": False, "msg": OFFLINE_MSG.format(m=row["machine_id"])}
        if row["actual"] == "exited":  # its container crashed: it never runs again
            return {"success": False, "msg": row["status_msg"]}
        if row["actual"] in HOLDS_GPUS:
            self._db.execute("UPDATE instances SET intended = 'running' WHERE id = ?", (row["id"],))
            return {"success": True}
        self._require_credit(row["user_id"], row["price"])
        self._db.execute("UPDATE instances SET intended = 'running' WHERE id = ?", (row["id"],))
        lease = self._lease_of(row["id"])
        if lease is not None:
            return {"success": True, "msg": OUTBID_MSG.format(price=lease["price"])}
        self._try_start(self._own(row["user_id"], row["id"]))
        return {"success": True}

    @operation
    def reboot(self, user_id: int, instance_id: int) -> Outcome:
        row = self._own(user_id, instance_id)
        if row["actual"] != "running":
            return {
                "success": False,
                "msg": f"Instance {instance_id} is {row['actual']}; only a running instance "
                "can be rebooted.",
            }
        self._db.execute(
            "UPDATE instances SET actual = 'rebooting', since = ?, status_msg = 'Rebooting.' "
            "WHERE id = ?",
            (self.now, instance_id),
        )
        return {"success": True}

    @operation
    def change_bid(self, user_id: int, instance_id: int, body: Any) -> Done:
        request = bodies.parse(bodies.BidChange, body)
        row = self._own(user_id, instance_id)
        if not row["is_bid"]:
            raise InvalidArgs(
                f"Instance {instance_id} is on-demand; only an interruptible instance has a bid.",
                field="id",
            )
        min_bid = json.loads(row["offer"])["min_bid"]
        lease = self._lease_of(instance_id)
        price = request.price
        if price is None:  # the client's default: a winning bid
            price = max(min_bid, lease["price"] + 0.001 if lease is not None else 0.0)
        if price < min_bid:
            raise InvalidPrice(
                f"price {price} is below the minimum bid {min_bid} $/h of instance {instance_id}.",
                field="price",
                min_bid=min_bid,
            )
        self._db.execute("UPDATE instances SET price = ? WHERE id = ?", (price, instance_id))
        if lease is not None and price > lease["price"]:
            # The higher bid wins the GPUs back.
            self._db.execute("DELETE FROM leases WHERE id = ?", (lease["id"],))
            if row["intended"] == "running" and not self._try_start(
                self._own(user_id, instance_id)
            ):
                self._refresh_machine(row["machine_id"])
        return {"success": True}

    @operation
    def destroy(self, user_id: int, instance_id: int) -> Done:
        return self._destroy(user_id, instance_id)

    @operation
    def destroy_instances(self, user_id: int, body: Any) -> Results:
        request = bodies.parse(bodies.BulkDestroy, body)
        results = {str(i): self._destroy(user_id, i) for i in request.instance_ids}
        return {"success": True, "results": results}

    def _destroy(self, user_id: int, instance_id: int) -> Outcome:
        row = self._own(user_id, instance_id)
        self._db.execute(
            "UPDATE instances SET destroyed_at = ?, actual = 'exited', intended = 'stopped', "
            "status_msg = 'Destroyed.' WHERE id = ?",
            (self.now, instance_id),
        )
        self._db.execute("DELETE FROM attachments WHERE instance_id = ?", (instance_id,))
        self._db.execute("DELETE FROM leases WHERE instance_id = ?", (instance_id,))
        # Its workspace goes with its disk: nothing can read it after a destroy.
        self._db.execute("DELETE FROM workspace_files WHERE instance_id = ?", (instance_id,))
        self._refresh_machine(row["machine_id"])
        return {"success": True}

    @operation
    def outbid(self, instance_id: int) -> Outbid:
        """A higher bid takes the interruptible instance's GPUs: it stops and keeps its data;
        its renter still wants it running, and it resumes once its bid is the higher again."""
        row = self._db.execute(
            "SELECT * FROM instances WHERE id = ? AND destroyed_at IS NULL", (instance_id,)
        ).fetchone()
        if row is None:
            raise NoSuchInstance(instance_id)
        if not row["is_bid"]:
            raise InvalidArgs(
                f"Instance {instance_id} is on-demand; only interruptible instances are outbid.",
                field="instance_id",
            )
        if row["actual"] not in HOLDS_GPUS:
            raise InvalidRequest(
                f"Instance {instance_id} is {row['actual']} and holds no GPUs to lose.",
                instance_id=instance_id,
            )
        price = round(row["price"] * OUTBID_MARKUP + 0.01, 4)
        self._db.execute(
            "INSERT INTO leases (machine_id, gpu_ids, price, instance_id, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (row["machine_id"], row["gpu_ids"], price, instance_id, self.now),
        )
        self._db.execute(
            "UPDATE instances SET actual = 'stopped', intended = 'running', since = ?, "
            "status_msg = ? WHERE id = ?",
            (self.now, OUTBID_MSG.format(price=price), instance_id),
        )
        self._refresh_machine(row["machine_id"])
        return {"instance_id": instance_id, "winning_bid": price}


def _sort_key(name: str, row: Mapping[str, Any]) -> tuple[bool, Any]:
    # Missing values sort before any value, and never get compared with one.
    return (row.get(name) is not None, row.get(name))


def _page_limit(value: Any) -> int:
    if value is None or value == "":
        return PAGE_LIMIT
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise InvalidArgs(
            f"limit={value!r} must be a whole number from 1 to {PAGE_LIMIT}.", field="limit"
        )
    return min(number, PAGE_LIMIT)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidArgs(
            f"after_token={token!r} is not a token this server gave; pass the next_token of "
            "the previous page.",
            field="after_token",
        )
    return offset


def _project(row: Instance, select_cols: Any) -> dict[str, Any]:
    if not select_cols or select_cols == ["*"] or not isinstance(select_cols, list):
        return dict(row)
    wanted = {"id", *[c for c in select_cols if isinstance(c, str)]}
    return {key: value for key, value in row.items() if key in wanted}

"""The store without HTTP: renting slices, validation, instance listings, volumes, accounts,
persistence across restarts, and concurrent renters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from vastai.api.instances import build_create_instance_payload

from dumont_iac.sandbox.marketplace.errors import (
    InsufficientBalance,
    InvalidArgs,
    InvalidPrice,
    InvalidRequest,
    LabelTooLong,
    MarketplaceError,
    NoSuchAsk,
    NoSuchInstance,
    NoSuchVolume,
)
from dumont_iac.sandbox.marketplace.store import Store

from .frozen_store import IMAGE, KEY, NOW, make_store


def machine_offers(store: Store, machine_id: int) -> list[dict]:
    return store.search_offers(
        {"machine_id": {"eq": machine_id}, "rentable": {"in": [True, False]}, "limit": 100}
    )


def eight_gpu_machine(store: Store, skip: int = 0) -> int:
    offers = store.search_offers(
        {"num_gpus": {"eq": 8}, "order": [["machine_id", "asc"]], "limit": 100}
    )
    return offers[skip]["machine_id"]


def slice_of(store: Store, machine_id: int, size: int) -> dict:
    return next(o for o in machine_offers(store, machine_id) if o["num_gpus"] == size)


def rent(store: Store, user: int, ask_id: int, **body: object) -> int:
    return store.rent(user, ask_id, {"image": IMAGE, **body})["new_contract"]


# --- renting slices ---------------------------------------------------------------------------


def test_renting_a_slice_re_offers_the_rest_under_fresh_ids(store: Store, user: int) -> None:
    machine = eight_gpu_machine(store)
    before = machine_offers(store, machine)
    assert sorted(o["num_gpus"] for o in before) == [1, 2, 4, 8]
    two = next(o for o in before if o["num_gpus"] == 2)

    rent(store, user, two["id"])

    after = machine_offers(store, machine)
    assert sorted(o["num_gpus"] for o in after) == [1, 2, 4]  # 6 GPUs left
    assert not {o["id"] for o in after} & {o["id"] for o in before}
    assert min(o["id"] for o in after) > max(o["id"] for o in before)
    used = set(two["gpu_ids"])
    assert all(not used & set(o["gpu_ids"]) for o in after)


def test_an_ask_rents_once(store: Store, user: int) -> None:
    ask = slice_of(store, eight_gpu_machine(store), 1)["id"]
    rent(store, user, ask)
    with pytest.raises(NoSuchAsk) as taken:
        rent(store, user, ask)
    assert taken.value.status == 404 and taken.value.code == "invalid_args"
    assert "no_such_ask" in taken.value.msg and taken.value.extra["ask_id"] == ask
    with pytest.raises(NoSuchAsk) as cancelled:
        rent(store, user, ask, cancel_unavail=True)
    assert cancelled.value.status == 410 and cancelled.value.code == "no_such_ask"


def test_sibling_slices_of_a_rented_machine_are_withdrawn(store: Store, user: int) -> None:
    machine = eight_gpu_machine(store)
    one, four = slice_of(store, machine, 1), slice_of(store, machine, 4)
    rent(store, user, one["id"])
    with pytest.raises(NoSuchAsk):
        rent(store, user, four["id"])


def test_another_tenant_taking_an_offer(store: Store, user: int) -> None:
    machine = eight_gpu_machine(store)
    eight = slice_of(store, machine, 8)
    store.take_offer(eight["id"])
    assert machine_offers(store, machine) == []
    with pytest.raises(NoSuchAsk):
        rent(store, user, eight["id"])
    with pytest.raises(NoSuchAsk):
        store.take_offer(eight["id"])


def test_a_rental_records_what_the_official_client_needs(store: Store, user: int) -> None:
    offer = slice_of(store, eight_gpu_machine(store), 2)
    instance_id = rent(
        store, user, offer["id"], disk=32, label="train-a", onstart="echo hi",
        env={"HF_HOME": "/hf", "-p 8000:8000": "1", "-p 5353:5353/udp": "1"},
    )  # fmt: skip
    row = store.get_instance(user, instance_id)
    assert row is not None
    required = (
        "id label actual_status intended_status cur_state next_state status_msg image_uuid "
        "machine_id host_id num_gpus gpu_name gpu_ram disk_space dph_total dph_base min_bid "
        "is_bid ssh_host ssh_port public_ipaddr ports geolocation reliability2 start_date "
        "end_date extra_env volume_info"
    ).split()
    assert not [name for name in required if name not in row]
    assert row["start_date"] == pytest.approx(NOW, abs=1)
    assert row["extra_env"] == [["HF_HOME", "/hf"]]
    assert row["label"] == "train-a" and row["image_uuid"] == IMAGE
    assert row["machine_id"] == offer["machine_id"] and row["num_gpus"] == 2
    assert row["gpu_name"] == offer["gpu_name"] and row["disk_space"] == 32
    assert row["dph_base"] == offer["dph_base"] and not row["is_bid"]
    assert row["dph_total"] == pytest.approx(offer["dph_base"] + 32 * offer["storage_cost"] / 720)
    assert row["actual_status"] == "created" and row["intended_status"] == "running"
    assert row["ports"] is None  # only a running instance has ports


def test_the_official_clients_full_payload_is_accepted(store: Store, user: int) -> None:
    offer = slice_of(store, eight_gpu_machine(store), 1)
    payload = build_create_instance_payload(
        image=IMAGE, disk=16, env="-e TZ=UTC -p 8081:8081/udp", label="x", ssh=True, direct=True,
        onstart_cmd="echo up", bid_price=offer["min_bid"] + 0.01,
    )  # fmt: skip
    assert payload["extra"] is None and payload["template_hash_id"] is None
    instance_id = store.rent(user, offer["id"], payload)["new_contract"]
    row = store.get_instance(user, instance_id)
    assert row is not None and row["is_bid"]
    assert row["dph_base"] == pytest.approx(offer["min_bid"] + 0.01)
    assert row["extra_env"] == [["TZ", "UTC"]]


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"image": ""}, InvalidArgs, "image"),
        ({"image": "   "}, InvalidArgs, "image"),
        ({"image": None}, InvalidArgs, "image"),
        ({"image": 5}, InvalidArgs, "image"),
        ({"disk": 4}, InvalidArgs, "disk"),
        ({"disk": -10}, InvalidArgs, "disk"),
        ({"disk": "lots"}, InvalidArgs, "disk"),
        ({"disk": 90_000}, InvalidArgs, "disk"),
        ({"label": "x" * 257}, LabelTooLong, "label"),
        ({"label": 7}, InvalidArgs, "label"),
        ({"env": {"A": 1}}, InvalidArgs, "env.A"),
        ({"env": ["A=1"]}, InvalidArgs, "env"),
        ({"onstart": "x" * 4097}, InvalidArgs, "onstart"),
        ({"onstart": "x" * 4000, "args": ["y" * 200]}, InvalidArgs, "onstart"),
        ({"price": 0.0001}, InvalidPrice, "price"),
        ({"price": "cheap"}, InvalidArgs, "price"),
        ({"price": -1}, InvalidArgs, "price"),
        ({"runtype": "telnet"}, InvalidArgs, "runtype"),
        ({"target_state": "paused"}, InvalidArgs, "target_state"),
        ({"cancel_unavail": "perhaps"}, InvalidArgs, "cancel_unavail"),
        ({"volume_info": {"create_new": False, "volume_id": 1}}, InvalidArgs,
         "volume_info.mount_path"),
        ({"volume_info": {"volume_id": 1, "mount_path": "a//b"}}, InvalidArgs,
         "volume_info.mount_path"),
        ({"volume_info": "V.1"}, InvalidArgs, "volume_info"),
    ],
)  # fmt: skip
def test_bad_rentals_name_the_field(
    store: Store, user: int, body: dict, error: type[MarketplaceError], field: str
) -> None:
    offer = slice_of(store, eight_gpu_machine(store), 1)
    with pytest.raises(error) as caught:
        store.rent(user, offer["id"], {"image": IMAGE, **body})
    assert type(caught.value) is error
    assert caught.value.status == 400
    assert caught.value.extra.get("field") == field
    assert offer["id"] in {o["id"] for o in machine_offers(store, offer["machine_id"])}


def test_a_rental_body_must_be_an_object(store: Store, user: int) -> None:
    offer = slice_of(store, eight_gpu_machine(store), 1)
    with pytest.raises(InvalidArgs, match="JSON object"):
        store.rent(user, offer["id"], ["image"])


def test_a_bid_below_the_minimum_is_an_invalid_price(store: Store, user: int) -> None:
    offer = slice_of(store, eight_gpu_machine(store), 1)
    with pytest.raises(InvalidPrice) as caught:
        rent(store, user, offer["id"], price=offer["min_bid"] / 2)
    assert caught.value.code == "invalid_price" and str(offer["min_bid"]) in caught.value.msg


def test_renting_needs_credit(store: Store) -> None:
    broke = store.create_user("broke-user-key", 0.0)
    offer = slice_of(store, eight_gpu_machine(store), 1)
    with pytest.raises(InsufficientBalance) as caught:
        rent(store, broke, offer["id"])
    assert caught.value.status == 402 and caught.value.code == "insufficient_balance"


# --- instances --------------------------------------------------------------------------------


def test_instances_belong_to_their_renter(store: Store, user: int) -> None:
    other = store.create_user("other-user-key", 100.0)
    mine = rent(store, user, slice_of(store, eight_gpu_machine(store, 0), 1)["id"])
    theirs = rent(store, other, slice_of(store, eight_gpu_machine(store, 1), 1)["id"])
    assert [r["id"] for r in store.list_instances(user)] == [mine]
    assert [r["id"] for r in store.list_instances(other)] == [theirs]
    assert store.get_instance(user, theirs) is None
    with pytest.raises(NoSuchInstance):
        store.destroy(user, theirs)
    with pytest.raises(NoSuchInstance):
        store.manage_instance(user, theirs, {"state": "stopped"})


def test_destroy_releases_everything_and_a_destroyed_instance_reads_as_null(
    store: Store, user: int
) -> None:
    machine = eight_gpu_machine(store)
    instance_id = rent(store, user, slice_of(store, machine, 8)["id"])
    assert machine_offers(store, machine) == []
    assert store.destroy(user, instance_id) == {"success": True}
    assert store.get_instance(user, instance_id) is None
    assert store.list_instances(user) == []
    assert sorted(o["num_gpus"] for o in machine_offers(store, machine)) == [1, 2, 4, 8]
    with pytest.raises(NoSuchInstance) as caught:
        store.destroy(user, instance_id)
    assert caught.value.status == 404 and caught.value.code == "no_such_instance"
    with pytest.raises(NoSuchInstance):
        store.destroy(user, 123)


def test_label_changes_and_limits(store: Store, user: int) -> None:
    instance_id = rent(store, user, slice_of(store, eight_gpu_machine(store), 1)["id"])
    assert store.manage_instance(user, instance_id, {"label": "renamed"}) == {"success": True}
    assert store.get_instance(user, instance_id)["label"] == "renamed"
    with pytest.raises(LabelTooLong):
        store.manage_instance(user, instance_id, {"label": "y" * 300})
    with pytest.raises(InvalidArgs, match="state"):
        store.manage_instance(user, instance_id, {})
    with pytest.raises(InvalidArgs) as caught:
        store.manage_instance(user, instance_id, {"state": "paused"})
    assert caught.value.extra["field"] == "state"


def test_paginated_listing(store: Store, user: int) -> None:
    made = []
    for skip, label in enumerate(["a", "b", "a", None, "c"]):
        ask = slice_of(store, eight_gpu_machine(store, skip), 1)["id"]
        made.append(rent(store, user, ask, **({"label": label} if label else {})))

    first = store.list_instances_page(user, {}, [{"col": "id", "dir": "desc"}], 2)
    assert first["success"] and first["total_instances"] == 5
    assert [r["id"] for r in first["instances"]] == made[::-1][:2]
    assert first["label_counts"] == {"a": 2, "b": 1, "c": 1, "": 1}
    second = store.list_instances_page(user, {}, [{"col": "id", "dir": "desc"}], 2,
                                       first["next_token"])  # fmt: skip
    third = store.list_instances_page(user, {}, [{"col": "id", "dir": "desc"}], 2,
                                      second["next_token"])  # fmt: skip
    paged = [r["id"] for page in (first, second, third) for r in page["instances"]]
    assert paged == made[::-1] and third["next_token"] is None

    labelled = store.list_instances_page(user, {"label": {"in": ["a", None]}}, None, 25)
    assert [r["id"] for r in labelled["instances"]] == [made[0], made[2], made[3]]
    narrow = store.list_instances_page(user, None, None, "25", None, ["id", "label"])
    assert all(set(r) == {"id", "label"} for r in narrow["instances"])
    assert store.list_instances_page(user, None, None, 500)["total_instances"] == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"after_token": "not-a-token"}, "after_token"),
        ({"select_filters": {"colour": {"eq": "red"}}}, "colour"),
        ({"select_filters": ["running"]}, "select_filters"),
        ({"order_by": [{"col": "id", "dir": "sideways"}]}, "order"),
    ],
)
def test_bad_page_requests(store: Store, user: int, kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidArgs) as caught:
        store.list_instances_page(user, **kwargs)
    assert caught.value.extra["field"] == field


# --- volumes ----------------------------------------------------------------------------------


def volume_offer_of(store: Store, machine_id: int) -> dict:
    return store.search_volume_offers({"machine_id": {"eq": machine_id}})[0]


def test_volume_offers_are_searchable_and_follow_free_disk(store: Store, user: int) -> None:
    machine = eight_gpu_machine(store)
    offer = volume_offer_of(store, machine)
    assert offer["machine_id"] == machine and offer["disk_space"] > 0
    big = store.search_volume_offers({"disk_space": {"gte": 2000}, "limit": 1000})
    assert big and all(o["disk_space"] >= 2000 for o in big)
    rent(store, user, slice_of(store, machine, 1)["id"], disk=50)
    assert volume_offer_of(store, machine)["disk_space"] == offer["disk_space"] - 50
    with pytest.raises(InvalidArgs):
        store.search_volume_offers({"gpu_name": {"eq": "RTX 4090"}})


def test_a_volume_attaches_only_on_its_machine(store: Store, user: int) -> None:
    here, elsewhere = eight_gpu_machine(store, 0), eight_gpu_machine(store, 1)
    created = store.create_volume(user, {"id": volume_offer_of(store, here)["id"], "size": 20})
    volume_id = int(created["volume_name"].removeprefix("V."))
    assert store.list_volumes(user)["volumes"][0]["machine_id"] == here
    attach = {"volume_info": {"volume_id": volume_id, "mount_path": "/data"}}

    with pytest.raises(InvalidArgs) as caught:
        rent(store, user, slice_of(store, elsewhere, 1)["id"], **attach)
    assert caught.value.extra["field"] == "volume_info.volume_id"
    assert str(here) in caught.value.msg and str(elsewhere) in caught.value.msg

    instance_id = rent(store, user, slice_of(store, here, 1)["id"], **attach)
    row = store.get_instance(user, instance_id)
    assert [v["id"] for v in row["volume_info"]] == [volume_id]
    assert row["volume_info"][0]["mount_path"] == "/data"
    assert store.list_volumes(user)["volumes"][0]["instances"] == [instance_id]


def test_a_volume_in_use_cannot_be_deleted(store: Store, user: int) -> None:
    machine = eight_gpu_machine(store)
    volume_name = store.create_volume(user, {"id": volume_offer_of(store, machine)["id"]})
    volume_id = int(volume_name["volume_name"][2:])
    instance_id = rent(
        store, user, slice_of(store, machine, 1)["id"],
        volume_info={"volume_id": volume_id, "mount_path": "/data"},
    )  # fmt: skip
    store.manage_instance(user, instance_id, {"state": "stopped"})
    with pytest.raises(InvalidRequest) as caught:
        store.delete_volume(user, volume_id)
    assert str(instance_id) in caught.value.msg and caught.value.extra["instances"] == [instance_id]
    store.destroy(user, instance_id)
    assert store.delete_volume(user, volume_id) == {"success": True}
    assert store.list_volumes(user) == {"volumes": []}
    with pytest.raises(NoSuchVolume):
        store.delete_volume(user, volume_id)


def test_a_rental_can_create_its_volume_from_the_machines_volume_offer(
    store: Store, user: int
) -> None:
    here, elsewhere = eight_gpu_machine(store, 0), eight_gpu_machine(store, 1)
    new = {"create_new": True, "volume_id": volume_offer_of(store, here)["id"],
           "mount_path": "/cache", "size": 25, "name": "cache"}  # fmt: skip
    with pytest.raises(InvalidArgs):
        rent(store, user, slice_of(store, elsewhere, 1)["id"], volume_info=new)
    instance_id = rent(store, user, slice_of(store, here, 1)["id"], volume_info=new)
    (volume,) = store.list_volumes(user)["volumes"]
    assert volume["disk_space"] == 25 and volume["label"] == "cache"
    assert volume["instances"] == [instance_id] and volume["machine_id"] == here


def test_volume_creation_errors(store: Store, user: int) -> None:
    offer = volume_offer_of(store, eight_gpu_machine(store))
    with pytest.raises(InvalidArgs) as too_big:
        store.create_volume(user, {"id": offer["id"], "size": offer["disk_space"] + 1})
    assert too_big.value.extra["field"] == "size"
    with pytest.raises(InvalidArgs) as bad_size:
        store.create_volume(user, {"id": offer["id"], "size": "big"})
    assert bad_size.value.extra["field"] == "size"
    with pytest.raises(NoSuchAsk):
        store.create_volume(user, {"id": 1, "size": 10})
    with pytest.raises(NoSuchVolume):
        rent(
            store, user, slice_of(store, offer["machine_id"], 1)["id"],
            volume_info={"volume_id": 999, "mount_path": "/x"},
        )  # fmt: skip


# --- account ----------------------------------------------------------------------------------


def test_users_and_keys(store: Store, user: int) -> None:
    assert store.user_for_key("wrong") is None
    other = store.create_user("tenant-two-key", 42.0)
    assert other != user and store.user_for_key("tenant-two-key") == other
    assert store.current_user(other)["credit"] == 42.0
    with pytest.raises(InvalidArgs):
        store.create_user("tenant-two-key", 1.0)
    me = store.current_user(user)
    assert me["id"] == user and me["credit"] == 1000.0 and "@" in me["email"]
    assert "api_key" not in me


def test_api_keys_are_not_stored_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "market.db"
    store = make_store(str(db), machines=5)
    store.create_user("tenant-secret-key-123", 5.0)
    store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"tenant-secret-key-123" not in stored and KEY.encode() not in stored


def test_ssh_keys(store: Store, user: int) -> None:
    assert store.list_ssh_keys(user) == []
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx me@laptop"
    added = store.add_ssh_key(user, {"ssh_key": public})["key"]
    assert store.list_ssh_keys(user) == [added] and added["public_key"] == public
    assert store.current_user(user)["ssh_key"] == public
    with pytest.raises(InvalidArgs) as caught:
        store.add_ssh_key(user, {"ssh_key": "not a key"})
    assert caught.value.extra["field"] == "ssh_key"
    assert store.delete_ssh_key(user, added["id"]) == {"success": True}
    assert store.list_ssh_keys(user) == []
    with pytest.raises(InvalidArgs) as missing:
        store.delete_ssh_key(user, added["id"])
    assert missing.value.status == 404


def test_gpu_names_lists_the_models_on_the_market(store: Store) -> None:
    names = store.gpu_names()["gpu_names"]
    offered = {o["gpu_name"] for o in store.search_offers({"limit": 10_000})}
    assert names == sorted(names) and offered <= set(names)


def test_snapshot_counts(store: Store, user: int) -> None:
    before = store.snapshot_counts()
    rent(store, user, slice_of(store, eight_gpu_machine(store), 8)["id"])
    after = store.snapshot_counts()
    assert after["machines"] == 60 and after["instances"] == before["instances"] + 1
    assert after["offers"] == before["offers"] - 4


# --- persistence and concurrency ----------------------------------------------------------------


def test_a_restart_on_the_same_file_keeps_everything(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    first = make_store(db)
    user = first.user_for_key(KEY)
    machine = eight_gpu_machine(first)
    instance_id = rent(first, user, slice_of(first, machine, 2)["id"], label="keep")
    first.create_volume(user, {"id": volume_offer_of(first, machine)["id"], "size": 10})
    first.clock.advance(3600)
    credit = first.current_user(user)["credit"]
    offers = [o["id"] for o in first.search_offers({"limit": 10_000})]
    first.close()

    second = make_store(db, seed=999)  # a different seed must not reseed a used database
    try:
        assert second.user_for_key(KEY) == user
        assert [o["id"] for o in second.search_offers({"limit": 10_000})] == offers
        row = second.get_instance(user, instance_id)
        assert row["label"] == "keep" and row["actual_status"] == "running"
        assert [v["disk_space"] for v in second.list_volumes(user)["volumes"]] == [10]
        assert second.current_user(user)["credit"] == pytest.approx(credit)
        assert second.clock.now() >= NOW + 3600  # sandbox time does not run backwards
    finally:
        second.close()


def test_twenty_renters_at_once_neither_lose_nor_double_rent(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "busy.db"), machines=120)
    try:
        users = [store.create_user(f"renter-key-{n:02d}", 100.0) for n in range(20)]
        offers = store.search_offers({"num_gpus": {"eq": 1}, "limit": 10_000})
        by_machine = {o["machine_id"]: o for o in offers}
        distinct = list(by_machine.values())[:20]
        assert len(distinct) == 20
        contested = distinct[0]["id"]
        results: dict[str, list] = {"distinct": [], "contested": [], "errors": []}
        start = threading.Barrier(40)

        def renter(user: int, ask: int, bucket: str) -> None:
            start.wait()
            try:
                results[bucket].append(store.rent(user, ask, {"image": IMAGE})["new_contract"])
            except NoSuchAsk as error:
                results["errors"].append(error)

        threads = [
            threading.Thread(target=renter, args=(u, o["id"], "distinct"))
            for u, o in zip(users, distinct, strict=True)
        ] + [threading.Thread(target=renter, args=(u, contested, "contested")) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        rented = results["distinct"] + results["contested"]
        assert len(rented) == len(set(rented)) == 20  # one per offer, none lost
        assert len(results["errors"]) == 20
        instances = [row for u in users for row in store.list_instances(u)]
        assert sorted(row["id"] for row in instances) == sorted(rented)
        assert len({row["machine_id"] for row in instances}) == 20
        remaining = {o["id"] for o in store.search_offers({"limit": 10_000})}
        assert not remaining & {o["id"] for o in distinct}
    finally:
        store.close()


def test_ids_beyond_sqlites_range_are_refused_not_crashed(store: Store, user: int) -> None:
    huge = 10**30
    for call in (
        lambda: store.rent(user, huge, {"image": IMAGE}),
        lambda: store.destroy(user, huge),
        lambda: store.take_offer(huge),
        lambda: store.fail_machine(huge),
        lambda: store.delete_volume(user, huge),
        lambda: store.create_volume(user, {"id": huge}),
    ):
        with pytest.raises(InvalidArgs):
            call()
    assert store.search_offers({"id": {"eq": huge}, "driver_version": {"lt": "9" * 40}}) == []
    assert store.search_offers({"machine_id": {"lt": -huge}}) == []

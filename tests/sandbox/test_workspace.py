"""Instances' workspace files on the /_sandbox/ surface: written, read, listed and deleted,
bounded in size, and gone with their instance."""

from __future__ import annotations

import base64
import sqlite3
from urllib.parse import quote

import pytest

from dumont_iac.sandbox.marketplace.store.workspace import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_PATH,
    MAX_WORKSPACE_BYTES,
)


def _rent(http) -> int:
    offer = http.post("/api/v0/bundles/", json={"limit": 1, "order": [["dph_total", "asc"]]})
    rented = http.put(
        f"/api/v0/asks/{offer.json()['offers'][0]['id']}/", json={"image": "ubuntu:22.04"}
    )
    assert rented.status_code == 200, rented.text
    return rented.json()["new_contract"]


def _files_in_db(sandbox, instance_id: int) -> int:
    with sqlite3.connect(sandbox.settings.db_path) as db:
        query = "SELECT COUNT(*) FROM workspace_files WHERE instance_id = ?"
        return db.execute(query, (instance_id,)).fetchone()[0]


def test_files_are_written_read_listed_replaced_and_deleted(sandbox):
    with sandbox.client() as http:
        instance = _rent(http)
        base = f"/_sandbox/instances/{instance}/workspace"
        empty = http.get(base)
        written = http.put(f"{base}/logs/train.log", json={"content": "step=1 loss=0.9\n"})
        http.put(f"{base}/ckpt/a.bin", json={"content": "AAEC/w==", "encoding": "base64"})
        replaced = http.put(f"{base}/logs/train.log", json={"content": "step=2 loss=0.5\n"})
        text = http.get(f"{base}/logs/train.log")
        binary = http.get(f"{base}/ckpt/a.bin")
        listed = http.get(f"{base}/")
        deleted = http.delete(f"{base}/ckpt/a.bin")
        after = http.get(base).json()
        gone = http.get(f"{base}/ckpt/a.bin")
    assert empty.status_code == 200
    assert empty.json() == {"instance_id": instance, "files": [], "bytes": 0}
    assert written.json()["success"] is True and written.json()["size"] == 16
    assert replaced.json()["path"] == "logs/train.log"
    assert text.json()["encoding"] == "utf-8" and text.json()["content"] == "step=2 loss=0.5\n"
    assert binary.json()["encoding"] == "base64"
    assert base64.b64decode(binary.json()["content"]) == b"\x00\x01\x02\xff"
    assert [(f["path"], f["size"]) for f in listed.json()["files"]] == [
        ("ckpt/a.bin", 4),
        ("logs/train.log", 16),
    ]
    assert listed.json()["bytes"] == 20
    assert deleted.json() == {"success": True}
    assert [f["path"] for f in after["files"]] == ["logs/train.log"]
    assert gone.status_code == 404
    assert gone.json()["error"] == "no_such_file" and "ckpt/a.bin" in gone.json()["msg"]


@pytest.mark.parametrize(
    "path",
    ["../escape", "a//b", "a/./b", "sp ace.txt", "x" * (MAX_PATH + 1), "tab\there", "a/"],
)
def test_a_bad_path_is_refused_naming_the_field_and_value(sandbox, path):
    with sandbox.client() as http:
        instance = _rent(http)
        # Quoted whole, so the client sends it as given (no dot-segment clean-up).
        url = f"/_sandbox/instances/{instance}/workspace/{quote(path, safe='')}"
        answer = http.put(url, json={"content": ""})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_args" and body["field"] == "path"
    assert repr(path)[:40].rstrip("'") in body["msg"]


def test_sizes_are_bounded_with_errors_that_say_by_how_much(sandbox):
    with sandbox.client() as http:
        instance = _rent(http)
        base = f"/_sandbox/instances/{instance}/workspace"
        too_big = http.put(f"{base}/big", json={"content": "x" * (MAX_FILE_BYTES + 1)})
        not_base64 = http.put(f"{base}/b", json={"content": "%%%", "encoding": "base64"})
        not_ascii = http.put(f"{base}/b", json={"content": "é", "encoding": "base64"})
        surrogate = http.put(
            f"{base}/b",
            content=b'{"content": "\\ud800"}',  # a lone surrogate: JSON, but not UTF-8 text
            headers={"content-type": "application/json"},
        )
        unknown_key = http.put(f"{base}/c", json={"content": "", "mode": "0644"})
        chunk = "y" * MAX_FILE_BYTES
        per_file = MAX_WORKSPACE_BYTES // MAX_FILE_BYTES
        for n in range(per_file):
            assert http.put(f"{base}/part-{n}", json={"content": chunk}).status_code == 200
        over_total = http.put(f"{base}/one-more", json={"content": "z"})
        rewrite = http.put(f"{base}/part-0", json={"content": chunk})  # replacing is no growth
    assert too_big.status_code == 400 and too_big.json()["field"] == "content"
    assert f"{MAX_FILE_BYTES + 1} bytes" in too_big.json()["msg"]
    for refused in (not_base64, not_ascii, surrogate):
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "content"
    assert "base64" in not_ascii.json()["msg"] and "unicode" in surrogate.json()["msg"]
    assert unknown_key.status_code == 400 and unknown_key.json()["field"] == "mode"
    assert over_total.status_code == 400 and over_total.json()["field"] == "content"
    assert str(MAX_WORKSPACE_BYTES) in over_total.json()["msg"]
    assert rewrite.status_code == 200


def test_the_number_of_files_is_bounded(sandbox):
    with sandbox.client() as http:
        instance = _rent(http)
        base = f"/_sandbox/instances/{instance}/workspace"
        for n in range(MAX_FILES):
            assert http.put(f"{base}/f{n}", json={"content": "."}).status_code == 200
        refused = http.put(f"{base}/one-too-many", json={"content": "."})
        replaced = http.put(f"{base}/f0", json={"content": ".."})
    assert refused.status_code == 400 and refused.json()["field"] == "path"
    assert f"already has {MAX_FILES} workspace files" in refused.json()["msg"]
    assert replaced.status_code == 200


def test_an_unknown_instance_answers_404_on_every_call(sandbox):
    unknown = 99_999_999
    base = f"/_sandbox/instances/{unknown}/workspace"
    with sandbox.client() as http:
        answers = [
            http.get(base),
            http.put(f"{base}/a", json={"content": "x"}),
            http.get(f"{base}/a"),
            http.delete(f"{base}/a"),
        ]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == "no_such_instance"
        assert answer.json()["instance_id"] == unknown


def test_destroying_an_instance_deletes_its_files(sandbox):
    with sandbox.client() as http:
        instance, other = _rent(http), _rent(http)
        for owner in (instance, other):
            http.put(f"/_sandbox/instances/{owner}/workspace/notes.txt", json={"content": "hi"})
        assert _files_in_db(sandbox, instance) == 1
        assert http.delete(f"/api/v0/instances/{instance}/").json() == {"success": True}
        after = http.get(f"/_sandbox/instances/{instance}/workspace")
        kept = http.get(f"/_sandbox/instances/{other}/workspace/notes.txt")
    assert after.status_code == 404
    assert _files_in_db(sandbox, instance) == 0
    assert kept.json()["content"] == "hi"


def test_only_the_sandbox_key_may_touch_workspaces(sandbox):
    with sandbox.client() as http:
        instance = _rent(http)
        tenant = http.post("/_sandbox/users", json={"api_key": "tenant-key-1"}).json()
    with sandbox.client(tenant["api_key"]) as http:
        refused = http.get(f"/_sandbox/instances/{instance}/workspace")
    assert refused.status_code == 401 and refused.json()["error"] == "auth_error"

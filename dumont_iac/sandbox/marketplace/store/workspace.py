"""Each instance's workspace: a small set of files that tests write and read through the
``/_sandbox/`` surface, standing in for what a job leaves on the instance's disk.

Bounded so a test cannot grow the database without limit: at most ``MAX_FILES`` files of
``MAX_FILE_BYTES`` each and ``MAX_WORKSPACE_BYTES`` in all per instance. A path is relative,
made of ``/``-separated names of letters, digits, ``.``, ``_`` and ``-`` (no ``.`` or ``..``
names). The files are deleted with their instance (``InstanceActions._destroy``), as its disk is.
"""

from __future__ import annotations

import re

from dumont_iac.sandbox.marketplace.errors import InvalidArgs, NoSuchFile, NoSuchInstance
from dumont_iac.sandbox.marketplace.store.base import StoreBase, operation
from dumont_iac.sandbox.marketplace.store.shapes import Done, Workspace, WorkspaceFile

MAX_FILES = 64
MAX_FILE_BYTES = 64 * 1024
MAX_WORKSPACE_BYTES = 1024 * 1024
MAX_PATH = 255
NAME = re.compile(r"[A-Za-z0-9._-]+")


def check_path(path: str) -> str:
    if not path or len(path) > MAX_PATH:
        raise InvalidArgs(
            f"path={path!r} must be 1 to {MAX_PATH} characters long.", field="path", path=path
        )
    names = path.split("/")
    if any(not NAME.fullmatch(name) or name in (".", "..") for name in names):
        raise InvalidArgs(
            f"path={path!r} must be relative, made of '/'-separated names of letters, digits, "
            "'.', '_' and '-' (no empty, '.' or '..' names), e.g. 'checkpoints/step-10.pt'.",
            field="path",
            path=path,
        )
    return path


class WorkspaceActions(StoreBase):
    def _live_instance(self, instance_id: int) -> None:
        row = self._db.execute(
            "SELECT 1 FROM instances WHERE id = ? AND destroyed_at IS NULL", (instance_id,)
        ).fetchone()
        if row is None:
            raise NoSuchInstance(instance_id)

    @operation
    def put_workspace_file(self, instance_id: int, path: str, content: bytes) -> WorkspaceFile:
        self._live_instance(instance_id)
        check_path(path)
        if len(content) > MAX_FILE_BYTES:
            raise InvalidArgs(
                f"content: {len(content)} bytes is more than the {MAX_FILE_BYTES} a workspace "
                "file may hold.",
                field="content",
            )
        others = self._db.execute(
            "SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM workspace_files "
            "WHERE instance_id = ? AND path != ?",
            (instance_id, path),
        ).fetchone()
        if others["files"] >= MAX_FILES:
            raise InvalidArgs(
                f"path={path!r}: instance {instance_id} already has {others['files']} workspace "
                f"files, the most it may have; delete one first.",
                field="path",
                path=path,
            )
        if others["bytes"] + len(content) > MAX_WORKSPACE_BYTES:
            raise InvalidArgs(
                f"content: {len(content)} more bytes would take instance {instance_id}'s "
                f"workspace past {MAX_WORKSPACE_BYTES} bytes (it holds {others['bytes']} in "
                "other files); delete some first.",
                field="content",
            )
        self._db.execute(
            "INSERT INTO workspace_files (instance_id, path, content, size, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (instance_id, path) DO UPDATE SET "
            "content = excluded.content, size = excluded.size, updated_at = excluded.updated_at",
            (instance_id, path, content, len(content), self.now),
        )
        return {"path": path, "size": len(content), "updated_at": self.now}

    @operation
    def get_workspace_file(self, instance_id: int, path: str) -> tuple[WorkspaceFile, bytes]:
        self._live_instance(instance_id)
        row = self._db.execute(
            "SELECT path, size, updated_at, content FROM workspace_files "
            "WHERE instance_id = ? AND path = ?",
            (instance_id, check_path(path)),
        ).fetchone()
        if row is None:
            raise NoSuchFile(instance_id, path)
        info: WorkspaceFile = {"path": row["path"], "size": row["size"], "updated_at": row[2]}
        return info, bytes(row["content"])

    @operation
    def list_workspace(self, instance_id: int) -> Workspace:
        self._live_instance(instance_id)
        files: list[WorkspaceFile] = [
            {"path": row["path"], "size": row["size"], "updated_at": row["updated_at"]}
            for row in self._db.execute(
                "SELECT path, size, updated_at FROM workspace_files WHERE instance_id = ? "
                "ORDER BY path",
                (instance_id,),
            )
        ]
        total = sum(f["size"] for f in files)
        return {"instance_id": instance_id, "files": files, "bytes": total}

    @operation
    def delete_workspace_file(self, instance_id: int, path: str) -> Done:
        self._live_instance(instance_id)
        cursor = self._db.execute(
            "DELETE FROM workspace_files WHERE instance_id = ? AND path = ?",
            (instance_id, check_path(path)),
        )
        if cursor.rowcount == 0:
            raise NoSuchFile(instance_id, path)
        return {"success": True}

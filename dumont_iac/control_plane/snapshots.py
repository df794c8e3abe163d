"""Snapshots of a GPU's workspace: taken into its policy's bucket, pruned by its retention, and
restored into a contract (wake, recovery).

A snapshot is one object, ``<gpu_id>/<YYYYmmddTHHMMSS.fffZ>.tar.gz``: a gzipped tar of the
workspace files of the GPU's current contract, named by the control plane's clock (the
sandbox's in the sandbox), so keys sort by age and the age is read from the key. It is written
with one PUT and counted only once its stored size matches what was sent: a failed or partial
upload never counts as a snapshot.

    snapshots = Snapshots(store, events, marketplace)
    snapshots.restore_latest(user_id, gpu_id, contract_id)   # -> the key restored, or None
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dumont_iac.clients.aws.s3 import S3Store
from dumont_iac.clients.aws.session import AwsAccess
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.workspace import Files, workspaces_for
from dumont_iac.control_plane.agents.restart import current_contract
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec, SnapshotStatus
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.documents import SNAPSHOT_POLICY, SNAPSHOT_STATUS
from dumont_iac.errors import AwsError, DumontError

SUFFIX = ".tar.gz"
_STAMP = "%Y%m%dT%H%M%S"
_KEY = re.compile(r"^(?P<gpu>[^/]+)/(?P<stamp>\d{8}T\d{6})\.(?P<ms>\d{3})Z\.tar\.gz$")
# An agent retries next tick: fail fast rather than wait out boto3's long backoff.
S3_ATTEMPTS = 2
DAY = 86_400.0


def snapshot_key(gpu_id: str, at: float) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return f"{gpu_id}/{moment.strftime(_STAMP)}.{moment.microsecond // 1000:03d}Z{SUFFIX}"


def taken_at(key: str) -> float | None:
    """When the snapshot named ``key`` was taken; None for an object that is not one."""
    found = _KEY.match(key)
    if found is None:
        return None
    moment = datetime.strptime(found["stamp"], _STAMP).replace(tzinfo=UTC)
    return moment.timestamp() + int(found["ms"]) / 1000


def pack(files: Files) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def unpack(data: bytes) -> Files:
    files: Files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                files[member.name] = extracted.read()
    return files


def to_prune(keys: list[str], policy: SnapshotPolicySpec, now: float) -> list[str]:
    """Which snapshots retention removes, oldest first: all but the newest ``keep_at_most``,
    then those older than ``retention_days`` (0: none), never leaving fewer than
    ``keep_at_least``."""
    ordered = sorted(keys)
    doomed = ordered[: max(0, len(ordered) - policy.keep_at_most)]
    kept = ordered[len(doomed) :]
    if policy.retention_days > 0:
        cutoff = now - policy.retention_days * DAY
        for key in kept:
            if len(ordered) - len(doomed) <= policy.keep_at_least:
                break
            stamp = taken_at(key)
            if stamp is not None and stamp < cutoff:
                doomed.append(key)
    return doomed


class Snapshots:
    """Take, prune and restore the snapshots of the GPUs that have a snapshot policy."""

    def __init__(
        self,
        store: Store,
        events: EventLog,
        marketplace: Callable[[], MarketplaceClient],
        aws: AwsAccess | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._marketplace = marketplace
        self._aws = aws

    def _s3(self, policy: SnapshotPolicySpec) -> S3Store:
        """The policy's store: its own endpoint, else the control plane's AWS (the sandbox's
        moto), else boto3's chain. Clients are shared (``session.client`` caches them)."""
        return S3Store(policy.endpoint_url, policy.region, access=self._aws, attempts=S3_ATTEMPTS)

    @property
    def clock(self) -> Any:
        return self._store.clock

    # --- policies and status -----------------------------------------------------------

    def policy(self, user_id: int, gpu_id: str) -> SnapshotPolicySpec | None:
        body = self._store.documents.get(user_id, SNAPSHOT_POLICY, gpu_id)
        return SnapshotPolicySpec.model_validate(body) if body else None

    def status(self, user_id: int, gpu_id: str) -> SnapshotStatus:
        body = self._store.documents.get(user_id, SNAPSHOT_STATUS, gpu_id)
        return SnapshotStatus.model_validate(body or {})

    def _save(self, user_id: int, gpu_id: str, status: SnapshotStatus) -> None:
        self._store.documents.put(user_id, SNAPSHOT_STATUS, status.model_dump(), key=gpu_id)

    def is_due(self, user_id: int, gpu_id: str, policy: SnapshotPolicySpec, now: float) -> bool:
        last = self.status(user_id, gpu_id).last_snapshot_at
        return last is None or now - last >= policy.interval_minutes * 60

    def keys(self, policy: SnapshotPolicySpec, gpu_id: str) -> list[str]:
        """The GPU's snapshots in the bucket, oldest first (other objects are not counted)."""
        found = self._s3(policy).list(policy.bucket, f"{gpu_id}/")
        return [o.key for o in found if taken_at(o.key) is not None]

    # --- take, prune, restore --------------------------------------------------------------

    def take(self, user_id: int, gpu_id: str, policy: SnapshotPolicySpec) -> str:
        """Snapshot the GPU's current contract now, then prune; the new key. An error is
        recorded in the GPU's status and raised: nothing is counted, the next tick retries."""
        started = time.monotonic()
        now = self.clock.now()
        key = snapshot_key(gpu_id, now)
        try:
            market = self._marketplace()
            contract = current_contract(market, gpu_id)
            files = _workspaces(market).read(contract.id)
            data = pack(files)
            s3 = self._s3(policy)
            s3.put(policy.bucket, key, data, "application/gzip")
            if s3.size(policy.bucket, key) != len(data):
                _forget_partial(s3, policy.bucket, key)
                raise AwsError(
                    f"S3 PutObject: {key} did not store whole; the next tick tries again.",
                    operation="PutObject",
                )
            keys = self.keys(policy, gpu_id)
        except Exception as exc:
            self.record_error(user_id, gpu_id, f"snapshot failed: {exc}")
            raise
        status = self.status(user_id, gpu_id).model_copy(
            update={
                "last_snapshot_at": now,
                "last_snapshot_key": key,
                "last_snapshot_bytes": len(data),
                "snapshot_count": len(keys),
                "last_error": None,
                "last_error_at": None,
            }
        )
        self._save(user_id, gpu_id, status)
        self._events.record(
            "snapshot.taken",
            f"snapshot {key} of contract {contract.id}: {len(files)} file(s), {len(data)} bytes",
            user_id=user_id,
            gpu_id=gpu_id,
            duration_ms=(time.monotonic() - started) * 1000,
            data={
                "key": key,
                "bucket": policy.bucket,
                "contract_id": contract.id,
                "files": len(files),
                "bytes": len(data),
            },  # fmt: skip
        )
        self.prune(user_id, gpu_id, policy, keys)
        return key

    def prune(
        self,
        user_id: int,
        gpu_id: str,
        policy: SnapshotPolicySpec,
        keys: list[str] | None = None,
    ) -> list[str]:
        """Apply retention (S3-compatible stores do not all apply lifecycle rules, moto
        does not): the keys removed."""
        keys = self.keys(policy, gpu_id) if keys is None else keys
        doomed = to_prune(keys, policy, self.clock.now())
        if not doomed:
            return []
        self._s3(policy).delete(policy.bucket, doomed)
        left = len(keys) - len(doomed)
        status = self.status(user_id, gpu_id).model_copy(update={"snapshot_count": left})
        self._save(user_id, gpu_id, status)
        self._events.record(
            "snapshot.pruned",
            f"removed {len(doomed)} snapshot(s) per retention; {left} kept",
            user_id=user_id,
            gpu_id=gpu_id,
            data={"keys": doomed, "kept": left, "bucket": policy.bucket},
        )
        return doomed

    def latest(self, user_id: int, gpu_id: str) -> tuple[SnapshotPolicySpec, str] | None:
        policy = self.policy(user_id, gpu_id)
        if policy is None:
            return None
        keys = self.keys(policy, gpu_id)
        return (policy, keys[-1]) if keys else None

    def restore_latest(self, user_id: int, gpu_id: str, contract_id: int) -> tuple[str, int] | None:
        """Write the GPU's newest snapshot into ``contract_id``'s workspace: ``(key, files)``,
        or None when the GPU has no snapshot policy or no snapshot yet."""
        found = self.latest(user_id, gpu_id)
        if found is None:
            return None
        policy, key = found
        files = unpack(self._s3(policy).get(policy.bucket, key))
        _workspaces(self._marketplace()).write(contract_id, files)
        self._events.record(
            "snapshot.restored",
            f"snapshot {key} restored into contract {contract_id} ({len(files)} file(s))",
            user_id=user_id,
            gpu_id=gpu_id,
            data={"key": key, "contract_id": contract_id, "files": len(files)},
        )
        return key, len(files)

    def record_error(self, user_id: int, gpu_id: str, error: str) -> None:
        status = self.status(user_id, gpu_id).model_copy(
            update={"last_error": error, "last_error_at": self.clock.now()}
        )
        self._save(user_id, gpu_id, status)
        self._events.record("snapshot.failed", error, user_id=user_id, gpu_id=gpu_id)

    def forget(self, user_id: int, gpu_id: str) -> None:
        self._store.documents.delete(user_id, SNAPSHOT_STATUS, gpu_id)


def restore_latest(
    store: Store,
    events: EventLog,
    marketplace: Callable[[], MarketplaceClient],
    user_id: int,
    gpu_id: str,
    contract_id: int,
    aws: AwsAccess | None = None,
) -> tuple[str, int] | None:
    """``Snapshots.restore_latest`` for callers that hold only the control plane's pieces."""
    snapshots = Snapshots(store, events, marketplace, aws)
    return snapshots.restore_latest(user_id, gpu_id, contract_id)


def _workspaces(market: MarketplaceClient) -> Any:
    workspaces = workspaces_for(market)
    if workspaces is None:
        raise DumontError(
            "workspace files are reachable on the sandbox only: on the real marketplace a "
            "snapshot needs SSH access to the machine, which this control plane does not have"
        )
    return workspaces


def _forget_partial(s3: S3Store, bucket: str, key: str) -> None:
    try:
        s3.delete(bucket, [key])
    except AwsError:
        return  # the status never named it; the next snapshot's prune may list it

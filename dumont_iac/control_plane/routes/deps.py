"""Dependencies the routers share: the store, the event log, the leases, the clock, and the
snapshot and hibernation services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dumont_iac.control_plane.auth import Caller, caller
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.hibernation import Hibernation
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.snapshots import Snapshots
from dumont_iac.control_plane.store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_events(request: Request) -> EventLog:
    return request.app.state.events


def get_leases(request: Request) -> Leases:
    return request.app.state.leases


def get_snapshots(request: Request) -> Snapshots:
    return request.app.state.snapshots


def get_hibernation(request: Request) -> Hibernation:
    return request.app.state.hibernation


StoreDep = Annotated[Store, Depends(get_store)]
EventsDep = Annotated[EventLog, Depends(get_events)]
LeasesDep = Annotated[Leases, Depends(get_leases)]
SnapshotsDep = Annotated[Snapshots, Depends(get_snapshots)]
HibernationDep = Annotated[Hibernation, Depends(get_hibernation)]
CallerDep = Annotated[Caller, Depends(caller)]

"""Dependencies the routers share: the store, the event log, the leases and the clock."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dumont_iac.control_plane.auth import Caller, caller
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_events(request: Request) -> EventLog:
    return request.app.state.events


def get_leases(request: Request) -> Leases:
    return request.app.state.leases


StoreDep = Annotated[Store, Depends(get_store)]
EventsDep = Annotated[EventLog, Depends(get_events)]
LeasesDep = Annotated[Leases, Depends(get_leases)]
CallerDep = Annotated[Caller, Depends(caller)]

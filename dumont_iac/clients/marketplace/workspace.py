"""An instance's workspace files, read and written where the control plane can reach them.

On the sandbox, a workspace is a small set of files behind ``/_sandbox/instances/{id}/
workspace/`` (the sandbox's key only): CPU standby sync copies them off a GPU, recovery and
wake write them onto the new one, and a snapshot is an object holding them. On the real
marketplace the same moves go over SSH (rsync, restic), which this library does not drive yet:
``workspaces_for`` answers None there, and the agents say the data was not moved.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from dumont_iac.clients.http import Endpoint
from dumont_iac.clients.marketplace.client import MarketplaceClient
from dumont_iac.errors import NotFound

READ = Endpoint("sandbox workspace")
WRITE = Endpoint("sandbox workspace write")

Files = dict[str, bytes]


class SandboxWorkspaces:
    """Workspaces of the sandbox marketplace that ``market`` talks to (with its key)."""

    def __init__(self, market: MarketplaceClient) -> None:
        self._http = market.http

    def _path(self, contract_id: int, name: str = "") -> str:
        return f"/_sandbox/instances/{int(contract_id)}/workspace/{quote(name)}"

    def read(self, contract_id: int) -> Files:
        """Every file of the contract's workspace, by path."""
        listing: Any = self._http.call("GET", self._path(contract_id), READ)
        files: Files = {}
        for entry in listing.get("files", []):
            answer: Any = self._http.call("GET", self._path(contract_id, entry["path"]), READ)
            text = answer["content"]
            files[entry["path"]] = (
                base64.b64decode(text) if answer.get("encoding") == "base64" else text.encode()
            )
        return files

    def write(self, contract_id: int, files: Files) -> None:
        """Make the contract's workspace hold exactly ``files`` (others are removed)."""
        present = {e["path"] for e in self._listing(contract_id)}
        for name, data in files.items():
            body = {"content": base64.b64encode(data).decode(), "encoding": "base64"}
            self._http.call("PUT", self._path(contract_id, name), WRITE, json=body)
        for name in present - set(files):
            try:
                self._http.call("DELETE", self._path(contract_id, name), WRITE)
            except NotFound:
                continue

    def _listing(self, contract_id: int) -> list[dict[str, Any]]:
        answer: Any = self._http.call("GET", self._path(contract_id), READ)
        return list(answer.get("files", []))


def workspaces_for(market: MarketplaceClient) -> SandboxWorkspaces | None:
    """The sandbox's workspaces when ``market`` is a sandbox (it serves ``/_sandbox/``)."""
    try:
        market.http.call("GET", "/_sandbox/state", READ)
    except Exception:  # the real marketplace has no such path: workspaces are not reachable
        return None
    return SandboxWorkspaces(market)

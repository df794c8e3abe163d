"""One client's HTTP calls to one service: paced per endpoint as the provider paces itself,
each 429 retried after its ``Retry-After`` (or, without one, after the pacer's next slot).

Each client calls from its own loopback address (127.0.0.0/8 is all loopback on Linux), so
limits counted per address (the marketplace's offer search, the control plane's limit before
the key check) see a hundred machines, not one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from dumont_iac.clients.http import Endpoint
from dumont_iac.clients.pacing import key_fingerprint, pacer_for
from dumont_iac.testing.load.figures import Figures

MAX_REFUSALS = 100  # a call refused this often in a row counts as an error
TIMEOUT = 120.0  # seconds; a busy machine serving a hundred clients answers slowly


def client_address(index: int) -> str:
    """A loopback address of its own for client ``index`` (127.1.x.y)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


class Caller:
    def __init__(self, base_url: str, key: str, address: str, figures: Figures,
                 *, pacing: bool) -> None:  # fmt: skip
        self.base_url = base_url
        self.key = key
        self.address = address
        self.figures = figures
        self.pacing = pacing
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            transport=httpx.AsyncHTTPTransport(local_address=address),
            timeout=TIMEOUT,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self, operation: str, method: str, path: str, endpoint: Endpoint | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:  # fmt: skip
        """The first answer that is not a 429; None (an error counted) when none came."""
        pacer = None
        if self.pacing and endpoint is not None:
            identity = self.address if endpoint.per_address else key_fingerprint(self.key)
            pacer = pacer_for(self.base_url, identity, endpoint.name, endpoint.gap,
                              endpoint.burst, endpoint.penalty)  # fmt: skip
        for _ in range(MAX_REFUSALS):
            if pacer is not None:
                await asyncio.sleep(pacer.reserve())
            started = time.perf_counter()
            try:
                answer = await self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                self.figures.errors.append(f"{operation}: {type(exc).__name__} {exc}")
                return None
            finally:
                self.figures.record(operation, time.perf_counter() - started)
            if answer.status_code != 429:
                return answer
            self.figures.refused += 1
            retry_after = _seconds(answer.headers.get("retry-after"))
            if pacer is not None:
                pacer.refused(retry_after)
            else:
                await asyncio.sleep(retry_after or 1.0)
        self.figures.errors.append(f"{operation}: refused {MAX_REFUSALS} times in a row")
        return None

    def unexpected(self, operation: str, answer: httpx.Response | None) -> None:
        """Count an answer the workload did not expect (None was counted already)."""
        if answer is not None:
            self.figures.errors.append(
                f"{operation}: HTTP {answer.status_code} {answer.text[:120]}"
            )


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None

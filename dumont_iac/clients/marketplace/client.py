"""The GPU marketplace (Vast.ai REST API, or the sandbox): offers, rentals, volumes, the account.

    client = MarketplaceClient()            # URL and key from arguments, Pulumi config or env
    offers = client.search_offers(OfferFilter(gpu_names=["RTX 4090"], max_price_per_hour=0.5))
    rental = client.rent(offers[0].id, RentRequest(image="pytorch/pytorch"), label="train-1")
    client.destroy(rental.instance_id)

Every call goes through ``HttpApi`` (pacing per endpoint, retries where safe, one error tree).
The client holds settings only; it is cheap to build and safe to share between threads.

Renting is the one call that must not be repeated blindly: the marketplace does not make it
idempotent, and a lost answer may hide a rental that bills. ``rent`` therefore looks its label
up after any ambiguous failure and only rents again when the label is not found.

``instances(cached=True)`` shares one recent listing between the threads of the process (the
list endpoint allows one call per second per key); this process's own writes (rent, destroy,
label, start, stop, bid, reboot) drop it, so a cached listing never predates them.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from dumont_iac import errors
from dumont_iac.clients import gpu_models
from dumont_iac.clients.cache import DEFAULT_TTL, GoneSet, SharedListing, TtlCache
from dumont_iac.clients.http import DEFAULT_RETRY, Endpoint, HttpApi, RetryPolicy
from dumont_iac.clients.marketplace.decoder import MarketplaceErrors
from dumont_iac.clients.marketplace.models import (
    CreatedVolume,
    Instance,
    Offer,
    Rental,
    RentRequest,
    User,
    Volume,
    VolumeOffer,
)
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.clients.pacing import key_fingerprint
from dumont_iac.config import ServiceSettings, marketplace_settings, not_the_api_sentence

# The marketplace's documented per-endpoint limits (minimum seconds between two calls by one
# key; offer search: 10 per minute per address, as a burst of 10 refilled every 6 s).
SEARCH = Endpoint("search offers", gap=6.0, burst=10, per_address=True)
RENT = Endpoint("rent", gap=4.5, idempotent=False, penalty=12.0)
SHOW_INSTANCE = Endpoint("show instance", gap=2.0)
LIST_INSTANCES = Endpoint("show instances", gap=1.0)
MANAGE = Endpoint("manage instance", gap=1.0)
REBOOT = Endpoint("reboot instance", gap=1.0, idempotent=False)
# Destroying is safe to repeat and must get through, so a 500 is retried as well.
DESTROY = Endpoint("destroy instance", gap=3.0, retries_500=True)
CHANGE_BID = Endpoint("change bid", gap=5.5)
SEARCH_VOLUMES = Endpoint("search volumes", gap=5.5)
CREATE_VOLUME = Endpoint("create volume", gap=5.5, idempotent=False)
LIST_VOLUMES = Endpoint("show volumes", gap=5.5)
DELETE_VOLUME = Endpoint("delete volume", gap=5.5, retries_500=True)
CURRENT_USER = Endpoint("current user")
GPU_NAMES = Endpoint("gpu names")

MAX_LABEL = 256
RENT_ATTEMPTS = 3
# Long enough for every read of one deployment (they arrive together) to share one listing,
# short enough that changes made elsewhere (failover, the console) show up at the next step.
LISTING_TTL = 5.0

_search_cache: TtlCache[tuple[Offer, ...]] = TtlCache(DEFAULT_TTL)
_gone_offers = GoneSet(DEFAULT_TTL)
_listings: SharedListing[tuple[Instance, ...]] = SharedListing(LISTING_TTL)

M = TypeVar("M", bound=BaseModel)


class MarketplaceClient:
    """Typed calls to the marketplace. Arguments left out resolve from Pulumi config or env."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | SecretStr | None = None,
        *,
        pacing_scale: float | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        settings: ServiceSettings | None = None,
    ) -> None:
        service = settings or marketplace_settings(url, api_key, pacing_scale=pacing_scale)
        self.http = HttpApi(
            service,
            "marketplace",
            timeout=timeout,
            retry=retry or DEFAULT_RETRY,
            decoder=MarketplaceErrors(),
        )

    def __repr__(self) -> str:
        return f"MarketplaceClient(url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return self.http.base_url

    # --- offers ----------------------------------------------------------------------------

    def search_offers(
        self, offer_filter: OfferFilter | None = None, *, cached: bool = True
    ) -> list[Offer]:
        """Offers matching the filter, in its order (cheapest first by default).

        Identical searches within ``DEFAULT_TTL`` seconds are answered from memory (``cached``
        False asks the marketplace again); offers rented or found gone since are left out.
        """
        wanted = offer_filter or OfferFilter()
        if wanted.choice == "preference" and len(wanted.gpu_names) > 1:
            # One search per model, in order: a single search, cut at ``limit`` by price,
            # could leave the preferred model out altogether.
            found_each = [
                self.search_offers(wanted.model_copy(update={"gpu_names": (name,)}), cached=cached)
                for name in wanted.gpu_names
            ]
            return [offer for each in found_each for offer in each][: wanted.limit]
        query = wanted.to_query()
        key = (
            self.base_url,
            key_fingerprint(self.http.service.key.plain()),
            json.dumps(query, sort_keys=True),
        )
        found = _search_cache.get(key) if cached else None
        if found is None:
            answer = self._always_served("POST", "/api/v0/bundles/", SEARCH, json=query)
            rows = self._rows(answer, "offers", "POST /api/v0/bundles/")
            offers = [self._parse(Offer, row, "POST /api/v0/bundles/") for row in rows]
            found = tuple(wanted.sort([o for o in offers if wanted.matches(o)]))
            _search_cache.put(key, found)
        gone = _gone_offers.ids(self.base_url)
        return [offer for offer in found if offer.id not in gone][: wanted.limit]

    def gpu_names(self) -> list[str]:
        """Every GPU model the marketplace knows, as it spells them; remembered for programs
        that validate model names (``dumont_iac.clients.gpu_models``)."""
        path = "/api/v0/gpu_names/unique/"
        answer = self._always_served("GET", path, GPU_NAMES)
        names = [str(n) for n in self._rows(answer, "gpu_names", f"GET {path}") if n]
        gpu_models.remember(names)
        return names

    def _always_served(self, method: str, path: str, endpoint: Endpoint, **kwargs: Any) -> Any:
        """A call to a path every marketplace serves: a 404 means the URL is not the API (a
        path prefix too many, another service on that port), which the URL setting fixes."""
        try:
            return self.http.call(method, path, endpoint, auth="optional", **kwargs)
        except errors.NotFound as exc:
            answer = f"{method} {path} answered HTTP 404: {exc.detail or 'not found'}"
            raise errors.NotTheApi(
                not_the_api_sentence(self.http.service.url, "marketplace", answer),
                url=self.base_url,
                status=404,
                content_type="application/json",
            ) from exc

    # --- rentals ---------------------------------------------------------------------------

    def rent(self, offer_id: int, request: RentRequest, *, label: str) -> Rental:
        """Rent an offer; the label is the rental's identity and must be unique to it.

        An answer that is lost (timeout, dropped connection, 5xx) leaves the outcome unknown:
        the label is looked up and a rental carrying it is returned (``recovered=True``)
        instead of renting again. Raises ``OfferUnavailable`` when the offer was taken.
        """
        if not label or len(label) > MAX_LABEL:
            raise errors.InvalidValue(
                f"label must be 1 to {MAX_LABEL} characters, got {len(label)}"
            )
        path = f"/api/v0/asks/{int(offer_id)}/"
        body = request.to_body(label)
        lost: errors.DumontError | None = None
        for attempt in range(1, RENT_ATTEMPTS + 1):
            try:
                with self._writing():
                    answer = self.http.call("PUT", path, RENT, json=body)
            except errors.OfferUnavailable:
                _gone_offers.add(self.base_url, offer_id)
                # After a lost answer, "taken" may mean taken by our own earlier attempt.
                if lost is not None and (found := self._rented_with(label)) is not None:
                    return Rental(instance_id=found.id, offer_id=offer_id, label=label,
                                  recovered=True)  # fmt: skip
                raise
            except (errors.NoResponse, errors.ServerError) as exc:
                lost = exc
                found = self._rented_with(label)
                if found is not None:
                    _gone_offers.add(self.base_url, offer_id)
                    return Rental(instance_id=found.id, offer_id=offer_id, label=label,
                                  recovered=True)  # fmt: skip
                if attempt < RENT_ATTEMPTS:
                    time.sleep(random.uniform(0.1, 0.3) * attempt)
                continue
            _gone_offers.add(self.base_url, offer_id)
            contract = answer.get("new_contract") if isinstance(answer, dict) else None
            if not isinstance(contract, int):
                raise errors.NotTheApi(
                    not_the_api_sentence(
                        self.http.service.url, "marketplace",
                        f"PUT {path} answered {str(answer)[:80]!r} without new_contract",
                    ),
                    url=self.base_url, status=200, content_type="application/json",
                )  # fmt: skip
            return Rental(instance_id=contract, offer_id=offer_id, label=label)
        assert lost is not None
        raise lost

    def _rented_with(self, label: str) -> Instance | None:
        """The newest rental carrying ``label``, if the marketplace shows one."""
        try:
            matches = self.find_by_label(label)
        except errors.DumontError as exc:
            raise errors.NoResponse(
                f"The answer to a rent with label {label!r} was lost and looking the label up "
                f"failed too ({exc}); look the label up before renting again.",
                url=self.base_url,
                reason="the rent's outcome is unknown",
            ) from exc
        return max(matches, key=lambda i: i.id) if matches else None

    def instances(self, *, cached: bool = False, reader: str | None = None) -> list[Instance]:
        """Every rental under the key. ``cached`` accepts a listing up to ``LISTING_TTL``
        seconds old, shared by the process's threads and dropped by its own writes; a listing
        serves each ``reader`` (a resource's id) once, so reading a resource again lists anew."""
        if cached:
            return list(_listings.get(self._listing_key(), self._list, reader))
        return list(self._list())

    def _list(self) -> tuple[Instance, ...]:
        answer = self.http.call("GET", "/api/v0/instances/", LIST_INSTANCES, params={"owner": "me"})
        rows = self._rows(answer, "instances", "GET /api/v0/instances/")
        return tuple(self._parse(Instance, row, "GET /api/v0/instances/") for row in rows)

    def _listing_key(self) -> tuple[str, str]:
        return (self.base_url, key_fingerprint(self.http.service.key.plain()))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Around a call that changes rentals: no listing fetched before it, or while it was in
        flight, is kept."""
        key = self._listing_key()
        _listings.invalidate(key)
        try:
            yield
        finally:
            _listings.invalidate(key)

    def instance(self, instance_id: int, *, deadline: float | None = None) -> Instance | None:
        """One rental, or None when it does not exist (destroyed, or never was).

        ``deadline`` (a ``time.monotonic()`` instant) bounds the call, retries included."""
        path = f"/api/v0/instances/{int(instance_id)}/"
        try:
            answer = self.http.call(
                "GET", path, SHOW_INSTANCE, params={"owner": "me"}, deadline=deadline
            )
        except errors.NotFound:
            return None
        row = answer.get("instances") if isinstance(answer, dict) else None
        if row is None:
            return None
        if isinstance(row, list):  # some versions wrap the one row in a list
            row = row[0] if row else None
            if row is None:
                return None
        return self._parse(Instance, row, f"GET {path}")

    def find_by_label(self, label: str) -> list[Instance]:
        return [instance for instance in self.instances() if instance.label == label]

    def start(self, instance_id: int) -> None:
        self._manage(instance_id, {"state": "running"})

    def stop(self, instance_id: int) -> None:
        self._manage(instance_id, {"state": "stopped"})

    def set_label(self, instance_id: int, label: str) -> None:
        if len(label) > MAX_LABEL:
            raise errors.InvalidValue(
                f"label must be at most {MAX_LABEL} characters, got {len(label)}"
            )
        self._manage(instance_id, {"label": label})

    def _manage(self, instance_id: int, body: dict[str, Any]) -> None:
        with self._writing():
            self.http.call("PUT", f"/api/v0/instances/{int(instance_id)}/", MANAGE, json=body)

    def change_bid(self, instance_id: int, price: float) -> None:
        """Set an interruptible rental's bid, in $/hour."""
        if not price > 0:
            raise errors.InvalidValue(f"price must be > 0 $/h, got {price!r}")
        path = f"/api/v0/instances/bid_price/{int(instance_id)}/"
        with self._writing():
            self.http.call("PUT", path, CHANGE_BID, json={"client_id": "me", "price": price})

    def reboot(self, instance_id: int) -> None:
        with self._writing():
            self.http.call("PUT", f"/api/v0/instances/reboot/{int(instance_id)}/", REBOOT)

    def destroy(self, instance_id: int) -> None:
        """Destroy a rental; one that is already gone counts as destroyed."""
        try:
            with self._writing():
                self.http.call("DELETE", f"/api/v0/instances/{int(instance_id)}/", DESTROY)
        except errors.NotFound:
            return

    # --- volumes ---------------------------------------------------------------------------

    def search_volume_offers(
        self,
        *,
        machine_id: int | None = None,
        min_size_gb: float | None = None,
        max_storage_cost: float | None = None,
        limit: int = 50,
    ) -> list[VolumeOffer]:
        """Where a local volume can be created; cheapest storage first."""
        query: dict[str, Any] = {"verified": {"eq": True}}
        if machine_id is not None:
            query["machine_id"] = {"eq": machine_id}
        if min_size_gb is not None:
            query["disk_space"] = {"gte": min_size_gb}
        if max_storage_cost is not None:
            query["storage_cost"] = {"lte": max_storage_cost}
        query.update(order=[["storage_cost", "asc"]], limit=limit)
        what = "POST /api/v0/volumes/search/"
        answer = self.http.call("POST", "/api/v0/volumes/search/", SEARCH_VOLUMES, json=query)
        rows = self._rows(answer, "offers", what)
        return [self._parse(VolumeOffer, row, what) for row in rows]

    def create_volume(
        self, offer_id: int, size_gb: float, name: str | None = None
    ) -> CreatedVolume:
        """Create a local volume from a volume offer. Given a ``name`` unique to the volume, an
        answer that is lost (dropped connection, 5xx) is recovered by looking the name up, as
        a rent's is by its label: the volume is made once, never twice."""
        body: dict[str, Any] = {"id": int(offer_id), "size": size_gb}
        if name is not None:
            body["name"] = name
        for attempt in range(1, RENT_ATTEMPTS + 1):
            try:
                answer = self.http.call("PUT", "/api/v0/volumes/", CREATE_VOLUME, json=body)
                break
            except (errors.NoResponse, errors.ServerError):
                if name is None or attempt == RENT_ATTEMPTS:
                    raise
                named = [v for v in self.volumes() if name in (v.name, v.label)]
                if named:
                    found = max(named, key=lambda v: v.id)
                    return CreatedVolume(volume_id=found.id, name=found.name or name,
                                         recovered=True)  # fmt: skip
                time.sleep(random.uniform(0.1, 0.3) * attempt)
        volume_name = str(answer.get("volume_name", "")) if isinstance(answer, dict) else ""
        digits = volume_name.rpartition(".")[2]
        volume_id = answer.get("volume_id") if isinstance(answer, dict) else None
        if not isinstance(volume_id, int):
            volume_id = int(digits) if digits.isdigit() else None
        return CreatedVolume(volume_id=volume_id, name=volume_name)

    def volumes(self) -> list[Volume]:
        answer = self.http.call("GET", "/api/v0/volumes/", LIST_VOLUMES, params={"owner": "me"})
        rows = self._rows(answer, "volumes", "GET /api/v0/volumes/")
        return [self._parse(Volume, row, "GET /api/v0/volumes/") for row in rows]

    def delete_volume(self, volume_id: int) -> None:
        """Delete a volume; one that is already gone counts as deleted."""
        try:
            self.http.call(
                "DELETE", "/api/v0/volumes/", DELETE_VOLUME, params={"id": int(volume_id)}
            )
        except errors.NotFound:
            return

    # --- account ---------------------------------------------------------------------------

    def user(self) -> User:
        """The account behind the key; ``credit`` is the balance available to spend."""
        answer = self.http.call("GET", "/api/v0/users/current/", CURRENT_USER)
        return self._parse(User, answer, "GET /api/v0/users/current/")

    # --- parsing ---------------------------------------------------------------------------

    def _rows(self, answer: Any, key: str, what: str) -> list[Any]:
        rows = answer.get(key) if isinstance(answer, dict) else None
        if rows is None and isinstance(answer, dict) and key in answer:
            return []  # the marketplace sends null for "none"
        if not isinstance(rows, list):
            raise self._unexpected(what, f"an answer without a list of {key}")
        return rows

    def _parse(self, model: type[M], row: Any, what: str) -> M:
        try:
            return model.model_validate(row)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"]) or "row"
            raise self._unexpected(what, f"{where}: {problem['msg']}") from exc

    def _unexpected(self, what: str, problem: str) -> errors.NotTheApi:
        return errors.NotTheApi(
            not_the_api_sentence(
                self.http.service.url, "marketplace", f"{what} answered {problem}"
            ),
            url=self.base_url, status=200, content_type="application/json",
        )  # fmt: skip


def forget_cached_searches() -> None:
    """Empty the offer-search cache, the memory of taken offers and the shared instance
    listings (for tests and long runs)."""
    _search_cache.clear()
    _gone_offers.clear()
    _listings.clear()


# A program that names a model the shipped catalog lacks asks the configured marketplace once.
gpu_models.ask_with(lambda: MarketplaceClient(timeout=gpu_models.REFRESH_TIMEOUT).gpu_names())

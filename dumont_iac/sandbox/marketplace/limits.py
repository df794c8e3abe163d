"""The marketplace's rate limits, per endpoint: which calls ``core.ratelimit`` counts, and how.

The marketplace enforces per endpoint and per API key a minimum time between calls, answering a
call that comes too early with 429, a plain-text body and no ``Retry-After`` header. Clients have
to pace themselves, so the sandbox must be just as strict.

Offer search is limited per IP address ("10 per minute"): a bucket of 10 calls refilled by one
call every 6 s, so a burst of ten passes and a steady caller gets one search per 6 s.

Renting has a penalty: the first call inside the 4.5 s gap is refused; a caller that keeps
calling while refused (hammering) is locked out for 12 s from its latest refused call.
"""

from __future__ import annotations

import re

from dumont_iac.sandbox.core.ratelimit import PER_IP, Limit

SEARCH = Limit("search offers", gap=6.0, burst=10, per=PER_IP)
RENT = Limit("rent", gap=4.5, penalty=12.0)

# (method, path without trailing slash, limit); the first match wins, so specific paths come first.
_ID = r"[^/]+"
RULES: list[tuple[str, re.Pattern[str], Limit]] = [
    (m, re.compile(p), lim)
    for m, p, lim in [
        ("PUT", rf"/api/v0/asks/{_ID}", RENT),
        ("POST", r"/api/v0/asks/bulk", RENT),  # one rent limit for single and bulk rents
        ("PUT", rf"/api/v0/instances/bid_price/{_ID}", Limit("change bid", gap=5.5)),
        ("PUT", rf"/api/v0/instances/reboot/{_ID}", Limit("reboot instance", gap=1.0)),
        ("PUT", rf"/api/v0/instances/{_ID}", Limit("manage instance", gap=1.0)),
        ("DELETE", rf"/api/v0/instances/{_ID}", Limit("destroy instance", gap=3.0)),
        ("GET", rf"/api/v0/instances/{_ID}", Limit("show instance", gap=2.0)),
        ("GET", r"/api/v0/instances", Limit("show instances", gap=1.0)),
        ("GET", r"/api/v1/instances", Limit("show instances v1", gap=1.0)),
        ("POST", r"/api/v0/volumes/search", Limit("search volumes", gap=5.5)),
        ("PUT", r"/api/v0/volumes", Limit("create volume", gap=5.5)),
        ("GET", r"/api/v0/volumes", Limit("show volumes", gap=5.5)),
        ("DELETE", rf"/api/v0/volumes(/{_ID})?", Limit("delete volume", gap=5.5)),
        ("POST", r"/api/v0/bundles", SEARCH),
        ("GET", r"/api/v0/bundles", SEARCH),
        ("PUT", r"/api/v0/search/asks", SEARCH),
    ]
]


def limit_for(method: str, path: str) -> Limit | None:
    path = path.rstrip("/") or "/"
    for rule_method, pattern, limit in RULES:
        if rule_method == method and pattern.fullmatch(path):
            return limit
    return None

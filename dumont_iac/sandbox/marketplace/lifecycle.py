"""How instances move through time, and what they cost, as data plus one pure function.

``TRANSITIONS`` is the lifecycle's table: an instance the renter wants running steps from
``created`` to ``loading`` to ``running`` (and back to ``running`` after a reboot), each step
after a dwell measured in sandbox seconds. ``advance`` replays the time between two store calls
in event order: it applies the steps that fell due, charges each user for every interval at the
rates then in force (storage from creation; GPU time only while ``running``), and when a
user's credit reaches zero stops that user's instances at that moment, as the marketplace
does. Storage keeps billing after that, so credit may go below zero.

Statuses that never advance on their own: ``stopped`` (waits for a start and free GPUs),
``offline`` (its machine failed; never comes back) and ``exited``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

CREATED_SECONDS = 5.0
REBOOT_SECONDS = 10.0
RESTART_LOADING_SECONDS = (5.0, 15.0)  # the image is cached on the machine
FIRST_LOADING_SECONDS = (20.0, 60.0)
# Images that take longer to pull than a slim one.
HEAVY_IMAGE_HINTS = ("cuda", "pytorch", "tensorflow", "nvidia", "vllm", "jax", "comfy")

HOLDS_GPUS = frozenset({"created", "loading", "running", "rebooting"})


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    dwell: str  # the Live attribute holding the seconds spent in ``source``


TRANSITIONS: dict[str, Transition] = {
    t.source: t
    for t in (
        Transition("created", "loading", "created_seconds"),
        Transition("loading", "running", "loading_seconds"),
        Transition("rebooting", "running", "reboot_seconds"),
    )
}


def loading_seconds(image: str, instance_id: int, restart: bool = False) -> float:
    """A stable, image-dependent pull time: the same rental always loads equally long."""
    low, high = RESTART_LOADING_SECONDS if restart else FIRST_LOADING_SECONDS
    digest = hashlib.sha256(f"{image}:{instance_id}:{restart}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 2**32
    if not restart and any(hint in image.lower() for hint in HEAVY_IMAGE_HINTS):
        low = (low + high) / 2
    return round(low + (high - low) * fraction, 1)


@dataclass
class Live:
    """An instance as the clock sees it (not yet destroyed)."""

    id: int
    user_id: int
    actual: str
    intended: str
    since: float  # when it entered ``actual``
    gpu_rate: float  # $/h while running
    storage_rate: float  # $/h from creation until destroyed
    loading_seconds: float = 30.0
    created_seconds: float = CREATED_SECONDS
    reboot_seconds: float = REBOOT_SECONDS
    status_msg: str = ""
    changed: bool = False

    def rate(self) -> float:
        return self.storage_rate + (self.gpu_rate if self.actual == "running" else 0.0)

    def due(self) -> float | None:
        step = TRANSITIONS.get(self.actual)
        if step is None or self.intended != "running":
            return None
        return self.since + getattr(self, step.dwell)

    def move(self, actual: str, at: float, status_msg: str, intended: str | None = None) -> None:
        self.actual, self.since, self.status_msg, self.changed = actual, at, status_msg, True
        if intended is not None:
            self.intended = intended


@dataclass
class Outcome:
    charges: dict[int, float] = field(default_factory=dict)  # user -> $ charged
    out_of_credit: set[int] = field(default_factory=set)  # users whose instances were stopped


STATUS_MESSAGES = {
    "loading": "Pulling image and starting the container.",
    "running": "success, running",
}
OUT_OF_CREDIT_MSG = "Stopped: your credit ran out. Add credit, then start the instance again."


def advance(
    instances: list[Live],
    storage_rates: dict[int, float],
    credits: dict[int, float],
    start: float,
    end: float,
) -> Outcome:
    """Replay ``start``..``end``: apply due transitions and bill, in time order.

    ``storage_rates`` are per-user $/h for things that bill without an instance (volumes).
    ``credits`` is updated in place.
    """
    outcome = Outcome()
    cursor = start
    while cursor < end:
        step_end = end
        for live in instances:
            due = live.due()
            if due is not None and due < step_end:
                step_end = max(due, cursor)
        rates = _user_rates(instances, storage_rates)
        # A user whose credit would cross zero in this step stops at the crossing.
        crossing: tuple[float, int] | None = None
        for user_id, rate in rates.items():
            if not any(i.user_id == user_id and i.actual in HOLDS_GPUS for i in instances):
                continue
            credit = credits.get(user_id, 0.0)
            if credit <= 0:
                at = cursor
            elif rate > 0:
                at = cursor + credit / rate * 3600.0
            else:
                continue
            if at < step_end and (crossing is None or at < crossing[0]):
                crossing = (at, user_id)
        if crossing is not None:
            step_end = crossing[0]
        _bill(rates, credits, outcome, step_end - cursor)
        cursor = step_end
        if crossing is not None:
            _stop_for_credit(instances, crossing[1], cursor)
            outcome.out_of_credit.add(crossing[1])
        for live in instances:
            due = live.due()
            if due is not None and due <= cursor:
                target = TRANSITIONS[live.actual].target
                live.move(target, due, STATUS_MESSAGES.get(target, ""))
    return outcome


def _stop_for_credit(instances: list[Live], user_id: int, at: float) -> None:
    for live in instances:
        if live.user_id == user_id and live.actual in HOLDS_GPUS:
            live.move("stopped", at, OUT_OF_CREDIT_MSG, intended="stopped")


def _user_rates(instances: list[Live], storage_rates: dict[int, float]) -> dict[int, float]:
    rates = dict(storage_rates)
    for live in instances:
        rates[live.user_id] = rates.get(live.user_id, 0.0) + live.rate()
    return rates


def _bill(
    rates: dict[int, float], credits: dict[int, float], outcome: Outcome, seconds: float
) -> None:
    if seconds <= 0:
        return
    for user_id, rate in rates.items():
        amount = rate * seconds / 3600.0
        if amount:
            credits[user_id] = credits.get(user_id, 0.0) - amount
            outcome.charges[user_id] = outcome.charges.get(user_id, 0.0) + amount

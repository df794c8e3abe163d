"""The marketplace's GPU model names, so that a name is checked in the program, not at create.

A name matches a known model ignoring case, underscores versus spaces and repeated spaces
("rtx_4090" is "RTX 4090"). The catalog ships with the package; the models a marketplace
answers from ``gpu_names`` are remembered in a small cache file, and a name the catalog does not
know makes one attempt per process to ask the configured marketplace before it is refused,
with the closest known names.
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from dumont_iac.errors import DumontError

CACHE_ENV = "DUMONT_CACHE_DIR"
REFRESH_TIMEOUT = 3.0  # seconds: only an unknown name waits for this

_SHIPPED_TEXT = """
    GTX 1070; GTX 1080; GTX 1080 Ti; GTX 1660 Ti; Titan RTX; Titan V; Q RTX 6000; Q RTX 8000;
    RTX 2070; RTX 2080; RTX 2080 Ti; RTX 3060; RTX 3060 Ti; RTX 3070; RTX 3070 Ti; RTX 3080;
    RTX 3080 Ti; RTX 3090; RTX 3090 Ti; RTX 4060; RTX 4060 Ti; RTX 4070; RTX 4070 Ti; RTX 4080;
    RTX 4090; RTX 5070; RTX 5080; RTX 5090; RTX A2000; RTX A4000; RTX A4500; RTX A5000;
    RTX A6000; RTX 4000Ada; RTX 5000Ada; RTX 6000Ada; Tesla P4; Tesla P40; Tesla P100;
    Tesla T4; Tesla V100; A10; A30; A40; L4; L40; L40S; A100 PCIE; A100 SXM4; A100X; A800 PCIE;
    H100 PCIE; H100 SXM; H100 NVL; H200; B200
"""
SHIPPED = frozenset(" ".join(name.split()) for name in _SHIPPED_TEXT.split(";") if name.strip())

_lock = threading.Lock()
_asked: list[bool] = []  # whether this process already asked a marketplace
# How to ask one: set by the marketplace client's module, which this one must not import.
_ask: list[Callable[[], object]] = []


def key(name: str) -> str:
    """What two spellings of one model have in common."""
    return " ".join(name.replace("_", " ").split()).casefold()


def known() -> frozenset[str]:
    """The shipped models and those a marketplace answered before."""
    return SHIPPED | frozenset(_cached())


def canonical(name: str) -> str | None:
    """The marketplace's spelling of ``name``, or None when no known model matches."""
    wanted = key(name)
    for model in known():
        if key(model) == wanted:
            return model
    if _refresh() and (found := [m for m in known() if key(m) == wanted]):
        return found[0]
    return None


def closest(name: str, count: int = 3) -> list[str]:
    by_key = {key(model): model for model in known()}
    return [by_key[k] for k in difflib.get_close_matches(key(name), by_key, n=count, cutoff=0.5)]


def remember(names: Iterable[str]) -> None:
    """Keep the models a marketplace answered (``gpu_names``) for later programs."""
    merged = sorted(set(_cached()) | {" ".join(n.split()) for n in names if n and n.strip()})
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(merged))
        temporary.replace(path)  # atomic: a concurrent reader sees the old or the new list
    except OSError:
        pass  # a read-only home only loses the cache, never a deploy


def ask_with(fetch: Callable[[], object]) -> None:
    """How to ask the configured marketplace for its models (it calls ``remember``)."""
    _ask[:] = [fetch]


def _refresh() -> bool:
    """Ask the configured marketplace once per process; True when it answered."""
    with _lock:
        if _asked or not _ask:
            return False
        _asked.append(True)
    try:
        _ask[0]()
    except DumontError:
        return False
    return True


def _cache_path() -> Path:
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dumont-iac"
    )
    return Path(base) / "gpu-models.json"


def _cached() -> list[str]:
    try:
        names = json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

"""Concurrent clients on both services of the local world, and a check that no acknowledged
write was lost.

    .venv/bin/python bench/load.py [--clients 100] [--ops 1] [--users 100] [--limits off]
                                   [--postgres]

Each client calls from its own loopback address, on the marketplace (search offers, rent with a
unique label, list, relabel, show, destroy: the provider's calls, paced as it paces them) and
on the control plane at once (a GPU's failover settings, snapshot policy and budget: written,
read back, overwritten). Then every acknowledged write is checked: each rental still standing
once with its last label, each destroyed one gone, no rental nobody was told about, each
document with its last value. 429s are retried (after Retry-After where given) and counted,
not lost. Latencies are per request (each attempt; pacing waits excluded).

``--postgres`` keeps the control plane on a throwaway PostgreSQL (as the tests start one:
initdb from the machine's PostgreSQL 15, as user postgres under root).

The last line reads ``lost writes: N``; the exit status is 1 when N is not 0.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dumont_iac.testing.load import LoadPlan, load_world, run_load


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.control_plane.postgres import PostgresServer, find_binaries

    binaries, reason = find_binaries()
    if binaries is None:
        raise SystemExit(f"--postgres: {reason}")
    server = PostgresServer.start(binaries)
    try:
        yield server.url()
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = LoadPlan()  # one key a client, as 100 users would be (see LoadPlan)
    parser.add_argument("--clients", type=int, default=default.clients)
    parser.add_argument("--ops", type=int, default=default.ops,
                        help="operations per client and service")  # fmt: skip
    parser.add_argument("--users", type=int, default=default.users, help="keys per service")
    parser.add_argument("--limits", choices=("realistic", "off"), default="realistic")
    parser.add_argument("--postgres", action="store_true", help="control plane on PostgreSQL")
    args = parser.parse_args()
    plan = LoadPlan(clients=args.clients, ops=args.ops, users=min(args.users, args.clients),
                    limits=args.limits == "realistic")  # fmt: skip
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        database = stack.enter_context(postgres_database()) if args.postgres else None
        world = stack.enter_context(load_world(plan, scratch, control_plane_db=database))
        report = run_load(world, plan, "postgresql 15" if args.postgres else "sqlite")
    print("\n".join(report.lines()))
    return 1 if report.lost else 0


if __name__ == "__main__":
    sys.exit(main())

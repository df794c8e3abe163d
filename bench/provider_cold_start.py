"""Cold start of the dynamic provider process, as the engine pays it on every deploy.

Prints, over several fresh processes (medians, with min and max):
- spawn -> port: ``python -m pulumi.dynamic`` started until it prints its gRPC port;
- import + unpickle: in a fresh interpreter, ``dill.loads`` of the provider blob, which imports
  the provider's module and everything it needs (the part a provider adds to the start);
- first Check: over gRPC, the first call on a blob (unpickle + configure + check), and a later
  Check on the same blob for comparison.

    .venv/bin/python bench/provider_cold_start.py [--runs 7] [--fixture FROZEN_BLOB.json]

Target from the project brief: import + unpickle < 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dumont_iac.testing import ProviderProcess, provider_blobs
from dumont_iac.testing.toy import ToyRecordProvider

_UNPICKLE = """
import base64, sys, time
import dill, grpc, pulumi, pulumi.dynamic
from pulumi.runtime import rpc
blob = sys.argv[1]
started = time.perf_counter()
dill.loads(base64.b64decode(blob))
print(time.perf_counter() - started)
"""


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):7.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fixture", type=Path, help="a frozen provider blob (JSON) to measure")
    args = parser.parse_args()
    if args.fixture:
        frozen = provider_blobs.read(args.fixture)
    else:
        frozen = provider_blobs.freeze(ToyRecordProvider(), "pulumi-python:dynamic/x:ToyRecord")
    urn = frozen.urn("bench")

    spawn, unpickle, first_check, later_check = [], [], [], []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", _UNPICKLE, frozen.blob],
            check=True,
            capture_output=True,
            text=True,
        )
        unpickle.append(float(out.stdout.strip()))
        with ProviderProcess(project="bench") as process:
            assert process.startup_seconds is not None
            spawn.append(process.startup_seconds)
            process.configure({})
            news = {"__provider": frozen.blob, "name": "bench"}
            started = time.perf_counter()
            process.check(urn, {}, news)
            first_check.append(time.perf_counter() - started)
            started = time.perf_counter()
            process.check(urn, {}, news)
            later_check.append(time.perf_counter() - started)

    print(f"provider: {frozen.provider}   runs: {args.runs}")
    print(f"spawn -> port printed     {summary(spawn)}")
    print(f"import + unpickle         {summary(unpickle)}   (target < 500 ms)")
    print(f"first Check over gRPC     {summary(first_check)}")
    print(f"later Check over gRPC     {summary(later_check)}")
    total = [s + c for s, c in zip(spawn, first_check, strict=True)]
    print(f"spawn -> first answer     {summary(total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

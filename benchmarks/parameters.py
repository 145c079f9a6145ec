"""Parameter Store throughput: ssm-local in process against moto's in-process backend.

Prints, in one run, calls per second (median of several rounds) for get_parameter served from
ssm-local's read cache, get_parameter with the cache off (one store read per call), and
put_parameter with Overwrite, for ssm-local on a SQLite file and for moto (``mock_aws`` with a
boto3 client, the usual local stand-in), then the ratios. Targets from issue 3: cached get at
least 50x moto, put at least 3x.

    python benchmarks/parameters.py [--rounds 5] [--calls 2000] [--db URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NAMES = [f"/bench/app{i % 10}/param{i}" for i in range(100)]


def rate(fn: Callable[[int], object], calls: int, rounds: int) -> float:
    """Median calls per second of ``fn(i)`` over ``rounds`` rounds of ``calls`` calls."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        results.append(calls / (time.perf_counter() - start))
    return statistics.median(results)


def bench_ssm_local(url: str, home: str, calls: int, rounds: int) -> dict[str, float]:
    from ssm_local.engine import Engine

    out: dict[str, float] = {}
    with Engine(url, home=home, environ={}) as cached, Engine(
        url, home=home, environ={}, cache_ttl=0
    ) as uncached:
        for name in NAMES:
            cached.parameters.put_parameter(name, "value", type="String", overwrite=True)
        ps, raw = cached.parameters, uncached.parameters
        out["get (cached)"] = rate(lambda i: ps.get_parameter(NAMES[i % 100]), calls * 10, rounds)
        out["get (uncached)"] = rate(lambda i: raw.get_parameter(NAMES[i % 100]), calls, rounds)
        out["put (overwrite)"] = rate(
            lambda i: ps.put_parameter(NAMES[i % 100], f"v{i}", overwrite=True), calls, rounds
        )
    return out


def bench_moto(calls: int, rounds: int) -> dict[str, float]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import boto3
    from moto import mock_aws

    out: dict[str, float] = {}
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        for name in NAMES:
            client.put_parameter(Name=name, Value="value", Type="String", Overwrite=True)
        get = rate(lambda i: client.get_parameter(Name=NAMES[i % 100]), calls, rounds)
        out["get (cached)"] = get  # moto has no cache: the same call both times
        out["get (uncached)"] = get
        out["put (overwrite)"] = rate(
            lambda i: client.put_parameter(
                Name=NAMES[i % 100], Value=f"v{i}", Type="String", Overwrite=True
            ),
            calls,
            rounds,
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--db", help="store URL (default: a SQLite file in a temp directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssm-local-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ours = bench_ssm_local(url, str(Path(tmp) / "home"), args.calls, args.rounds)
    moto = bench_moto(max(args.calls // 4, 100), args.rounds)
    targets = {"get (cached)": 50.0, "get (uncached)": None, "put (overwrite)": 3.0}
    print(f"Parameter Store, calls per second (median of {args.rounds} rounds)")
    print(f"{'operation':<18}{'ssm-local':>12}{'moto':>10}{'ratio':>9}  target")
    for op, target in targets.items():
        ratio = ours[op] / moto[op]
        verdict = "" if target is None else (f">= {target:g}x " + ("ok" if ratio >= target else "MISSED"))
        print(f"{op:<18}{ours[op]:>12,.0f}{moto[op]:>10,.0f}{ratio:>8.1f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

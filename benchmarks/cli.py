"""Benchmark: the ``ssm-local`` command's wall time, start to exit, against the floor of each command.

Run ``python benchmarks/cli.py``. In interleaved rounds it starts a fresh interpreter for each
command (as the ``ssm-local`` console script does: ``from ssm_local.engine.cli import main``) and,
right after it, the command's floor, a fresh interpreter doing the least the command must do:

- ``--version`` and ``--help`` against ``python3 -c "import argparse"``;
- ``param get NAME`` against importing ``sqlmodel``, opening the same SQLite store and reading the
  parameter's row;
- ``validate FILE`` (one Command document) against importing what validation truly needs (json,
  PyYAML, jsonschema, lark for the ``{{ }}`` templates, networkx for the step graph, regex for
  allowedPattern) and parsing the file;
- ``run AWS-RunShellScript -p commands=true`` on 200 local nodes at MaxConcurrency 50 (every
  Command, CommandInvocation and plugin result persisted in the SQLite store) against an
  interpreter running ``sh -c true`` 200 times from a 50-thread pool with ``subprocess.run``.

It prints each median wall time, the ratio of the medians and the target (``--help`` <= 2x,
``param get`` <= 1.3x, ``validate`` <= 1.5x, the 200-node run <= 2.5x). The store, the nodes and
the document live in a temporary directory, and so does the bytecode cache (each interpreter runs
with ``PYTHONPYCACHEPREFIX`` there, written by a warm-up run, as an installed package has its
``.pyc`` files).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ssm_local.engine import Engine  # noqa: E402

PARAMETER = "/bench/cli/parameter"
DOCUMENT = """schemaVersion: "2.2"
description: Print the host name and the kernel.
parameters:
  message:
    type: String
    default: hello
    allowedPattern: "^[a-z]+$"
mainSteps:
  - action: aws:runShellScript
    name: hello
    inputs:
      runCommand:
        - echo {{ message }}
        - uname -a
"""
OURS = "import sys; from ssm_local.engine.cli import main; sys.exit(main())"
FLOOR_PARAM_GET = """
import sys, sqlmodel
engine = sqlmodel.create_engine(sys.argv[1])
with engine.connect() as connection:
    row = connection.exec_driver_sql("SELECT * FROM parameters WHERE name = ?", (sys.argv[2],)).one()
print(row.value)
"""
FLOOR_VALIDATE = """
import json, sys, jsonschema, lark, networkx, regex, yaml
with open(sys.argv[1], "rb") as handle:
    print(len(yaml.load(handle, Loader=yaml.CSafeLoader)))
"""
FLOOR_FANOUT = """
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
nodes, concurrency = int(sys.argv[1]), int(sys.argv[2])
with ThreadPoolExecutor(concurrency) as pool:
    done = list(pool.map(lambda _: subprocess.run(["sh", "-c", "true"], check=False), range(nodes)))
sys.exit(max(d.returncode for d in done))
"""


@dataclass(frozen=True)
class Case:
    """One command against its floor; ``target`` is the highest acceptable ratio."""

    name: str
    ours: list[str]
    floor: list[str]
    target: float


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[2:]} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def cases(work: Path, url: str, nodes: int, concurrency: int) -> list[Case]:
    python = sys.executable
    document = str(work / "hello.yaml")
    return [
        Case("--version", [python, "-c", OURS, "--version"], [python, "-c", "import argparse"], 2.0),
        Case("--help", [python, "-c", OURS, "--help"], [python, "-c", "import argparse"], 2.0),
        Case("param get", [python, "-c", OURS, "param", "get", PARAMETER, "--db", url],
             [python, "-c", FLOOR_PARAM_GET, url, PARAMETER], 1.3),
        Case("validate", [python, "-c", OURS, "validate", document],
             [python, "-c", FLOOR_VALIDATE, document], 1.5),
        Case(f"run {nodes} nodes",
             [python, "-c", OURS, "run", "AWS-RunShellScript", "-p", "commands=true", "--targets",
              "Key=tag:bench,Values=cli", "--max-concurrency", str(concurrency), "--db", url],
             [python, "-c", FLOOR_FANOUT, str(nodes), str(concurrency)], 2.5),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only the cases whose name starts with NAME (repeatable)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ssm-local-bench-cli-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'store.db'}"
        (work / "hello.yaml").write_text(DOCUMENT, encoding="utf-8")
        with Engine(url, home=work / "home", environ={}) as engine:
            engine.parameters.put_parameter(PARAMETER, "value", type="String")
            for i in range(args.nodes):
                engine.nodes.add_local(f"bench-{i:03d}", tags={"bench": "cli"})
        env = {**os.environ, "SSM_LOCAL_HOME": str(work / "home"),
               "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                             if p)}
        env.pop("SSM_LOCAL_DB", None)
        # Time what an installed ssm-local costs: with its bytecode cached (written by the
        # warm-up into the temporary directory, not the source tree), even where the caller's
        # environment says PYTHONDONTWRITEBYTECODE.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        chosen = [c for c in cases(work, url, args.nodes, args.concurrency)
                  if not args.only or any(c.name.startswith(o) for o in args.only)]
        for case in chosen:  # warm-up: the file system cache, .pyc files
            timed(case.ours, env, work)
            timed(case.floor, env, work)
        ours: dict[str, list[float]] = {c.name: [] for c in chosen}
        floor: dict[str, list[float]] = {c.name: [] for c in chosen}
        for _ in range(args.rounds):  # interleaved: a change in load hits both sides alike
            for case in chosen:
                ours[case.name].append(timed(case.ours, env, work))
                floor[case.name].append(timed(case.floor, env, work))

    print(f"ssm-local command wall time against its floor, median of {args.rounds} interleaved "
          f"rounds ({args.nodes} nodes, MaxConcurrency {args.concurrency} for the run)")
    print(f"{'command':<16}{'ssm-local':>11}{'floor':>9}{'ratio':>8}  target")
    failed = 0
    for case in chosen:
        mine, base = statistics.median(ours[case.name]), statistics.median(floor[case.name])
        ratio = mine / base
        verdict = "ok" if ratio <= case.target else "MISSED"
        failed += verdict != "ok"
        print(f"{case.name:<16}{mine:>10.3f}s{base:>8.3f}s{ratio:>7.2f}x  <= {case.target}x {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

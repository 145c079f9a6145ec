"""Benchmark: a 1,000-step runbook with every transition persisted in SQLite, against a floor.

Run ``python benchmarks/automation.py``. ssm-local runs a runbook of 1,000 trivial steps
(``aws:sleep`` with ``PT0S``: each step is two persisted events, the wait starting and the timer
firing, each its own committed transaction) through the Automation service on a SQLite store in
WAL mode. The floor, in the same run, is 1,000 single-row insert-and-commit transactions with
Python's ``sqlite3`` on a WAL database with the store's settings (``synchronous=NORMAL``). It
prints steps per second (median of the rounds) and our rate as a share of the floor's
transactions per second. Targets: >= 1,000 steps/s and >= 25% of the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import documents  # noqa: E402
from engine.services.automations import AutomationService  # noqa: E402
from engine.store.database import Store  # noqa: E402

STEPS = 1000


def runbook() -> documents.Document:
    # short names and compact JSON keep 1,000 steps under AWS's 64 KB document limit
    steps = [{"name": f"{i:x}", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}
             for i in range(STEPS)]
    text = json.dumps({"schemaVersion": "0.3", "mainSteps": steps}, separators=(",", ":"))
    return documents.load(text, source="bench.json")


def run_ours(document: documents.Document) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/store.db")
        service = AutomationService(store)
        handle = service.start(document, {}, document_name="Bench")
        start = time.perf_counter()
        execution = asyncio.run(handle.run())
        elapsed = time.perf_counter() - start
        store.close()
    return elapsed, str(execution["AutomationExecutionStatus"])


def run_floor() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE events (execution_id TEXT, seq INTEGER, type TEXT, "
                     "payload TEXT, at REAL, PRIMARY KEY (execution_id, seq))")
        payload = json.dumps({"type": "StepFinished", "id": "x" * 36, "status": "Success"})
        start = time.perf_counter()
        for seq in range(STEPS):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                         ("e", seq, "StepFinished", payload, time.time()))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    document = runbook()
    run_ours(document)  # warm-up: imports, parsers, caches
    ours, floor = [], []
    for _ in range(args.rounds):
        elapsed, status = run_ours(document)
        if status != "Success":
            print(f"the runbook ended {status}")
            return 1
        ours.append(elapsed)
        floor.append(run_floor())
    steps_per_second = STEPS / statistics.median(ours)
    floor_per_second = STEPS / statistics.median(floor)
    share = steps_per_second / floor_per_second
    print(f"runbook: {STEPS} aws:sleep PT0S steps, each a persisted event, "
          f"{args.rounds} rounds")
    print(f"ssm-local : {steps_per_second:8.0f} steps/s (median)")
    print(f"floor     : {floor_per_second:8.0f} insert+commit transactions/s (median)")
    print(f"share of floor: {share:.0%} (target >= 25%); target >= 1000 steps/s: "
          f"{'met' if steps_per_second >= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

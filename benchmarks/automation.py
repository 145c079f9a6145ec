"""Benchmark: a 1,000-step runbook with every transition persisted in SQLite, against a floor.

Run ``python benchmarks/automation.py``. ssm-local runs two runbooks of 1,000 trivial steps
through the Automation service on a SQLite store in WAL mode: ``aws:sleep`` with ``PT0S`` (a
step that is due at once is one persisted event) and a no-op action in the service's action table (each
step goes through the runner's handler path: a StepStarted and a StepFinished event; a handler
that finishes without waiting has both written in one transaction). The floor, in the same run,
is 1,000 single-row insert-and-commit transactions with Python's ``sqlite3`` on a WAL database
with the store's settings (``synchronous=NORMAL``). It prints steps per second (median of the
rounds) and our rate as a share of the floor's transactions per second. Targets: >= 1,000
steps/s and >= 25% of the floor.
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

from ssm_local import documents  # noqa: E402
from ssm_local.engine.automation.actions import (  # noqa: E402
    BUILTIN_ACTIONS,
    ActionContext,
    ActionResult,
)
from ssm_local.engine.services.automations import AutomationService  # noqa: E402
from ssm_local.engine.store.database import Store  # noqa: E402

STEPS = 1000


NOOP = "aws:benchNoop"


async def _noop(ctx: ActionContext) -> ActionResult:
    return ActionResult.success()


def runbook(action: str = "aws:sleep") -> documents.Document:
    # short names and compact JSON keep 1,000 steps under AWS's 64 KB document limit
    inputs = {"Duration": "PT0S"} if action == "aws:sleep" else {}
    steps = [{"name": f"{i:x}", "action": action, "inputs": inputs} for i in range(STEPS)]
    text = json.dumps({"schemaVersion": "0.3", "mainSteps": steps}, separators=(",", ":"))
    return documents.load(text, source="bench.json")


def run_ours(document: documents.Document) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/store.db")
        service = AutomationService(store, actions={**BUILTIN_ACTIONS, NOOP: _noop})
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
    sleeps, handled = runbook(), runbook(NOOP)
    run_ours(sleeps)  # warm-up: imports, parsers, caches
    run_ours(handled)
    ours, ours_handled, floor = [], [], []
    for _ in range(args.rounds):
        for document, times in ((sleeps, ours), (handled, ours_handled)):
            elapsed, status = run_ours(document)
            if status != "Success":
                print(f"the runbook ended {status}")
                return 1
            times.append(elapsed)
        floor.append(run_floor())
    floor_per_second = STEPS / statistics.median(floor)
    print(f"runbooks of {STEPS} trivial steps, {args.rounds} rounds, medians")
    print(f"floor                         : {floor_per_second:8.0f} insert+commit "
          "transactions/s")
    for label, times in (("aws:sleep PT0S (1 event/step)", ours),
                         ("no-op handler (2 events/step, 1 transaction)", ours_handled)):
        rate = STEPS / statistics.median(times)
        print(f"ssm-local {label}: {rate:8.0f} steps/s, {rate / floor_per_second:.0%} of the "
              f"floor (targets >= 1000 steps/s: {'met' if rate >= 1000 else 'NOT met'}, "
              f">= 25%: {'met' if rate >= floor_per_second / 4 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

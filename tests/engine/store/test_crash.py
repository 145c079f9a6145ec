"""Crash safety: a writer killed with SIGKILL mid-burst loses no acknowledged put.

A child process opens the store and puts parameters as fast as it can, printing each one's
number after ``put_parameter`` returns. The test kills it with SIGKILL at a random moment,
reopens the store and checks that every acknowledged put is there with its value (SecureString
ones decrypt with the key ring the child made) and that the store is intact.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa

from ssm_local.engine import Engine
from tests.engine.store.backends import FakeClock

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import sys
    from ssm_local.engine import Engine

    url, home = sys.argv[1], sys.argv[2]
    engine = Engine(url, home=home, environ={})
    ps = engine.parameters
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        kind = "SecureString" if i % 5 == 0 else "String"
        ps.put_parameter(f"/crash/p{i}", f"value-{i}", type=kind)
        if i > 1:
            ps.put_parameter("/crash/counter", str(i), type="String", overwrite=True)
        print(i, flush=True)
    """
)


def test_sigkill_loses_no_acknowledged_put(store_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    Engine(store_url, home=home, environ={}).close()  # schema made before the burst
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_url, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
    time.sleep(random.uniform(0.3, 1.2))
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    acknowledged = [int(line) for line in out.split() if line.isdigit()]
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) > 10, "the child made too few puts to test anything"

    with Engine(store_url, home=home, environ={}, clock=FakeClock(time.time())) as engine:
        if engine.store.dialect == "sqlite":
            with engine.store.read() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        ps = engine.parameters
        for i in acknowledged:
            got = ps.get_parameter(f"/crash/p{i}", with_decryption=True)
            assert got.value == f"value-{i}"
        if acknowledged[-1] > 1:
            assert int(ps.get_parameter("/crash/counter").value) >= acknowledged[-1]
        with engine.store.read() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM parameters")).scalar()
        assert stored is not None and stored >= len(acknowledged)
        # And the store still takes writes.
        ps.put_parameter("/crash/after", "ok", type="String")

"""Bounded output: ``ssm-local run`` of a step printing 500 MB keeps its memory flat, keeps the
store small, shows AWS's 24,000/8,000/2,500-character views and spools the output to a capped
file that ends with the truncation marker; ``yes`` until the execution timeout ends TimedOut."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ssm_local.engine import Engine
from ssm_local.engine.command.spool import SPOOL_TRUNCATED, OutputSpool
from tests.peak import run_measured

MB = 1024 * 1024
PEAK_RSS_CAP = 150 * MB
SPOOL_LIMIT = 4 * MB


def _run(home: Path, *args: str, limit: int = SPOOL_LIMIT) -> tuple[int, int, str]:
    """Run ``ssm-local`` in a child process; returns (exit code, peak RSS in bytes, stderr)."""
    env = {**os.environ, "SSM_LOCAL_HOME": str(home), "SSM_LOCAL_OUTPUT_LIMIT": str(limit)}
    env.pop("SSM_LOCAL_DB", None)
    return run_measured(list(args), env)


def _store_size(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("store.db*"))


def test_500_mb_of_output_keeps_memory_flat_and_the_store_small(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = _run(home, "run", "AWS-RunShellScript", "-p", "commands=echo warm-up")
    assert code == 0, err
    before = _store_size(home)
    script = ("head -c 500000000 /dev/zero | tr '\\0' o; "
              "head -c 20000 /dev/zero | tr '\\0' e >&2")
    code, peak, err = _run(home, "run", "AWS-RunShellScript", "-p", f"commands={script}")
    assert code == 0, err
    assert peak < PEAK_RSS_CAP, f"peak RSS {peak / MB:.0f} MB"
    assert _store_size(home) - before < 2 * MB
    with Engine(home=home, environ={}) as engine:
        (command,) = [c for c in engine.commands.list_commands()["Commands"]
                      if "500000000" in json.dumps(c["Parameters"])]
        node = engine.nodes.ensure_self().node_id
        invocation = engine.commands.get_command_invocation(command["CommandId"], node)
        assert invocation["StandardOutputContent"] == "o" * 24_000
        assert invocation["StandardErrorContent"] == "e" * 8_000
        listed = engine.commands.list_command_invocations(
            command_id=command["CommandId"], details=True)["CommandInvocations"]
        output = listed[0]["CommandPlugins"][0]["Output"]
        assert len(output) <= 2_500 and output.endswith("\n---Error truncated----")
        assert "\n---Output truncated---\n----------ERROR-------\n" in output
        spool = OutputSpool(home / "output")
        stdout = spool.path(command["CommandId"], node, "runShellScript", "stdout")
        assert stdout.stat().st_size == SPOOL_LIMIT + len(SPOOL_TRUNCATED)
        assert stdout.stat().st_mode & 0o777 == 0o600
        with open(stdout, "rb") as f:
            f.seek(SPOOL_LIMIT - 3)
            assert f.read() == b"ooo" + SPOOL_TRUNCATED
        stderr = spool.path(command["CommandId"], node, "runShellScript", "stderr")
        assert stderr.read_bytes() == b"e" * 20_000  # under the cap: whole, no marker
        out, errors = engine.commands.get_command_output(command["CommandId"], node)
        assert len(out) == SPOOL_LIMIT + len(SPOOL_TRUNCATED) and errors == "e" * 20_000


def test_yes_until_the_execution_timeout_ends_timed_out_with_flat_memory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, peak, err = _run(home, "run", "AWS-RunShellScript", "-p", "commands=yes",
                           "-p", "executionTimeout=5")
    assert code == 1, err
    assert "Traceback" not in err and "OverflowError" not in err
    assert peak < PEAK_RSS_CAP, f"peak RSS {peak / MB:.0f} MB"
    with Engine(home=home, environ={}) as engine:
        (command,) = engine.commands.list_commands()["Commands"]
        assert command["Status"] == "TimedOut"
        node = engine.nodes.ensure_self().node_id
        invocation = engine.commands.get_command_invocation(command["CommandId"], node)
        assert invocation["Status"] == "TimedOut"
        assert invocation["StandardOutputContent"] == "y\n" * 12_000

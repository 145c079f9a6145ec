"""The ``ssm-local`` process as a shell sees it: ``--version``, and a reader that goes away early
(``ssm-local ... | head``) ends the command quietly with 141, as a shell reports SIGPIPE."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

COMMAND = [sys.executable, "-m", "ssm_local.engine.cli"]


def test_version() -> None:
    done = subprocess.run([*COMMAND, "--version"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0
    assert done.stdout == f"ssm-local {metadata.version('ssm-local')}\n"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    documents = tmp_path / "docs"
    documents.mkdir()
    for index in range(300):  # enough text to overflow the pipe's buffer
        (documents / f"doc{index:03d}.yaml").write_text(
            'schemaVersion: "2.2"\ndescription: d\nmainSteps:\n  - action: aws:runShellScript\n'
            f"    name: s{index}\n    inputs: {{runCommand: [echo {index}]}}\n", encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    env = {**os.environ, "SSM_LOCAL_HOME": str(tmp_path / "home")}
    done = subprocess.run([*COMMAND, "validate", str(documents), "--output", "json"],
                          stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120,
                          check=False)
    os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""


def test_a_run_whose_reader_goes_away_runs_to_its_end_and_exits_141(tmp_path: Path) -> None:
    """``ssm-local run ... | head -1``: the streaming stops, the script is not killed, the
    command ends Success in the store, and the CLI exits 141 without a traceback."""
    mark = tmp_path / "after"
    env = {**os.environ, "SSM_LOCAL_HOME": str(tmp_path / "home")}
    env.pop("SSM_LOCAL_DB", None)
    proc = subprocess.Popen(
        [*COMMAND, "run", "AWS-RunShellScript", "-p",
         f"commands=seq 1 200000; sleep 1; touch {mark}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"1\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert mark.exists()
    status = subprocess.run([*COMMAND, "commands", "list", "--query", "Commands[0].Status",
                             "--output", "text"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert status.stdout.strip() == "Success"

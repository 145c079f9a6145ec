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

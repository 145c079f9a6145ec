"""How a script is launched: the SSM Agent's ``sh -c <file>`` on an executable ``_script.sh``.

The same cases run on the local executor and over a real sshd: the ``#!`` line picks the
interpreter (bash arrays under ``#!/bin/bash``, Python under ``#!/usr/bin/env python3``), a script
without one runs under ``sh``, and a ``#!`` naming a missing interpreter fails with the shell's
own message and exit code. The process-group kill, streaming and cleanup guarantees are checked
again for a ``#!`` script, and a ``noexec`` temporary directory (a tmpfs mounted for the test,
root only) still runs every script.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssm_local.engine.executors import InvocationRequest, LocalExecutor, ProcessOutcome, SshExecutor
from ssm_local.engine.executors.local import _is_noexec

from .conftest import SshdInfo
from .test_contract import Backend, left_behind, run_one, sleeper_script, unique_marker

DASH = os.path.basename(os.path.realpath("/bin/sh")) == "dash"
BASH_ARRAYS = "#!/bin/bash\nnames=(alpha beta gamma)\necho \"${names[1]} ${#names[@]}\""


@pytest.fixture(params=["local", "ssh"])
def node(request: pytest.FixtureRequest) -> Backend:
    if request.param == "local":
        return Backend("local", LocalExecutor, None)
    info: SshdInfo = request.getfixturevalue("sshd")
    options = info.executor_options()
    return Backend("ssh", lambda: SshExecutor(**options), None)


def agent_launch(script: str, **options: object) -> InvocationRequest:
    return InvocationRequest(script=script, executable=True, **options)  # type: ignore[arg-type]


def test_a_bash_shebang_runs_bash_arrays(node: Backend) -> None:
    result = run_one(node, agent_launch(BASH_ARRAYS))
    assert (result.outcome, result.exit_code, result.stderr) == (ProcessOutcome.EXITED, 0, b"")
    assert result.stdout == b"beta 3\n"


@pytest.mark.skipif(shutil.which("python3") is None, reason="needs python3 on the PATH")
def test_an_env_shebang_runs_python(node: Backend) -> None:
    script = "#!/usr/bin/env python3\nimport sys\nprint('py', sys.version_info[0])\nsys.exit(4)"
    result = run_one(node, agent_launch(script))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 4)
    assert result.stdout == b"py 3\n"


def test_a_script_without_shebang_runs_under_sh(node: Backend) -> None:
    result = run_one(node, agent_launch("cat /proc/$$/comm; echo \"$0\"; exit 7"))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 7)
    comm, zero = result.stdout_text.splitlines()
    assert comm == "sh"
    assert zero.endswith("/_script.sh")


@pytest.mark.skipif(not DASH, reason="the message is dash's; /bin/sh is not dash here")
def test_bash_arrays_without_a_shebang_fail_under_dash(node: Backend) -> None:
    result = run_one(node, agent_launch("names=(alpha beta)\necho ${names[1]}"))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 2)
    assert re.fullmatch(r".*/_script\.sh: 1: Syntax error: \"\(\" unexpected\n", result.stderr_text)


def test_a_missing_shebang_interpreter_fails_with_the_shells_message(node: Backend) -> None:
    result = run_one(node, agent_launch("#!/usr/bin/ssm-local-no-such-interpreter\necho never"))
    assert (result.outcome, result.exit_code, result.error) == (ProcessOutcome.EXITED, 127, None)
    assert result.stdout == b""
    if DASH:  # dash with the agent's empty $0: ": 1: <file>: not found"
        assert re.fullmatch(r": 1: /\S+/ssm-local-[^/]+/_script\.sh: not found\n", result.stderr_text)
    else:
        assert "_script.sh" in result.stderr_text


def test_a_shebang_naming_a_directory_fails_with_126(node: Backend) -> None:
    result = run_one(node, agent_launch("#!/etc\necho never"))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 126)
    assert "Permission denied" in result.stderr_text


def test_the_script_file_has_mode_0700(node: Backend) -> None:
    result = run_one(node, agent_launch("#!/bin/sh\nstat -c %a \"$0\""))
    assert result.ok, result
    assert result.stdout == b"700\n"


def test_a_shebang_script_streams_and_its_directory_is_removed(node: Backend) -> None:
    chunks: list[tuple[str, bytes]] = []
    result = run_one(
        node,
        agent_launch("#!/bin/bash\necho out; echo err >&2; pwd"),
        on_output=lambda stream, chunk: chunks.append((stream, chunk)),
    )
    assert result.ok, result
    out, directory = result.stdout_text.splitlines()
    assert out == "out" and result.stderr == b"err\n"
    assert b"".join(c for s, c in chunks if s == "stderr") == b"err\n"
    assert os.path.basename(directory).startswith("ssm-local-")
    assert not os.path.exists(directory)


def test_a_timeout_kills_a_bash_scripts_whole_group(node: Backend) -> None:
    marker = unique_marker()
    result = run_one(node, agent_launch("#!/bin/bash\n" + sleeper_script(marker), timeout_seconds=1))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.TIMED_OUT, 137)
    assert result.stdout == b"started\n"
    assert left_behind(marker) == []


def test_without_executable_the_script_is_read_by_the_interpreter(node: Backend) -> None:
    result = run_one(node, InvocationRequest(script="#!/usr/bin/ssm-local-no-such\necho read by sh"))
    assert result.ok, result
    assert result.stdout == b"read by sh\n"


# --- a temporary directory mounted noexec --------------------------------------------------


@pytest.fixture
def noexec_dir(tmp_path: Path) -> Iterator[str]:
    mount_point = tmp_path / "noexec"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a noexec tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "noexec,size=4m,mode=1777", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"could not mount a noexec tmpfs: {mounted.stderr.decode(errors='replace')}")
    try:
        yield str(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture(params=["local", "ssh"])
def noexec_node(request: pytest.FixtureRequest, noexec_dir: str) -> Backend:
    if request.param == "local":
        return Backend("local", lambda: LocalExecutor(temp_dir=noexec_dir), None)
    info: SshdInfo = request.getfixturevalue("sshd")
    options = info.executor_options()
    return Backend("ssh", lambda: SshExecutor(temp_dir=noexec_dir, **options), None)


def test_noexec_is_detected(noexec_dir: str, tmp_path: Path) -> None:
    assert _is_noexec(noexec_dir)
    assert not _is_noexec(str(tmp_path))


def test_in_a_noexec_directory_the_shebang_interpreter_still_runs(noexec_node: Backend) -> None:
    result = run_one(noexec_node, agent_launch(BASH_ARRAYS))
    assert result.ok, result
    assert (result.stdout, result.stderr) == (b"beta 3\n", b"")
    plain = run_one(noexec_node, agent_launch("cat /proc/$$/comm"))
    assert plain.stdout == b"sh\n"


def test_in_a_noexec_directory_a_missing_interpreter_still_fails_with_127(noexec_node: Backend) -> None:
    result = run_one(noexec_node, agent_launch("#!/usr/bin/ssm-local-no-such-interpreter\necho never"))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 127)
    assert "/usr/bin/ssm-local-no-such-interpreter: not found" in result.stderr_text or not DASH

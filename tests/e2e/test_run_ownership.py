"""Runs that end cleanly, with real processes and real signals: SIGTERM during a Command run (one
node, 50 nodes) or an Automation run leaves no process of the run alive and nothing InProgress;
after a SIGKILL of the owner, ``commands cancel``/``show`` and ``executions stop`` finish the
records; ``resume`` refuses an execution whose owner lives; two resumes at once run each step
once. Leases are short here (``SSM_LOCAL_LEASE_SECONDS``)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine.facade import Engine

COMMAND = [sys.executable, "-m", "ssm_local.engine.cli"]

SLEEPY_RUNBOOK = """
schemaVersion: "0.3"
mainSteps:
  - name: nap
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: "import subprocess\\ndef handler(events, context):\\n    subprocess.run(['sleep', '%s'])\\n"
"""

COUNTING_RUNBOOK = """
schemaVersion: "0.3"
mainSteps:
%s
"""


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SSM_LOCAL_HOME": str(home), "SSM_LOCAL_LEASE_SECONDS": "3"}


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*COMMAND, *args], env=_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=_env(home), capture_output=True, text=True,
                          timeout=120, check=False)


def _marker() -> str:
    """A ``sleep`` argument no other process on the machine uses: ``29.<digits>``."""
    return f"29.{random.randrange(10**8, 10**9)}"


def _with_marker(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Markers whose processes the test leaves behind on purpose (after a SIGKILL)."""
    markers: list[str] = []
    yield markers
    for marker in markers:
        for pid in _with_marker(marker):
            os.kill(pid, signal.SIGKILL)


def _engine(home: Path) -> Engine:
    return Engine(home=home, environ={}, cache_ttl=0)


@pytest.mark.parametrize("nodes", [1, 50])
def test_sigterm_cancels_a_command_run(home: Path, nodes: int) -> None:
    marker = _marker()
    with _engine(home) as engine:
        ids = [engine.nodes.add_local(f"n{i}").node_id for i in range(nodes)]
    run = _start(home, "run", "AWS-RunShellScript", "-p", f"commands=sleep {marker}",
                 "--instance-ids", ",".join(ids), "--max-concurrency", "50")
    _until(lambda: len(_with_marker(marker)) == nodes, f"{nodes} scripts to start")
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert "interrupted; cancelling the command" in err
    assert _with_marker(marker) == []
    with _engine(home) as engine:
        [command] = engine.commands.list_commands()["Commands"]
        assert command["Status"] == "Cancelled"
        invocations = engine.commands.list_command_invocations(
            command_id=command["CommandId"])["CommandInvocations"]
    assert {i["Status"] for i in invocations} == {"Cancelled"}
    assert len(invocations) == nodes


def test_sigterm_stops_an_automation_run_and_a_live_one_is_not_resumed(
        home: Path, tmp_path: Path) -> None:
    marker = _marker()
    runbook = tmp_path / "nap.yaml"
    runbook.write_text(SLEEPY_RUNBOOK % marker, encoding="utf-8")
    run = _start(home, "run", str(runbook))
    assert run.stderr is not None
    execution_id = run.stderr.readline().split()[1]
    _until(lambda: _with_marker(marker), "the script's subprocess to start")

    refused = _cli(home, "executions", "resume", execution_id)
    assert refused.returncode == 1
    assert (f"Automation execution {execution_id} is being run by pid {run.pid} on host "
            in refused.stderr)
    shown = _cli(home, "executions", "show", execution_id)
    assert f"run by pid {run.pid} on host" in shown.stdout

    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert _with_marker(marker) == []
    with _engine(home) as engine:
        execution = engine.automations.get(execution_id)
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert [s["StepStatus"] for s in execution["StepExecutions"]] == ["Cancelled"]


@pytest.mark.parametrize("finish", ["cancel", "show"])
def test_a_command_whose_owner_was_killed_is_finished(home: Path, finish: str,
                                                      cleanup: list[str]) -> None:
    marker = _marker()
    cleanup.append(marker)
    run = _start(home, "run", "AWS-RunShellScript", "-p", f"commands=sleep {marker}")
    _until(lambda: _with_marker(marker), "the script to start")
    with _engine(home) as engine:
        [command] = engine.commands.list_commands()["Commands"]
        command_id = command["CommandId"]
        _until(lambda: engine.commands.list_command_invocations(command_id=command_id)[
            "CommandInvocations"][0]["Status"] == "InProgress", "the invocation to be stored")
    run.kill()
    run.communicate(timeout=60)
    done = _cli(home, "commands", finish, command_id)
    assert done.returncode == 0, done.stderr
    with _engine(home) as engine:
        command = engine.commands.get_command(command_id)
        [invocation] = engine.commands.list_command_invocations(
            command_id=command_id)["CommandInvocations"]
    if finish == "cancel":
        assert done.stdout == f"Command {command_id}: Cancelled\n"
        assert (command["Status"], invocation["Status"]) == ("Cancelled", "Cancelled")
    else:
        assert (command["Status"], command["StatusDetails"]) == ("TimedOut",
                                                                 "Execution Timed Out")
        assert (invocation["Status"], invocation["StatusDetails"]) == ("TimedOut",
                                                                       "Execution Timed Out")


def test_an_execution_whose_owner_was_killed_is_stopped_at_once(home: Path,
                                                                tmp_path: Path) -> None:
    runbook = tmp_path / "wait.yaml"
    runbook.write_text('schemaVersion: "0.3"\nmainSteps:\n  - name: wait\n    action: aws:sleep\n'
                       '    inputs: {Duration: PT60S}\n', encoding="utf-8")
    run = _start(home, "run", str(runbook))
    assert run.stderr is not None
    execution_id = run.stderr.readline().split()[1]
    with _engine(home) as engine:
        _until(lambda: engine.automations.get(execution_id)["StepExecutions"],
               "the step to start")
    run.kill()
    run.communicate(timeout=60)
    shown = _cli(home, "executions", "show", execution_id)
    assert f"no live runner (pid {run.pid} on host" in shown.stdout
    stopped = _cli(home, "executions", "stop", execution_id)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"Execution {execution_id}: Cancelled (no live runner; stopped here)\n"
    with _engine(home) as engine:
        execution = engine.automations.get(execution_id)
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert [s["StepStatus"] for s in execution["StepExecutions"]] == ["Cancelled"]


def test_two_resumes_at_once_run_each_step_once(home: Path, tmp_path: Path) -> None:
    trail = tmp_path / "trail.txt"
    def script(step: str) -> str:
        code = (f"import time\ndef handler(events, context):\n"
                f"    open({str(trail)!r}, 'a').write('{step}\\n')\n    time.sleep(0.3)\n")
        return json.dumps(code)

    steps = "\n".join(
        f"  - name: s{i}\n    action: aws:executeScript\n    inputs:\n"
        f"      Runtime: python3.11\n      Handler: handler\n      Script: {script(f's{i}')}"
        for i in range(3))
    runbook = tmp_path / "count.yaml"
    runbook.write_text(COUNTING_RUNBOOK % steps, encoding="utf-8")
    started = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom ssm_local.engine.facade import Engine\n"
         "from ssm_local import documents\n"
         f"with Engine(home={str(home)!r}, cache_ttl=0) as engine:\n"
         f"    doc = documents.load(open({str(runbook)!r}).read(), source='count.yaml')\n"
         "    print(engine.automations.start(doc).execution_id)\n"],
        env=_env(home), capture_output=True, text=True, timeout=120, check=True)
    execution_id = started.stdout.strip()
    resumes = [_start(home, "executions", "resume", execution_id) for _ in range(2)]
    results = [(r.wait(timeout=120), r.communicate()) for r in resumes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    [(_, (_, refusal))] = [r for r in results if r[0] == 1]
    assert f"Automation execution {execution_id} " in refusal
    assert trail.read_text() == "s0\ns1\ns2\n"
    with _engine(home) as engine:
        assert engine.automations.get(execution_id)["AutomationExecutionStatus"] == "Success"

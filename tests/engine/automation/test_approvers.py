"""Who may approve: identities matched against an aws:approve step's Approvers, refusals at
SendAutomationSignal (InvalidAutomationSignalException), and one identity counting once toward
MinRequiredApprovals, in the service and through the real ``ssm-local`` processes."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine.automation.approvers import approvers_of, default_identity, is_approver
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.grammar.errors import ApiError

ACCOUNT = "123456789012"
APPROVERS = ["alice", f"arn:aws:iam::{ACCOUNT}:user/ops/carol", f"arn:aws:iam::{ACCOUNT}:role/Admin",
             f"arn:aws:iam::{ACCOUNT}:group/Leads"]


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ("alice", True),  # the entry itself
        (f"arn:aws:iam::{ACCOUNT}:user/alice", True),  # a user ARN named like a plain entry
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/alice/s1", True),  # a role session, likewise
        ("carol", True),  # a local name: the user ARN's last path segment
        (f"arn:aws:iam::{ACCOUNT}:user/ops/carol", True),
        (f"arn:aws:iam::{ACCOUNT}:user/carol", True),  # the path is not part of the name
        ("arn:aws:iam::999999999999:user/ops/carol", False),  # another account
        (f"arn:aws:iam::{ACCOUNT}:role/carol", False),  # a role is not the user
        ("Admin", True),  # a local name: the role ARN's name
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/session-1", True),  # a session of the role
        ("admin", False),  # exact, case-sensitive
        ("Leads", False),  # groups match only themselves
        (f"arn:aws:iam::{ACCOUNT}:group/Leads", True),
        ("mallory", False),
        ("", False),
        ("alice ", False),
    ],
)
def test_identity_matches_approvers(identity: str, expected: bool) -> None:
    assert is_approver(identity, APPROVERS) is expected


def test_approvers_read_from_the_step_inputs() -> None:
    assert approvers_of({"Approvers": ["a", "b"]}) == ["a", "b"]
    assert approvers_of({"Approvers": "a"}) == ["a"]
    assert approvers_of({"EnhancedApprovals": {"Approvers": [
        {"approver": "a", "type": "IamUser", "minRequiredApprovals": 1}]}}) == ["a"]
    assert approvers_of({}) is None and is_approver("anyone", None)
    assert approvers_of({"Approvers": []}) == [] and not is_approver("anyone", [])


def test_default_identity() -> None:
    assert default_identity({"SSM_LOCAL_IDENTITY": "ops-bot"}) == "ops-bot"
    assert default_identity({"USER": "spoofed"}) == pwd.getpwuid(os.getuid()).pw_name


RUNBOOK = """
schemaVersion: "0.3"
mainSteps:
  - name: ask
    action: aws:approve
    inputs:
      Approvers: ["alice", "arn:aws:iam::123456789012:role/Admin"]
      MinRequiredApprovals: 2
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
"""


def _decisions(execution: dict[str, Any]) -> list[str]:
    outputs = execution["StepExecutions"][0]["Outputs"]
    return [json.loads(d)["Approver"] for d in outputs.get("ask.ApproverDecisions", [])]


def test_signals_sent_early_are_checked_when_taken(tmp_path: Path) -> None:
    """Signals stored before the step waits: a non-approver's is ignored when taken, a repeat by
    the same identity does not count toward MinRequiredApprovals 2."""
    from ssm_local.engine.store.database import Store

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    service = AutomationService(store, clock=FakeClock(), identity="mallory")
    handle = service.start(documents.load(RUNBOOK, source="r.yaml"), {}, document_name="R")
    handle.signal("Approve", {"Comment": ["me"]})  # the service's own identity: mallory
    handle.signal("Approve", {}, identity="alice")
    handle.signal("Approve", {"Comment": ["again"]}, identity="alice")
    handle.signal("Approve", {"Approver": ["alice"]}, identity="arn:aws:sts::123456789012:"
                  "assumed-role/Admin/s1")  # the payload does not name the approver
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Success"
    assert _decisions(execution) == ["alice", "arn:aws:sts::123456789012:assumed-role/Admin/s1"]

    again = service.start(documents.load(RUNBOOK, source="r.yaml"), {}, document_name="R")
    again.signal("Approve", {}, identity="alice")
    again.signal("Approve", {}, identity="alice")
    execution = asyncio.run(again.run())
    assert execution["AutomationExecutionStatus"] == "TimedOut"  # one approver, counted once
    store.close()


def test_a_non_approver_is_refused_while_the_step_waits(tmp_path: Path) -> None:
    from ssm_local.engine.clock import hold
    from ssm_local.engine.store.database import Store

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    clock = FakeClock()
    service = AutomationService(store, clock=clock, identity="mallory")
    only_approve = RUNBOOK.split("  - {name: after")[0]  # virtual time stands still: no sleep
    handle = service.start(documents.load(only_approve, source="r.yaml"), {}, document_name="R")

    async def scenario() -> dict[str, Any]:
        with hold(clock):
            task = asyncio.ensure_future(handle.run())
            while handle.status() != "Waiting":
                await asyncio.sleep(0.01)
            for identity in (None, "Alice", "arn:aws:iam::123456789012:group/Admin"):
                with pytest.raises(ApiError) as refused:
                    handle.signal("Reject", {}, identity=identity)
                assert refused.value.code == "InvalidAutomationSignalException"
                assert "is not an approver of step ask" in str(refused.value)
            with pytest.raises(ApiError, match="identity is empty"):
                handle.signal("Approve", {}, identity=" ")
            handle.signal("Approve", {}, identity="alice")
            handle.signal("Approve", {}, identity="Admin")
            return await asyncio.wait_for(task, 30)

    execution = asyncio.run(scenario())
    assert execution["AutomationExecutionStatus"] == "Success"
    assert _decisions(execution) == ["alice", "Admin"]
    store.close()


def test_approvals_through_the_cli(tmp_path: Path) -> None:
    """``ssm-local run`` waits; ``executions signal`` from other processes: a non-approver exits
    1 with AWS's error, ``SSM_LOCAL_IDENTITY`` and ``--as`` name the sender, the OS user is the
    default, and a repeated approval does not count."""
    me = pwd.getpwuid(os.getuid()).pw_name
    runbook = tmp_path / "approve.yaml"
    runbook.write_text(RUNBOOK.replace(
        '["alice", "arn:aws:iam::123456789012:role/Admin"]',
        f'["alice", "arn:aws:iam::123456789012:user/ops/{me}", '
        '"arn:aws:iam::123456789012:role/Admin"]').replace("MinRequiredApprovals: 2",
                                                           "MinRequiredApprovals: 3"))
    env = {**os.environ, "SSM_LOCAL_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    for name in ("SSM_LOCAL_DB", "SSM_LOCAL_IDENTITY"):
        env.pop(name, None)
    command = [sys.executable, "-m", "ssm_local.engine.cli"]
    runner = subprocess.Popen([*command, "run", str(runbook)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert runner.stderr is not None
        execution_id = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = runner.stderr.readline()
            if line.startswith("Execution "):
                execution_id = line.split()[1]
            if "Waiting" in line:
                assert line.rstrip().endswith("--type Approve --as APPROVER'"), line
                break
        assert execution_id is not None

        def signal(*flags: str, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*command, "executions", "signal", execution_id, "--type",
                                   "Approve", *flags], env={**env, **extra}, capture_output=True,
                                  text=True, timeout=60, check=False)

        refused = signal("--as", "mallory")
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert "InvalidAutomationSignalException" in refused.stderr
        assert "mallory is not an approver of step ask" in refused.stderr
        assert signal(SSM_LOCAL_IDENTITY="alice").returncode == 0
        assert signal("--as", "alice").returncode == 0  # accepted, and counts once
        assert signal().returncode == 0  # the OS user, an Approver by its user ARN
        assert signal("--as", "arn:aws:sts::123456789012:assumed-role/Admin/s").returncode == 0
        _, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err
        shown = subprocess.run([*command, "executions", "show", execution_id, "--output", "json"],
                               env=env, capture_output=True, text=True, timeout=60, check=True)
        execution = json.loads(shown.stdout)["AutomationExecution"]
        assert _decisions(execution) == ["alice", me,
                                         "arn:aws:sts::123456789012:assumed-role/Admin/s"]
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()

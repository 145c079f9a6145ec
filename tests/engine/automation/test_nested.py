"""Nested and rate-controlled executions (aws:executeAutomation) and aws:runCommand in a runbook."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine.services.automations import AutomationService
from tests.engine.automation.services import service_with

CHILD = """
schemaVersion: "0.3"
parameters:
  Item: {type: String}
outputs: [work.Result]
mainSteps:
  - name: check
    action: aws:branch
    inputs:
      Choices: [{NextStep: broken, Variable: "{{ Item }}", StringEquals: bad}]
      Default: work
  - name: work
    action: aws:executeScript
    isEnd: true
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: "def handler(events, context):\\n    return events['item'].upper()"
      InputPayload: {item: "{{ Item }}"}
    outputs: [{Name: Result, Selector: $.Payload, Type: String}]
  - name: broken
    action: aws:pause
    timeoutSeconds: 5
    inputs: {}
"""

PARENT = """
schemaVersion: "0.3"
outputs: [nested.Output, nested.ExecutionId]
mainSteps:
  - name: nested
    action: aws:executeAutomation
    inputs:
      DocumentName: Child
      RuntimeParameters: {Item: ["{{ automation:EXECUTION_ID }}"]}
"""


@pytest.fixture
def service(tmp_path: Path) -> AutomationService:
    return service_with(tmp_path, {"Child": CHILD})


def test_nested_execution_returns_the_child_outputs(service: AutomationService) -> None:
    handle = service.start(documents.load(PARENT, source="p.yaml"), {}, document_name="Parent")
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Success"
    [child_id] = execution["Outputs"]["nested.ExecutionId"]
    child = service.get(child_id)
    assert child["ParentAutomationExecutionId"] == handle.execution_id
    assert execution["Outputs"]["nested.Output"] == [handle.execution_id.upper()]


@pytest.mark.parametrize(("values", "max_errors", "status", "children"), [
    (["a", "b", "c", "d"], None, "Success", 4),
    (["a", "bad", "c", "d"], "0", "Failed", None),
    (["a", "bad", "c", "d"], "1", "Failed", 4),
])
def test_rate_controlled_children(service: AutomationService, values: list[str],
                                  max_errors: str | None, status: str,
                                  children: int | None) -> None:
    handle = service.start_with_targets(
        "Child", {}, target_parameter_name="Item",
        targets=[{"Key": "ParameterValues", "Values": values}], max_concurrency="1",
        max_errors=max_errors)
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == status
    started = [e for e in service.list() if e.get("ParentAutomationExecutionId")]
    if children is not None:
        assert len(started) == children
    else:  # MaxErrors 0 with MaxConcurrency 1: sending stops after the first failure
        assert len(started) == 2


def test_bad_targets_are_refused_up_front(service: AutomationService) -> None:
    from ssm_local.grammar.errors import ApiError

    with pytest.raises(ApiError) as caught:
        service.start_with_targets("Child", {}, target_parameter_name="Nope",
                                   targets=[{"Key": "ParameterValues", "Values": ["a"]}])
    assert caught.value.code == "InvalidAutomationExecutionParametersException"


def test_run_command_step_runs_on_the_local_node(tmp_path: Path) -> None:
    from ssm_local.engine.facade import Engine

    with Engine(f"sqlite:///{tmp_path / 'e.db'}", home=tmp_path) as engine:
        runbook = documents.load("""
schemaVersion: "0.3"
outputs: [shell.Status, shell.Output]
mainSteps:
  - name: shell
    action: aws:runCommand
    inputs:
      DocumentName: AWS-RunShellScript
      Parameters: {commands: ["echo from-run-command"]}
""", source="rc.yaml")
        handle = engine.start_automation(runbook, document_name="RunCommandRunbook")
        execution: dict[str, Any] = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Success", execution
    assert execution["Outputs"]["shell.Status"] == ["Success"]
    assert execution["Outputs"]["shell.Output"] == ["from-run-command\n"]

"""Supplied parameter values in Automation are checked as written, ``{{`` and all, at the start of
an execution and for a child runbook (aws:executeAutomation); a ``{{`` in a value is data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.grammar.errors import ApiError
from tests.engine.automation.services import service_with

CONSTRAINTS = {
    "allowedPattern": ({"allowedPattern": "^[a-z]*$"}, "does not match the allowed pattern"),
    "allowedValues": ({"allowedValues": ["hello", "world"]}, "is not one of the allowed values"),
    "maxChars": ({"maxChars": 8}, "characters; at most 8 are allowed"),
}
VALUE = "{{x}}; rm -rf ~"


def echo_runbook(constraint: dict[str, Any]) -> str:
    return json.dumps({
        "schemaVersion": "0.3",
        "parameters": {"Item": {"type": "String", **constraint},
                       "Other": {"type": "String", "default": "expanded"}},
        "outputs": ["echo.Result"],
        "mainSteps": [{"name": "echo", "action": "aws:executeScript", "isEnd": True,
                       "inputs": {"Runtime": "python3.11", "Handler": "handler",
                                  "Script": "def handler(events, context):\n    return events['item']",
                                  "InputPayload": {"item": "{{ Item }}"}},
                       "outputs": [{"Name": "Result", "Selector": "$.Payload", "Type": "String"}]}],
    })


PARENT = json.dumps({
    "schemaVersion": "0.3",
    "parameters": {"Outer": {"type": "String"}},
    "mainSteps": [{"name": "nested", "action": "aws:executeAutomation",
                   "inputs": {"DocumentName": "Child", "RuntimeParameters": {"Item": "{{ Outer }}"}}}],
})


@pytest.mark.parametrize("kind", sorted(CONSTRAINTS))
def test_a_template_value_is_checked_at_the_start(tmp_path: Path, kind: str) -> None:
    constraint, message = CONSTRAINTS[kind]
    service = service_with(tmp_path, {"Child": echo_runbook(constraint)})
    with pytest.raises(ApiError, match=f"parameter 'Item' value .*{message}") as info:
        service.start("Child", {"Item": VALUE})
    assert info.value.code == "InvalidAutomationExecutionParametersException"
    assert service.list() == []


@pytest.mark.parametrize("kind", sorted(CONSTRAINTS))
def test_a_template_value_passed_to_a_child_runbook_is_checked(tmp_path: Path, kind: str) -> None:
    constraint, message = CONSTRAINTS[kind]
    service = service_with(tmp_path, {"Child": echo_runbook(constraint)})
    handle = service.start(documents.load(PARENT, source="parent.json"), {"Outer": VALUE},
                           document_name="Parent")
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert message in execution["FailureMessage"]
    assert [e for e in service.list() if e.get("ParentAutomationExecutionId")] == []


def test_a_template_in_a_supplied_value_reaches_the_script_as_written(tmp_path: Path) -> None:
    service = service_with(tmp_path, {"Child": echo_runbook({})})
    value = "{{x}} {{ Other }} {{ automation:EXECUTION_ID }} $$"
    direct = asyncio.run(service.start("Child", {"Item": value}).run())
    assert direct["Outputs"]["echo.Result"] == [value]
    nested = asyncio.run(service.start(documents.load(PARENT, source="parent.json"),
                                       {"Outer": value}, document_name="Parent").run())
    assert nested["AutomationExecutionStatus"] == "Success"
    [child] = [e for e in service.list() if e.get("ParentAutomationExecutionId")]
    assert service.get(child["AutomationExecutionId"])["Outputs"]["echo.Result"] == [value]


def test_rate_controlled_values_are_data(tmp_path: Path) -> None:
    """A rate-controlled start's runtime parameters and target values reach each child as
    written, never expanded as the parent's own template text."""
    service = service_with(tmp_path, {"Child": echo_runbook({"allowedPattern": "^[^;]*$"})})
    value = "{{ automation:EXECUTION_ID }} {{ global:REGION }} $$"
    handle = service.start_with_targets("Child", {"Other": value}, target_parameter_name="Item",
                                        targets=[{"Key": "ParameterValues", "Values": [value]}])
    assert asyncio.run(handle.run())["AutomationExecutionStatus"] == "Success"
    [child] = [service.get(e["AutomationExecutionId"]) for e in service.list()
               if e.get("ParentAutomationExecutionId")]
    assert child["Parameters"] == {"Item": [value], "Other": [value]}
    assert child["Outputs"]["echo.Result"] == [value]
    refused = service.start_with_targets("Child", {}, target_parameter_name="Item",
                                         targets=[{"Key": "ParameterValues", "Values": [VALUE]}])
    failed = asyncio.run(refused.run())
    assert failed["AutomationExecutionStatus"] == "Failed"
    assert "does not match the allowed pattern" in failed["FailureMessage"]

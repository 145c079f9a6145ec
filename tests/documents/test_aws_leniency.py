"""What AWS accepts, ssm-local accepts (issue 9): anything an AWS-owned document does is at most
a warning; an error is what CreateDocument refuses or what certainly fails at run time. Each
input here is written for the issue, one per kind."""

from __future__ import annotations

import json
from typing import Any

from ssm_local import documents
from ssm_local.documents.loader import MAX_DOCUMENT_BYTES
from ssm_local.documents.parameters import check
from ssm_local.documents.patterns import compile_pattern, java_surrogates
from ssm_local.documents.schemas import schema_errors


def _diagnostics(data: dict[str, Any]) -> list[tuple[str, str]]:
    _, found = documents.check(json.dumps(data), source="issue9.json")
    return [(d.severity.value, d.code) for d in found]


def _errors(data: dict[str, Any]) -> list[str]:
    _, found = documents.check(json.dumps(data), source="issue9.json")
    return [d.format_text() for d in found if d.is_error]


def _runbook(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"schemaVersion": "0.3", "mainSteps": list(steps), **top}


# -- 1. step inputs AWS documents -------------------------------------------------------------


def test_change_instance_state_takes_fail_on_unexpected_stopped() -> None:
    data = _runbook({"name": "start", "action": "aws:changeInstanceState", "inputs": {
        "InstanceIds": ["i-0abc"], "DesiredState": "running", "CheckStateOnly": True,
        "FailOnUnexpectedStopped": True}})
    assert _diagnostics(data) == []


def test_fail_on_unexpected_stopped_is_typed_as_documented() -> None:
    data = _runbook({"name": "start", "action": "aws:changeInstanceState", "inputs": {
        "InstanceIds": ["i-0abc"], "DesiredState": "running", "FailOnUnexpectedStopped": [1]}})
    assert [i.code for i in schema_errors(data)] == ["SchemaViolation"]


def test_pause_with_message_is_a_warning() -> None:
    data = _runbook({"name": "hold", "action": "aws:pause",
                     "inputs": {"Message": "Check the canary, then resume."}})
    assert _diagnostics(data) == [("warning", "UnknownField")]


def test_unknown_input_of_a_documented_action_is_a_warning_but_a_bad_type_is_an_error() -> None:
    data = _runbook({"name": "wait", "action": "aws:sleep",
                     "inputs": {"Duration": "PT5S", "Reason": "settle"}})
    assert _diagnostics(data) == [("warning", "UnknownField")]
    data["mainSteps"][0]["inputs"] = {"Duration": 5}
    assert [c for s, c in _diagnostics(data) if s == "error"] == ["SchemaViolation"]


# -- 2. TimeoutSeconds as a template in a longer string; plugin steps without inputs ------------


def test_run_command_timeout_seconds_template_inside_a_longer_string() -> None:
    data = _runbook({"name": "run", "action": "aws:runCommand", "inputs": {
        "DocumentName": "AWS-RunShellScript", "InstanceIds": ["{{ InstanceId }}"],
        "TimeoutSeconds": "{{ Minutes }}0", "Parameters": {"commands": ["uptime"]}}},
        parameters={"InstanceId": {"type": "String"}, "Minutes": {"type": "String",
                                                                 "default": "6"}})
    assert _errors(data) == []


def test_command_plugin_step_without_inputs_is_accepted() -> None:
    data = {"schemaVersion": "2.2", "description": "Refresh and inventory.", "mainSteps": [
        {"action": "aws:refreshAssociation", "name": "refresh"},
        {"action": "aws:softwareInventory", "name": "inventory"}]}
    assert _diagnostics(data) == []
    document, _ = documents.check(json.dumps(data))
    assert document is not None and [s.inputs for s in document.steps] == [{}, {}]


def test_plugin_step_without_inputs_still_needs_the_plugins_required_input() -> None:
    data = {"schemaVersion": "2.2", "mainSteps": [{"action": "aws:runShellScript",
                                                    "name": "nothing"}]}
    _, found = documents.check(json.dumps(data))
    assert [(d.code, d.message) for d in found if d.is_error] == [
        ("MissingRequiredField",
         "step 'nothing' (aws:runShellScript): missing required input 'runCommand'")]


def test_automation_step_without_inputs_is_still_an_error() -> None:
    data = _runbook({"name": "wait", "action": "aws:sleep"})
    assert "MissingRequiredField" in [c for s, c in _diagnostics(data) if s == "error"]


# -- 3. step outputs the analysis cannot prove exist -------------------------------------------


def _script(name: str, payload: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"name": name, "action": "aws:executeScript", "inputs": {
        "Runtime": "python3.11", "Handler": "h", "Script": "def h(e, c):\n    return e",
        "InputPayload": payload or {}}, **fields}


def test_output_of_a_later_step_is_a_warning() -> None:
    data = _runbook(_script("first", {"x": "{{ second.Payload }}"}), _script("second"))
    assert _diagnostics(data) == [("warning", "OutputNotAvailable")]


def test_output_payload_and_branch_next_step_are_warnings() -> None:
    data = _runbook(
        {"name": "api", "action": "aws:executeAwsApi",
         "inputs": {"Service": "ec2", "Api": "DescribeInstances"}},
        {"name": "choose", "action": "aws:branch", "inputs": {
            "Choices": [{"NextStep": "use", "Variable": "{{ api.OutputPayload }}",
                         "StringEquals": "x"}], "Default": "use"}},
        _script("use", {"p": "{{ api.OutputPayload }}", "n": "{{ choose.NextStep }}"}))
    assert [c for s, c in _diagnostics(data) if s == "error"] == []


def test_own_output_outside_a_loop_is_still_an_error_and_a_missing_step_too() -> None:
    data = _runbook(_script("self", {"x": "{{ self.Payload }}", "y": "{{ ghost.Payload }}"}))
    assert _diagnostics(data) == [("error", "OutputNotAvailable"),
                                  ("error", "UnknownStepOutput")]


def test_own_output_inside_a_loop_is_a_warning() -> None:
    data = _runbook({"name": "again", "action": "aws:loop", "inputs": {
        "Iterators": ["a", "b"], "Steps": [_script("inner", {"last": "{{ inner.Payload }}"})]}})
    assert [c for s, c in _diagnostics(data) if s == "error"] == []
    assert ("warning", "OutputNotAvailable") in _diagnostics(data)


# -- braces that are not placeholders ---------------------------------------------------------


def test_braces_that_are_not_placeholders_are_at_most_warnings() -> None:
    data = _runbook(
        {"name": "run", "action": "aws:runCommand", "inputs": {
            "DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-0abc"],
            "Parameters": {"commands": ["df | awk '{{print $2}}'", "# {{ not closed"]}}},
        _script("py", {"t": '"{{}}" and "{{\\"a\\": 1}}"'}))
    assert _errors(data) == []


# -- 4. Java allowedPattern with surrogate pairs -----------------------------------------------


def test_java_surrogate_pair_range_is_the_supplementary_code_point_range() -> None:
    java = r"^[\w\s\uD800\uDC00-\uDBFF\uDFFF]*$"
    assert java_surrogates(java) == r"^[\w\s\U00010000-\U0010FFFF]*$"
    compiled = compile_pattern(java)
    assert compiled is not None
    assert compiled.match("rocket \U0001F680")
    assert not compiled.match("section \u00a7")  # a BMP character outside \w and \s
    assert java_surrogates(r"\\uD800\\uDC00") == r"\\uD800\\uDC00"  # escaped backslashes


def test_document_with_java_surrogate_pattern_validates_and_checks_values() -> None:
    data = _runbook(_script("use", {"n": "{{ Name }}"}), parameters={"Name": {
        "type": "String", "allowedPattern": r"^[a-z\uD800\uDC00-\uDBFF\uDFFF]+$",
        "default": "ok\U0001F600"}})
    document, found = documents.check(json.dumps(data))
    assert [d.code for d in found] == []
    assert document is not None
    definition = document.parameters["Name"]
    assert check(definition, "fine\U0001F44D") == []
    assert check(definition, "NOT") != []


# -- 5. the 64 KB limit -----------------------------------------------------------------------


def _big_command() -> str:
    filler = ["echo " + "x" * 90] * (MAX_DOCUMENT_BYTES // 90 + 10)
    return json.dumps({"schemaVersion": "2.2", "mainSteps": [
        {"action": "aws:runShellScript", "name": "big", "inputs": {"runCommand": filler}}]})


def test_a_file_over_64_kb_validates_with_a_warning() -> None:
    _, found = documents.check(_big_command(), source="big.json")
    assert [(d.is_error, d.code) for d in found] == [(False, "MaxDocumentSizeExceeded")]


def test_over_64_kb_is_an_error_when_checked_as_create_document() -> None:
    _, found = documents.check(_big_command(), source="big.json", create=True)
    assert [(d.is_error, d.code) for d in found] == [(True, "MaxDocumentSizeExceeded")]

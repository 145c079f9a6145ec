"""The JSON Schemas: the real corpus passes, known-bad documents fail, and each rule has a case."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ssm_local.documents.loader import load_text
from ssm_local.documents.schemas import (
    KNOWN_SCHEMA_VERSIONS,
    SchemaIssue,
    UnsupportedSchemaVersion,
    action_kind,
    classify,
    iter_steps,
    known_actions,
    schema_errors,
    step_errors,
)
from tests.conftest import CORPUS, corpus_dir, corpus_invalid_dir


def _load(path: Path) -> dict[str, Any]:
    data = load_text(path.read_bytes(), source=str(path)).data
    assert isinstance(data, dict)
    return data


def _index_rows() -> list[dict[str, str]]:
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return []
    with index.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


_ROWS = _index_rows()
_RUNNABLE = [row["file"] for row in _ROWS if row["kind"] in ("Command", "Automation")] or [
    "(corpus absent)"]


def _errors(data: dict[str, Any]) -> list[SchemaIssue]:
    return [issue for issue in schema_errors(data) if issue.severity == "error"]


# --------------------------------------------------------------------------------------------
# The corpus


@pytest.mark.parametrize("name", _RUNNABLE)
def test_corpus_document_has_no_schema_error(name: str) -> None:
    data = _load(corpus_dir() / name)
    assert [issue.message for issue in _errors(data)] == []


def test_corpus_kinds_match_the_index() -> None:
    root = corpus_dir()
    for row in _index_rows():
        assert classify(_load(root / row["file"])) == (row["kind"], row["schemaVersion"]), row


@pytest.mark.parametrize("name", ["aws__amazon-ssm-agent/0.0.14__install.json",
                                  "aws__amazon-ssm-agent/validate.json"])
def test_agent_only_201_documents_are_other(name: str) -> None:
    data = _load(corpus_dir() / name)
    assert classify(data) == ("Other", "2.0.1")
    assert schema_errors(data) == []


def test_corpus_actions_all_have_schemas() -> None:
    used = {action for row in _index_rows() for action in row["actions"].split(",") if action}
    if not used:
        corpus_dir()
    assert {a for a in used if action_kind(a) is None} == set()
    assert len(used) >= 39


def test_unsupported_version_in_invalid_corpus() -> None:
    data = _load(corpus_invalid_dir() / "aws__amazon-ssm-agent/schemaVersion9999.json")
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        classify(data)
    assert caught.value.code == "UnsupportedSchemaVersion"
    assert schema_errors(data) == [SchemaIssue(
        "UnsupportedSchemaVersion",
        "schemaVersion '9999.0' is not supported; ssm-local runs Automation runbooks (0.3) and "
        "Command documents (1.2, 2.0, 2.2)",
        ("schemaVersion",))]


@pytest.mark.parametrize(("name", "code", "path"), [
    ("awslabs__aws-systems-manager/ASGChangeStandbyState__Design__schema.json",
     "SchemaViolation", ("mainSteps",)),
    ("aws__amazon-ssm-agent/cwdocument_invalid_format1.json",
     "UnknownAction", ("runtimeConfig", "runtimeConfig")),
])
def test_invalid_corpus_fails_the_schema(name: str, code: str, path: tuple[Any, ...]) -> None:
    errors = _errors(_load(corpus_invalid_dir() / name))
    assert [(issue.code, issue.path) for issue in errors] == [(code, path)]


@pytest.mark.parametrize("name", [
    "sampleMessageWithInvalidParamPrecondition.json",
    "sampleMessageWithSsmParamPrecondition.json",
    "sampleMessageWithSecureSsmParamPrecondition.json",
    "sampleMessageWithTwoParamsPrecondition.json",
])
def test_semantic_precondition_problems_pass_the_schema(name: str) -> None:
    data = _load(corpus_invalid_dir() / "aws__amazon-ssm-agent" / name)
    assert _errors(data) == []


# --------------------------------------------------------------------------------------------
# Classification


@pytest.mark.parametrize(("data", "expected"), [
    ({"schemaVersion": "0.3", "mainSteps": []}, ("Automation", "0.3")),
    ({"schemaVersion": "1.2", "runtimeConfig": {}}, ("Command", "1.2")),
    ({"schemaVersion": "2.0", "mainSteps": []}, ("Command", "2.0")),
    ({"schemaVersion": "2.2"}, ("Command", "2.2")),
    ({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {}}, ("Other", "1.0")),
    ({"schemaVersion": "2.0", "publisher": "me", "packages": {}, "files": {}}, ("Other", "2.0")),
    ({"schemaVersion": "2.0.3", "mainSteps": []}, ("Other", "2.0.3")),
])
def test_classify(data: dict[str, Any], expected: tuple[str, str]) -> None:
    assert classify(data) == expected


@pytest.mark.parametrize(("data", "message"), [
    ({}, "the document has no schemaVersion; use '0.3' for an Automation runbook or '2.2' for "
         "a Command document"),
    ({"schemaVersion": 0.3}, "schemaVersion must be a string such as '2.2', not the number 0.3; "
                             "quote it: schemaVersion: '0.3'"),
    ({"schemaVersion": ["2.2"]}, "schemaVersion must be a string such as '2.2', not a list"),
    ({"schemaVersion": "2.1"}, "schemaVersion '2.1' is deprecated and no longer supported; "
                               "ssm-local runs Automation runbooks (0.3) and Command documents "
                               "(1.2, 2.0, 2.2)"),
])
def test_classify_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        classify(data)
    assert caught.value.message == message
    assert [issue.code for issue in schema_errors(data)] == ["UnsupportedSchemaVersion"]


def test_known_versions() -> None:
    assert {"0.3", "1.2", "2.0", "2.2", "1.0", "2.0.1", "2.0.2", "2.0.3"} == KNOWN_SCHEMA_VERSIONS


# --------------------------------------------------------------------------------------------
# Golden cases: one per rule


def _auto(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"schemaVersion": "0.3", "mainSteps": list(steps), **top}


def _cmd(*steps: dict[str, Any], version: str = "2.2", **top: Any) -> dict[str, Any]:
    return {"schemaVersion": version, "mainSteps": list(steps), **top}


def _step(action: str, inputs: Any, name: str = "x", **fields: Any) -> dict[str, Any]:
    return {"name": name, "action": action, "inputs": inputs, **fields}


def _shell(**inputs: Any) -> dict[str, Any]:
    return _step("aws:runShellScript", inputs or {"runCommand": ["date"]})


_LOOP_STEP = _step("aws:sleep", {"Duration": "PT1S"}, name="inner")
_OPS = ("StringEquals, EqualsIgnoreCase, StartsWith, EndsWith, Contains, NumericEquals, "
        "NumericGreater, NumericLesser, NumericGreaterOrEquals, NumericLesserOrEquals, "
        "BooleanEquals")

# (id, document, [(code, path, message)])
GOLDEN: list[tuple[str, dict[str, Any], list[tuple[str, tuple[Any, ...], str]]]] = [
    ("missing required input",
     _cmd(_step("aws:runShellScript", {})),
     [("MissingRequiredField", ("mainSteps", 0, "inputs"),
       "step 'x' (aws:runShellScript): missing required input 'runCommand'")]),
    ("wrong input type",
     _cmd(_step("aws:runShellScript", {"runCommand": 5})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "runCommand"),
       "step 'x' (aws:runShellScript): input 'runCommand' must be a string or a list of "
       "strings; got 5")]),
    ("unknown step field",
     _cmd({**_shell(), "foo": 1}),
     [("UnknownField", ("mainSteps", 0, "foo"),
       "unknown field 'foo' in step 'x' (aws:runShellScript)")]),
    ("unknown top-level field",
     _auto(_LOOP_STEP, extra=1),
     [("UnknownField", ("extra",), "unknown field 'extra' at the top level of the document")]),
    ("missing runtimeConfig (agent's invaliddocument)",
     {"schemaVersion": "1.2", "description": "PowerShell.", "FOO": "bar"},
     [("MissingRequiredField", (), "missing required field 'runtimeConfig'"),
      ("UnknownField", ("FOO",), "unknown field 'FOO' at the top level of the document")]),
    ("empty mainSteps",
     _cmd(),
     [("SchemaViolation", ("mainSteps",), "'mainSteps' must contain at least one step")]),
    ("precondition before 2.2",
     _cmd({**_shell(), "precondition": {"StringEquals": ["platformType", "Linux"]}},
          version="2.0"),
     [("UnknownField", ("mainSteps", 0, "precondition"),
       "unknown field 'precondition' in step 'x' (aws:runShellScript) (preconditions need "
       "schemaVersion 2.2)")]),
    ("unknown precondition operator",
     _cmd({**_shell(), "precondition": {"StringLike": ["platformType", "Linux"]}}),
     [("UnsupportedOperator", ("mainSteps", 0, "precondition", "StringLike"),
       "step 'x' (aws:runShellScript): unsupported precondition operator 'StringLike'; only "
       "StringEquals exists")]),
    ("unknown Command plugin",
     _cmd(_step("aws:fooBar", {})),
     [("UnknownAction", ("mainSteps", 0, "action"), "")]),
    ("Automation action in a Command document",
     _cmd(_step("aws:sleep", {"Duration": "PT1S"})),
     [("UnknownAction", ("mainSteps", 0, "action"),
       "step 'x' (aws:sleep): aws:sleep is an Automation action, not a Command plugin; "
       "Command documents run plugins such as aws:runShellScript")]),
    ("plugin newer than 1.2",
     {"schemaVersion": "1.2", "runtimeConfig": {"aws:runDocument": {"properties": [
         {"documentType": "SSMDocument"}]}}},
     [("SchemaViolation", ("runtimeConfig", "aws:runDocument"),
       "runtimeConfig: plugin aws:runDocument needs schemaVersion 2.0 or later")]),
    ("1.2 plugin input",
     {"schemaVersion": "1.2", "runtimeConfig": {"aws:runScript": {"properties": [
         {"id": "0.aws:runScript", "runCommand": 3}]}}},
     [("SchemaViolation", ("runtimeConfig", "aws:runScript", "properties", 0, "runCommand"),
       "step '0.aws:runScript' (aws:runScript): input 'runCommand' must be a string or a list "
       "of strings; got 3")]),
    ("1.2 plugin without properties",
     {"schemaVersion": "1.2", "runtimeConfig": {"aws:runScript": {}}},
     [("MissingRequiredField", ("runtimeConfig", "aws:runScript"),
       "plugin aws:runScript in runtimeConfig: missing required field 'properties'")]),
    ("bad onFailure",
     _auto({**_LOOP_STEP, "onFailure": "Retry"}),
     [("SchemaViolation", ("mainSteps", 0, "onFailure"),
       "step 'inner' (aws:sleep): 'onFailure' must be Abort, Continue or step:<step name>; "
       "got 'Retry'")]),
    ("bad onCancel",
     _auto({**_LOOP_STEP, "onCancel": "Continue"}),
     [("SchemaViolation", ("mainSteps", 0, "onCancel"),
       "step 'inner' (aws:sleep): 'onCancel' must be Abort or step:<step name>; got "
       "'Continue'")]),
    ("bad isEnd",
     _auto({**_LOOP_STEP, "isEnd": "yes"}),
     [("SchemaViolation", ("mainSteps", 0, "isEnd"),
       "step 'inner' (aws:sleep): 'isEnd' must be true or false (a boolean or the string "
       "\"true\"/\"false\"); got 'yes'")]),
    ("bad step name",
     _auto({**_LOOP_STEP, "name": "has space"}),
     [("SchemaViolation", ("mainSteps", 0, "name"),
       "step 'has space' (aws:sleep): 'name' must be a step name (letters, digits and _); "
       "got 'has space'")]),
    ("missing step name",
     _auto({"action": "aws:pause", "inputs": {}}),
     [("MissingRequiredField", ("mainSteps", 0),
       "step #1 (aws:pause): missing required field 'name'")]),
    ("unknown Automation action is a warning",
     _auto(_step("aws:fooBar", {"InstanceId": "i-1"})),
     [("UnknownAction", ("mainSteps", 0, "action"),
       "step 'x' (aws:fooBar): unknown Automation action 'aws:fooBar': ssm-local does not know "
       "it and will not check its inputs or run it (it may be an internal AWS action)")]),
    ("undocumented internal action: warned, inputs checked",
     _auto(_step("aws:shareSQLMedia", {"SQLServerEdition": "Standard"})),
     [("UndocumentedAction", ("mainSteps", 0, "action"),
       "step 'x' (aws:shareSQLMedia): aws:shareSQLMedia is an undocumented internal AWS "
       "action; ssm-local checks its inputs as AWS's runbooks use them but cannot run it"),
      ("MissingRequiredField", ("mainSteps", 0, "inputs"), "")]),
    ("Command plugin in a runbook",
     _auto(_shell()),
     [("UnknownAction", ("mainSteps", 0, "action"), "")]),
    ("unknown Automation input",
     _auto(_step("aws:sleep", {"Duration": "PT1S", "Seconds": 3})),
     [("UnknownField", ("mainSteps", 0, "inputs", "Seconds"),
       "unknown input 'Seconds' in step 'x' (aws:sleep); AWS's action reference does not list "
       "it (AWS's own runbooks pass such inputs), so ssm-local does not check it")]),
    ("bad enum input",
     _auto(_step("aws:changeInstanceState", {"InstanceIds": ["i-1"], "DesiredState": "paused"})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "DesiredState"),
       "step 'x' (aws:changeInstanceState): input 'DesiredState' must be one of running, "
       "stopped, terminated or a {{ }} template; got 'paused'")]),
    ("sleep with both Duration and Timestamp",
     _auto(_step("aws:sleep", {"Duration": "PT1S", "Timestamp": "2024-01-01T00:00:00Z"})),
     [("SchemaViolation", ("mainSteps", 0, "inputs"),
       "step 'x' (aws:sleep): needs exactly one of 'Duration' or 'Timestamp'")]),
    ("bad duration",
     _auto(_step("aws:sleep", {"Duration": "10 minutes"})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "Duration"),
       "step 'x' (aws:sleep): input 'Duration' must be an ISO 8601 duration such as PT10M or a "
       "{{ }} template; got '10 minutes'")]),
    ("bad branch operator",
     _auto(_step("aws:branch", {"Choices": [
         {"NextStep": "y", "Variable": "{{ a }}", "StringMatches": "b"}]})),
     [("UnsupportedOperator", ("mainSteps", 0, "inputs", "Choices", 0, "StringMatches"),
       "step 'x' (aws:branch): unsupported operator 'StringMatches'; the operators are "
       + _OPS + ", And, Or and Not")]),
    ("two branch operators",
     _auto(_step("aws:branch", {"Choices": [
         {"NextStep": "y", "Variable": "{{ a }}", "StringEquals": "b", "Contains": "c"}]})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "Choices", 0),
       "step 'x' (aws:branch): input 'Choices[0]' needs exactly one operator beside "
       "'Variable': " + _OPS)]),
    ("nested branch operand",
     _auto(_step("aws:branch", {"Choices": [{"NextStep": "y", "And": [
         {"Variable": "{{ a }}", "NumericGreater": "many"},
         {"Not": {"Variable": "{{ b }}", "BooleanEquals": True}}]}]})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "Choices", 0, "And", 0, "NumericGreater"),
       "step 'x' (aws:branch): input 'Choices[0].And[0].NumericGreater' must be a number or a "
       "{{ }} template; got 'many'")]),
    ("choice without NextStep",
     _auto(_step("aws:branch", {"Choices": [{"Variable": "{{ a }}", "StringEquals": "b"}]})),
     [("MissingRequiredField", ("mainSteps", 0, "inputs", "Choices", 0),
       "step 'x' (aws:branch): missing required field 'NextStep' in input 'Choices[0]'")]),
    ("loop with both Iterators and LoopCondition",
     _auto(_step("aws:loop", {"Iterators": ["a"], "Steps": [_LOOP_STEP], "LoopCondition": {
         "Variable": "{{ a }}", "BooleanEquals": True}})),
     [("SchemaViolation", ("mainSteps", 0, "inputs"),
       "step 'x' (aws:loop): needs exactly one of 'Iterators' (for each value) or "
       "'LoopCondition' (repeat while true)")]),
    ("loop MaxIterations out of range",
     _auto(_step("aws:loop", {"Iterators": ["a"], "MaxIterations": 500,
                              "Steps": [_LOOP_STEP]})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "MaxIterations"),
       "step 'x' (aws:loop): input 'MaxIterations' must be an integer from 1 to 100 or a {{ }} "
       "template; got 500")]),
    ("onCancel on a loop step",
     _auto(_step("aws:loop", {"Iterators": ["a"], "Steps": [_LOOP_STEP]}, onCancel="Abort")),
     [("SchemaViolation", ("mainSteps", 0, "onCancel"),
       "step 'x' (aws:loop): onCancel is not allowed on an aws:loop step; put it on the steps "
       "inside the loop")]),
    ("inner loop step inputs",
     _auto(_step("aws:loop", {"Iterators": ["a"], "Steps": [
         _step("aws:sleep", {"Duration": "soon"}, name="inner", bogus=1)]})),
     [("UnknownField", ("mainSteps", 0, "inputs", "Steps", 0, "bogus"),
       "unknown field 'bogus' in step 'inner' (aws:sleep)"),
      ("SchemaViolation", ("mainSteps", 0, "inputs", "Steps", 0, "inputs", "Duration"),
       "step 'inner' (aws:sleep): input 'Duration' must be an ISO 8601 duration such as PT10M "
       "or a {{ }} template; got 'soon'")]),
    ("executeScript without code",
     _auto(_step("aws:executeScript", {"Runtime": "python3.11", "Handler": "h"})),
     [("MissingRequiredField", ("mainSteps", 0, "inputs"),
       "step 'x' (aws:executeScript): missing required input 'Script' (or 'Attachment')")]),
    ("updateVariable name",
     _auto(_step("aws:updateVariable", {"Name": "Counter", "Value": 1})),
     [("SchemaViolation", ("mainSteps", 0, "inputs", "Name"),
       "step 'x' (aws:updateVariable): input 'Name' must be 'variable:<name>' naming a declared "
       "variable; got 'Counter'")]),
    ("parameter definition",
     _auto(_LOOP_STEP, parameters={"P": {"type": "Strin", "foo": 1}}),
     [("UnknownField", ("parameters", "P", "foo"), "unknown field 'foo' in parameter 'P'"),
      ("SchemaViolation", ("parameters", "P", "type"), "")]),
    ("Array is only for 1.2",
     _cmd(_shell(), parameters={"P": {"type": "Array"}}),
     [("SchemaViolation", ("parameters", "P", "type"), "")]),
    ("interpolationType is only for 2.2",
     _cmd(_shell(), version="2.0", parameters={"P": {"type": "String",
                                                    "interpolationType": "ENV_VAR"}}),
     [("UnknownField", ("parameters", "P", "interpolationType"), "")]),
    ("document outputs",
     _auto(_LOOP_STEP, outputs=["inner"]),
     [("SchemaViolation", ("outputs", 0),
       "'outputs[0]' must be a 'StepName.OutputName' string; got 'inner'")]),
    ("step output type",
     _auto({**_LOOP_STEP, "outputs": [{"Name": "o", "Selector": "$", "Type": "Map"}]}),
     [("SchemaViolation", ("mainSteps", 0, "outputs", 0, "Type"), "")]),
    ("inputs not an object",
     _auto(_step("aws:sleep", [])),
     [("SchemaViolation", ("mainSteps", 0, "inputs"),
       "step 'x' (aws:sleep): inputs must be an object (map); got a list")]),
    ("step not an object",
     _cmd("date"),  # type: ignore[arg-type]
     [("SchemaViolation", ("mainSteps", 0), "step #1 must be an object (map); got 'date'")]),
    ("variables",
     _auto(_LOOP_STEP, variables={"V": {"type": "Float"}}),
     [("SchemaViolation", ("variables", "V", "type"), "")]),
    ("file checksum",
     _auto(_LOOP_STEP, files={"a.zip": {"checksums": {"sha256": "abc"}}}),
     [("SchemaViolation", ("files", "a.zip", "checksums", "sha256"), "")]),
]


@pytest.mark.parametrize(("document", "expected"), [(d, e) for _, d, e in GOLDEN],
                         ids=[name for name, _, _ in GOLDEN])
def test_golden(document: dict[str, Any],
                expected: list[tuple[str, tuple[Any, ...], str]]) -> None:
    issues = schema_errors(document)
    assert [(issue.code, issue.path) for issue in issues] == [(c, p) for c, p, _ in expected]
    for issue, (_, _, message) in zip(issues, expected, strict=True):
        if message:
            assert issue.message == message


@pytest.mark.parametrize(("document", "severity"), [
    (_auto(_step("aws:fooBar", {})), "warning"),
    (_auto(_step("aws:putServerUpgradeMetrics", {"MetricName": "m", "MetricValue": "1"})),
     "warning"),
    (_auto(_shell()), "error"),
    (_cmd(_step("aws:fooBar", {})), "error"),
    (_cmd(_step("aws:runShellScript", {"runCommand": ["date"], "maxAttempts": 1})), "warning"),
    (_cmd(_step("aws:runShellScript", {"runCommand": ["date"]}, foo=1)), "error"),
    # an input AWS's action reference does not list, on a documented action (issue 9)
    (_auto(_step("aws:sleep", {"Duration": "PT1S", "Seconds": 3})), "warning"),
])
def test_severity(document: dict[str, Any], severity: str) -> None:
    assert [issue.severity for issue in schema_errors(document)] == [severity]


def test_unknown_key_points_at_the_key() -> None:
    [issue] = schema_errors(_cmd({**_shell(), "foo": 1}))
    assert issue.at_key is True
    [issue] = schema_errors(_cmd(_step("aws:runShellScript", {})))
    assert issue.at_key is False


# --------------------------------------------------------------------------------------------
# What must be accepted


@pytest.mark.parametrize("document", [
    # any typed input may be a {{ }} template
    _auto(_step("aws:loop", {"Iterators": "{{ Ids }}", "MaxIterations": "{{ x }}",
                             "Steps": [_LOOP_STEP]})),
    _auto(_step("aws:changeInstanceState", {"InstanceIds": "{{ Ids }}",
                                            "DesiredState": "{{ State }}",
                                            "CheckStateOnly": "{{ Check }}"})),
    _auto(_step("aws:runCommand", {"DocumentName": "AWS-RunShellScript",
                                   "InstanceIds": ["{{ Id }}"], "TimeoutSeconds": "{{ T }}",
                                   "Parameters": "{{ P }}"})),
    _auto(_step("aws:sleep", {"Duration": "PT{{ Minutes }}M"})),
    _auto(_step("aws:approve", {"Approvers": "{{ Approvers }}",
                                "MinRequiredApprovals": "{{ N }}"})),
    # the type tolerance of step properties (§5.1)
    _auto({**_LOOP_STEP, "isCritical": "false", "isEnd": "true", "timeoutSeconds": "600",
           "maxAttempts": 0, "onFailure": "", "onCancel": "step:inner", "nextStep": "inner"}),
    _auto({**_LOOP_STEP, "isCritical": False, "onFailure": "step:inner", "timeoutSeconds": 60}),
    # aws:loop do-while with nested conditions and an inner branch
    _auto(_step("aws:loop", {"LoopCondition": {"Not": {"Variable": "{{ variable:Token }}",
                                                       "StringEquals": ""}},
                             "MaxIterations": 10,
                             "Steps": [_step("aws:branch", {"Choices": [{
                                 "NextStep": "inner",
                                 "Or": [{"Variable": "{{ a }}", "NumericGreaterOrEquals": "3"},
                                        {"Variable": "{{ b }}", "EqualsIgnoreCase": "x"}]}],
                                 "Default": "inner"}, name="b"), _LOOP_STEP]}),
          variables={"Token": {"type": "String", "default": ""}}),
    # change templates
    _auto(_step("aws:approve", {"EnhancedApprovals": {"Approvers": []}}),
          templateInformation="# notes", executableRunBooks=[{"name": "AWS-HelloWorld",
                                                              "version": "1"}],
          emergencyChange=False),
    # Command steps may carry Automation-style keys; the agent's own fixtures do
    _cmd({**_step("aws:runPowerShellScript", {"commands": "date"}), "maxAttempts": 0,
          "onFailure": "", "settings": None, "timeoutSeconds": 0},
         parameters={"c": {"type": "StringList", "default": None, "allowedValues": None,
                           "allowedPattern": ""}}),
    # the agent decodes plugin inputs case-insensitively
    _cmd(_step("aws:downloadContent", {"SourceType": "S3", "SourceInfo": "{{ info }}"})),
    # shared Command step-control inputs
    _cmd(_step("aws:runDocument", {"documentType": "SSMDocument", "documentPath": "X",
                                   "onFailure": "exit", "finallyStep": True})),
    # 1.2: properties as a single object, as Properties, and cloudWatch's string
    {"schemaVersion": "1.2", "runtimeConfig": {"aws:domainJoin": {"properties": {
        "directoryId": "d", "directoryName": "n", "dnsIpAddresses": "{{ dns }}"}}}},
    {"schemaVersion": "1.2", "runtimeConfig": {"aws:runScript": {"Properties": [
        {"id": "0.aws:runScript", "runCommand": "{{ commands }}"}]}}},
    {"schemaVersion": "1.2", "runtimeConfig": {"aws:cloudWatch": {
        "settings": {"startType": "{{ status }}"}, "properties": "{{ properties }}"}}},
    {"schemaVersion": "1.2", "parameters": {"c": {"type": "Array"}},
     "runtimeConfig": {"aws:runShellScript": {"properties": [{"runCommand": ["date"]}]}}},
])
def test_accepted(document: dict[str, Any]) -> None:
    assert schema_errors(document) == []


# --------------------------------------------------------------------------------------------
# Helpers and the schema files


def test_step_errors_checks_nested_loop_steps() -> None:
    loop = _step("aws:loop", {"Iterators": ["a"], "Steps": [
        _step("aws:sleep", {"Duration": "later"}, name="inner")]}, name="l")
    issues = step_errors(loop, ("mainSteps", 3), kind="Automation", schema_version="0.3")
    assert [(i.code, i.path) for i in issues] == [
        ("SchemaViolation", ("mainSteps", 3, "inputs", "Steps", 0, "inputs", "Duration"))]


def test_iter_steps_includes_loop_steps() -> None:
    document = _auto(_step("aws:loop", {"Iterators": ["a"], "Steps": [_LOOP_STEP]}, name="l"),
                     _step("aws:pause", {}, name="p"))
    assert [(path, step["name"]) for path, step in iter_steps(document)] == [
        (("mainSteps", 0), "l"),
        (("mainSteps", 0, "inputs", "Steps", 0), "inner"),
        (("mainSteps", 1), "p"),
    ]


def test_known_actions() -> None:
    command = known_actions("Command")
    automation = known_actions("Automation")
    assert {"aws:runShellScript", "aws:runScript", "aws:cloudWatch"} <= command
    assert {"aws:loop", "aws:updateVariable", "aws:executeStateMachine", "aws:copyImage",
            "aws:invokeWebhook", "aws:sleep", "aws:pause", "aws:approve", "aws:branch",
            "aws:executeScript"} <= automation
    assert not command & automation
    assert len(command) + len(automation) == 41


def _schema_files() -> list[str]:
    return sorted(entry.name for entry in resources.files("ssm_local.documents.schemas").iterdir()
                  if entry.name.endswith(".json"))


@pytest.mark.parametrize("name", _schema_files())
def test_schema_file_is_valid(name: str) -> None:
    text = resources.files("ssm_local.documents.schemas").joinpath(name).read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + name)
    if name.startswith("action-"):
        assert name == "action-" + schema["x-action"].replace(":", "_") + ".json"
        assert schema["x-kind"] in ("Command", "Automation")


# --------------------------------------------------------------------------------------------
# The fast yes/no check in front of jsonschema must agree with it


def _original_validators() -> dict[str, Draft202012Validator]:
    """Validators on the schema files as written (no inlining), to check the inlining too."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    files = {name: json.loads(resources.files("ssm_local.documents.schemas").joinpath(name)
                              .read_text(encoding="utf-8")) for name in _schema_files()}
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in files.values())
    out = {}
    for schema in files.values():
        key = schema.get("x-action") or schema["$id"].rsplit("/", 1)[-1]
        out[key] = Draft202012Validator(schema, registry=registry)
    return out


def _agreement(data: dict[str, Any], originals: dict[str, Draft202012Validator]) -> None:
    from ssm_local.documents.schemas import _catalog

    catalog = _catalog()
    try:
        kind, version = classify(data)
    except UnsupportedSchemaVersion:
        return
    if kind == "Other":
        return
    validator, valid = catalog.documents[version]
    original = originals[("automation-" if kind == "Automation" else "command-")
                         + version + ".json"]
    expected = not any(True for _ in validator.iter_errors(data))
    assert valid(data) is expected, data
    assert (not any(True for _ in original.iter_errors(data))) is expected, data
    for _, step in iter_steps(data):
        name = step.get("action")
        action = catalog.actions.get(name) if isinstance(name, str) else None
        inputs = step.get("inputs")
        if action is None:
            continue
        expected = not any(True for _ in action.validator.iter_errors(inputs))
        assert action.valid(inputs) is expected, step
        assert (not any(True for _ in originals[action.name].iter_errors(inputs))) is expected


_REPLACEMENTS: list[Any] = [None, True, False, 0, -1, 3.5, 500, "", "x", "{{ x }}", "PT1S",
                            "Abort", "step:x", "true", [], ["a"], [1], {}, {"a": 1},
                            {"Variable": "{{ a }}", "StringEquals": "b"}]


def _mutations(data: Any, seed: int, count: int) -> list[Any]:
    import copy
    import random

    rng = random.Random(seed)
    spots: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                spots.append((node, key))
                collect(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                spots.append((node, index))
                collect(value)

    out = []
    for _ in range(count):
        clone = copy.deepcopy(data)
        spots.clear()
        collect(clone)
        if not spots:
            break
        container, key = rng.choice(spots)
        move = rng.random()
        if move < 0.15 and isinstance(container, dict):
            del container[key]
        elif move < 0.25 and isinstance(container, dict):
            container[rng.choice(["bogus", "Bogus", "isEnd", "onCancel", "Iterators"])] = 1
        else:
            container[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
        out.append(clone)
    return out


def test_fast_check_agrees_with_jsonschema_on_the_corpus_and_goldens() -> None:
    originals = _original_validators()
    documents = [document for _, document, _ in GOLDEN]
    if CORPUS.is_dir():
        documents += [_load(CORPUS / row["file"]) for row in _ROWS]
    for document in documents:
        _agreement(document, originals)


def test_fast_check_agrees_with_jsonschema_on_mutated_documents() -> None:
    originals = _original_validators()
    root = corpus_dir()
    seeds = [row["file"] for row in _ROWS if row["kind"] in ("Command", "Automation")]
    for number, name in enumerate(seeds):
        for mutated in _mutations(_load(root / name), number, 12):
            _agreement(mutated, originals)

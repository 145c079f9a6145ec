"""Supplied parameter values on the Run Command path are checked as written, ``{{`` and all, and
a ``{{`` in a value is data: SendCommand, nested aws:runDocument, and ``{{ssm:...}}`` values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.grammar.errors import ParameterError

Run = Callable[..., dict[str, Any]]

CONSTRAINTS = {
    "allowedPattern": ({"allowedPattern": "^[a-zA-Z0-9 ]*$"}, "does not match the allowed pattern"),
    "allowedValues": ({"allowedValues": ["hello", "world"]}, "is not one of the allowed values"),
    "maxChars": ({"maxChars": 12}, "characters; at most 12 are allowed"),
}


def touching(marker: Path) -> str:
    """A value that runs ``touch marker`` if it reaches a shell unchecked, behind a ``{{x}}``."""
    return "{{x}}$(touch " + str(marker) + ")"


def echo_document(constraint: dict[str, Any]) -> dict[str, Any]:
    return {"schemaVersion": "2.2", "description": "echo",
            "parameters": {"Message": {"type": "String", **constraint}},
            "mainSteps": [{"action": "aws:runShellScript", "name": "echo",
                           "inputs": {"runCommand": ["echo {{ Message }}"]}}]}


def outputs(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    (invocation,) = result["CommandInvocations"]
    return [(p["Name"], p["Status"], p["Output"]) for p in invocation["CommandPlugins"]]


@pytest.mark.parametrize("kind", sorted(CONSTRAINTS))
def test_a_supplied_template_value_is_checked_by_send_command(
        engine: Engine, write_doc: Callable[..., str], tmp_path: Path, kind: str) -> None:
    constraint, message = CONSTRAINTS[kind]
    marker = tmp_path / "pwned"
    path = write_doc(echo_document(constraint))
    with pytest.raises(ParameterError, match=f"parameter 'Message' value .*{message}") as info:
        engine.send_command(path, parameters={"Message": touching(marker)})
    assert info.value.code == "InvalidParameters"
    assert engine.commands.list_commands()["Commands"] == []
    assert not marker.exists()


@pytest.mark.parametrize("kind", sorted(CONSTRAINTS))
def test_a_template_value_passed_to_a_nested_document_is_checked(
        engine: Engine, run: Run, write_doc: Callable[..., str], tmp_path: Path,
        kind: str) -> None:
    constraint, message = CONSTRAINTS[kind]
    marker = tmp_path / "pwned"
    inner = write_doc(echo_document(constraint), "inner.json")
    outer = write_doc({"schemaVersion": "2.2", "description": "outer",
                       "parameters": {"Outer": {"type": "String"}},
                       "mainSteps": [{"action": "aws:runDocument", "name": "call",
                                      "inputs": {"documentType": "LocalPath", "documentPath": inner,
                                                 "documentParameters": {"Message": "{{ Outer }}"}}}]},
                      "outer.json")
    [(name, status, output)] = outputs(run(outer, parameters={"Outer": touching(marker)}))
    assert (name, status) == ("call", "Failed")
    assert f"{inner}: parameter 'Message' value '{{{{x}}}}$(touch " in output
    assert message in output
    assert not marker.exists()


def test_a_template_in_a_supplied_value_reaches_the_script_as_written(
        run: Run, write_doc: Callable[..., str]) -> None:
    path = write_doc({"schemaVersion": "2.2", "description": "literal",
                      "parameters": {"Message": {"type": "String"},
                                     "Other": {"type": "String", "default": "expanded"}},
                      "mainSteps": [{"action": "aws:runShellScript", "name": "echo",
                                     "inputs": {"runCommand": ["echo '{{ Message }}'"]}}]})
    value = "{{x}} {{ Other }} {{Message}} $$ {{ ssm-secure:/nope }}"
    [(_, status, output)] = outputs(run(path, parameters={"Message": value}))
    assert (status, output) == ("Success", value.replace("$$", "$") + "\n")  # $$: Go's expansion


def test_a_parameter_store_value_is_data_too(engine: Engine, run: Run,
                                             write_doc: Callable[..., str]) -> None:
    engine.parameters.put_parameter("/app/a", "{{ssm:/app/b}} {{ Other }}", type="String")
    engine.parameters.put_parameter("/app/b", "expanded", type="String")
    path = write_doc({"schemaVersion": "2.2", "description": "store",
                      "parameters": {"Message": {"type": "String"},
                                     "Other": {"type": "String", "default": "expanded"}},
                      "mainSteps": [{"action": "aws:runShellScript", "name": "echo",
                                     "inputs": {"runCommand": ["echo '{{ Message }}|{{ssm:/app/a}}'"]}}]})
    # AWS resolves a {{ssm:...}} reference in a supplied value (once, before checking it)
    [(_, status, output)] = outputs(run(path, parameters={"Message": "{{ssm:/app/a}}"}))
    assert (status, output) == ("Success", "{{ssm:/app/b}} {{ Other }}|{{ssm:/app/b}} {{ Other }}\n")


def test_a_supplied_ssm_reference_is_checked_after_it_is_resolved(
        engine: Engine, write_doc: Callable[..., str]) -> None:
    engine.parameters.put_parameter("/app/word", "not a word!", type="String")
    path = write_doc(echo_document({"allowedPattern": "^[a-z]+$"}))
    with pytest.raises(ParameterError, match="value 'not a word!' does not match"):
        engine.send_command(path, parameters={"Message": "{{ssm:/app/word}}"})
    with pytest.raises(ParameterError, match="value 'say not a word!' does not match"):
        engine.send_command(path, parameters={"Message": "say {{ssm:/app/word}}"})


@pytest.mark.parametrize("value", ["{{ssm:/app/secret}}", "say {{ssm:/app/secret}}"])
def test_a_secure_string_reference_in_a_value_is_refused(
        engine: Engine, write_doc: Callable[..., str], value: str) -> None:
    engine.parameters.put_parameter("/app/secret", "hunter2", type="SecureString")
    path = write_doc(echo_document({}))
    with pytest.raises(ParameterError) as info:  # as the agent refuses it; never the ciphertext
        engine.send_command(path, parameters={"Message": value})
    assert (info.value.code, info.value.message) == (
        "InvalidParameters", "Parameters [/app/secret] of type SecureString are not supported")
    assert engine.commands.list_commands()["Commands"] == []

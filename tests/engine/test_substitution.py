"""Substitution as AWS does it: text that is not a placeholder stays as written, ``$$`` in a Command
document's own text reaches the shell, an inserted value goes through Go's ``ReplaceAllString``,
lists and maps are inlined as Go's ``json.Marshal`` writes them, and ``{{ssm:...}}`` anywhere in a
Command step's inputs is resolved with the agent's type rules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ssm_local import Engine, documents
from ssm_local.engine.command.interpreter import parameter_lookup, run_invocation
from ssm_local.engine.command.plugins.base import NodeContext
from ssm_local.engine.executors.base import InvocationRequest
from ssm_local.engine.executors.mock import MockExecutor
from ssm_local.engine.substitution import (
    MISSING,
    SsmReferenceError,
    go_expand,
    go_json,
    render,
    render_step_inputs,
    resolve_ssm_references,
)
from ssm_local.grammar.errors import ApiError

# -- text that is not a placeholder ---------------------------------------------------------

LEFT_AS_WRITTEN = [
    "awk '{{print $2}}' /etc/passwd",
    'print("{{}}")',
    'payload = "{{\\"a\\": 1}}"',
    "# wait for {{ the lock\necho ok",
    "{{ not a placeholder }}",
    "{{ Path",
]


@pytest.mark.parametrize("text", LEFT_AS_WRITTEN)
@pytest.mark.parametrize("style", ["agent", "automation"])
def test_text_that_is_not_a_placeholder_is_left_as_written(text: str, style: Any) -> None:
    assert render(text, parameter_lookup({"Path": "C:\\x"}), style=style) == text


@pytest.mark.parametrize("style", ["agent", "automation"])
def test_powershell_triple_braces_substitute_the_inner_placeholder(style: Any) -> None:
    lookup = parameter_lookup({"Path": "C:\\Temp"})
    assert render("Write-Output {{{ Path }}}", lookup, style=style) == "Write-Output {C:\\Temp}"


def test_unknown_names_stay_verbatim() -> None:
    assert render("echo {{ other }} {{ Name }}", parameter_lookup({"Name": "x"}),
                  style="agent") == "echo {{ other }} x"


# -- $ in the document's text and in values ---------------------------------------------------


def test_agent_leaves_dollars_in_the_document_text() -> None:
    lookup = parameter_lookup({"Name": "job"})
    assert render("lock=/var/run/job.$$.lock", lookup, style="agent") == "lock=/var/run/job.$$.lock"
    assert render("lock=/var/run/{{ Name }}.$$.lock", lookup,
                  style="agent") == "lock=/var/run/job.$$.lock"


def test_automation_keeps_rewriting_dollars_in_the_document_text() -> None:
    assert render("cost $$5 {{ x }}", parameter_lookup({"x": "a$$b"})) == "cost $5 a$$b"


GO_EXPAND = [
    # Go's regexp.Expand for a pattern without groups; ``$0`` is the whole match
    ("a$$b", "a$b"),
    ("pid $$$$", "pid $$"),
    ("$HOME/bin", "/bin"),
    ("${HOME}/bin", "/bin"),
    ("$1 and $10x", " and "),
    ("$0", "{{ v }}"),
    ("${0}", "{{ v }}"),
    ("$00", ""),
    ("cost $", "cost $"),
    ("$ x", "$ x"),
    ("${}", "${}"),
    ("${a", "${a"),
    ("$-1", "$-1"),
    ("$é", ""),
    ("no dollars", "no dollars"),
]


@pytest.mark.parametrize(("value", "inserted"), GO_EXPAND)
def test_go_expand(value: str, inserted: str) -> None:
    assert go_expand(value, "{{ v }}") == inserted


def test_an_inserted_value_is_expanded_by_the_agent() -> None:
    lookup = parameter_lookup({"v": "a$$b ${HOME} $1"})
    assert render("x={{ v }};", lookup, style="agent") == "x=a$b  ;"
    # a whole-string placeholder is the value itself: no ReplaceAllString
    assert render("{{ v }}", lookup, style="agent") == "a$$b ${HOME} $1"


# -- lists and maps inlined into a longer string ----------------------------------------------


def test_go_json() -> None:
    assert go_json({"b": [1, 2.0, 0.5], "a": "<x & y>", "c": None, "d": True}) == (
        '{"a":"\\u003cx \\u0026 y\\u003e","b":[1,2,0.5],"c":null,"d":true}')
    assert go_json(["é", "\u2028"]) == '["é","\\u2028"]'


@pytest.mark.parametrize("style", ["agent", "automation"])
def test_lists_and_maps_inline_as_go_marshals_them(style: Any) -> None:
    lookup = parameter_lookup({"items": ["a<b", "c&d"], "tags": {"z": "1", "a": ">"}})
    assert render("echo '{{ items }}' '{{ tags }}'", lookup, style=style) == (
        'echo \'["a\\u003cb","c\\u0026d"]\' \'{"a":"\\u003e","z":"1"}\'')


# -- {{ssm:...}} in Command step inputs -------------------------------------------------------


@dataclass(frozen=True)
class StoredParameter:
    name: str
    type: str
    value: str


class FakeStore:
    def __init__(self, *parameters: StoredParameter) -> None:
        self.parameters = {p.name: p for p in parameters}
        self.reads: list[str] = []

    def get_parameter(self, name: str) -> StoredParameter:
        self.reads.append(name)
        try:
            return self.parameters[name]
        except KeyError:
            raise ApiError(f"Parameter {name} not found.", code="ParameterNotFound") from None


STORE = FakeStore(
    StoredParameter("/app/greeting", "String", "hello"),
    StoredParameter("/app/commands", "StringList", "ls,'echo a,b', date"),
    StoredParameter("/app/secret", "SecureString", "AQICAH..."),
)


def test_ssm_inside_a_command_line_is_resolved() -> None:
    inputs = {"runCommand": ["echo {{ssm:/app/greeting}}", "echo {{ ssm:/app/greeting }}!"],
              "workingDirectory": "/tmp/{{ssm:/app/greeting}}"}
    assert resolve_ssm_references(inputs, STORE) == {
        "runCommand": ["echo hello", "echo hello!"], "workingDirectory": "/tmp/hello"}


def test_a_string_list_that_is_a_whole_element_splits_into_elements() -> None:
    inputs = {"runCommand": ["pwd", " {{ssm:/app/commands}} ", "echo {{ssm:/app/greeting}}"]}
    assert resolve_ssm_references(inputs, STORE) == {
        "runCommand": ["pwd", "ls", "echo a,b", "date", "echo hello"]}


@pytest.mark.parametrize("inputs", [
    {"runCommand": ["echo {{ssm:/app/commands}}"]},
    {"runCommand": "{{ssm:/app/commands}}"},
])
def test_a_string_list_used_as_a_string_is_an_error(inputs: dict[str, Any]) -> None:
    with pytest.raises(SsmReferenceError) as caught:
        resolve_ssm_references(inputs, STORE)
    assert caught.value.message == ("SSM parameter /app/commands of type StringList cannot be used "
                                    "as a String")


def test_a_secure_string_is_refused() -> None:
    with pytest.raises(SsmReferenceError) as caught:
        resolve_ssm_references({"runCommand": ["echo {{ssm:/app/secret}}"]}, STORE)
    assert caught.value.message == "Parameters [/app/secret] of type SecureString are not supported"


def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(SsmReferenceError) as caught:
        resolve_ssm_references({"runCommand": ["echo {{ssm:/app/none}}"]}, STORE)
    assert caught.value.message == "Input contains invalid parameters [/app/none]"


def test_ssm_secure_and_text_without_references_are_not_read() -> None:
    store = FakeStore()
    inputs = {"sourceInfo": "{{ssm-secure:token}}", "runCommand": ["awk '{{print $1}}'"]}
    assert resolve_ssm_references(inputs, store) == inputs
    assert store.reads == []


# -- through the Command interpreter ----------------------------------------------------------

DOCUMENT = """\
schemaVersion: "2.2"
description: substitution as the agent does it
parameters:
  Name:
    type: String
    default: job
mainSteps:
  - action: aws:runShellScript
    name: run
    inputs:
      runCommand:
        - "lock=/var/run/{{ Name }}.$$.lock"
        - "awk '{{print $2}}' /etc/hosts"
        - "echo {{ssm:/app/greeting}}"
"""


def _run(text: str, store: FakeStore | None) -> tuple[Any, list[InvocationRequest]]:
    document = documents.load(text, source="doc.yaml")
    executor = MockExecutor()
    context = NodeContext(node_id="mi-00000000000000001", executor=executor, command_id="c",
                          parameter_store=store)
    result = asyncio.run(run_invocation(document, {"Name": "job"}, context))
    return result, executor.requests


def test_the_interpreter_hands_the_shell_the_document_text_and_resolved_ssm() -> None:
    result, requests = _run(DOCUMENT, STORE)
    assert result.status == "Success"
    script = requests[0].script or ""
    assert "lock=/var/run/job.$$.lock\n" in script
    assert "awk '{{print $2}}' /etc/hosts\n" in script
    assert "echo hello" in script


def test_a_secure_string_fails_the_step_with_the_agents_message() -> None:
    result, requests = _run(DOCUMENT.replace("/app/greeting", "/app/secret"), STORE)
    assert result.status == "Failed" and requests == []
    assert result.plugins[0].stderr == (
        "Parameters [/app/secret] of type SecureString are not supported\n")


def test_without_a_parameter_store_an_ssm_reference_fails_the_step() -> None:
    result, requests = _run(DOCUMENT, None)
    assert result.status == "Failed" and requests == []
    assert "has no Parameter Store" in result.plugins[0].stderr


def test_the_user_guide_example_runs_for_real(tmp_path: Path) -> None:
    path = tmp_path / "greet.yaml"
    path.write_text(
        'schemaVersion: "2.2"\ndescription: UG example\nmainSteps:\n'
        "  - action: aws:runShellScript\n    name: greet\n    inputs:\n      runCommand:\n"
        "        - echo {{ssm:/app/greeting}}\n"
        "        - echo 'pid marker $$'\n", encoding="utf-8")
    with Engine(home=tmp_path / "home") as engine:
        engine.parameters.put_parameter("/app/greeting", "hello world", type="String")
        handle = engine.send_command(str(path))
        result = handle.wait()
        node = result["InstanceIds"][0]
        invocation = engine.commands.get_command_invocation(handle.command_id, node)
    assert result["Status"] == "Success"
    assert invocation["StandardOutputContent"] == "hello world\npid marker $$\n"


# -- render_step_inputs: parameters and {{ssm:...}} in one pass -------------------------------


def _no_parameters(ref: Any) -> Any:
    return MISSING


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"runCommand": ["echo {{ssm:/app/greeting}}", "echo {{ ssm:/app/greeting }}!"],
      "workingDirectory": "/tmp/{{ssm:/app/greeting}}"},
     {"runCommand": ["echo hello", "echo hello!"], "workingDirectory": "/tmp/hello"}),
    ({"runCommand": ["pwd", " {{ssm:/app/commands}} ", "echo {{ssm:/app/greeting}}"]},
     {"runCommand": ["pwd", "ls", "echo a,b", "date", "echo hello"]}),
    ({"sourceInfo": "{{ssm-secure:token}}", "runCommand": ["awk '{{print $1}}'", "echo $$1"]},
     {"sourceInfo": "{{ssm-secure:token}}", "runCommand": ["awk '{{print $1}}'", "echo $$1"]}),
])
def test_render_step_inputs_resolves_as_the_agent_does(inputs: dict[str, Any],
                                                       expected: dict[str, Any]) -> None:
    assert render_step_inputs(inputs, _no_parameters, STORE) == expected


@pytest.mark.parametrize(("inputs", "message"), [
    ({"runCommand": ["echo {{ssm:/app/commands}}"]},
     "SSM parameter /app/commands of type StringList cannot be used as a String"),
    ({"runCommand": "{{ssm:/app/commands}}"},
     "SSM parameter /app/commands of type StringList cannot be used as a String"),
    ({"runCommand": ["echo {{ssm:/app/secret}}"]},
     "Parameters [/app/secret] of type SecureString are not supported"),
    ({"runCommand": ["echo {{ssm:/app/none}}"]}, "Input contains invalid parameters [/app/none]"),
])
def test_render_step_inputs_refuses_as_the_agent_does(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(SsmReferenceError) as caught:
        render_step_inputs(inputs, _no_parameters, STORE)
    assert caught.value.message == message


def test_text_a_value_brings_in_is_never_expanded() -> None:
    store = FakeStore(StoredParameter("/app/a", "String", "{{ssm:/app/greeting}} {{ P }} $1"),
                      *STORE.parameters.values())
    values = {"P": "{{ssm:/app/greeting}} {{ P }} $$"}

    def lookup(ref: Any) -> Any:
        return values.get(getattr(ref, "name", ""), MISSING)

    inputs = {"runCommand": ["echo {{ P }}|{{ssm:/app/a}}|{{ssm:/app/greeting}}"], "whole": "{{ P }}"}
    assert render_step_inputs(inputs, lookup, store) == {
        "runCommand": ["echo {{ssm:/app/greeting}} {{ P }} $|{{ssm:/app/greeting}} {{ P }} $1|hello"],
        "whole": "{{ssm:/app/greeting}} {{ P }} $$"}
    assert store.reads == ["/app/a", "/app/greeting"]


def test_render_step_inputs_without_a_store_refuses_a_reference() -> None:
    with pytest.raises(SsmReferenceError, match="no Parameter Store"):
        render_step_inputs({"runCommand": ["echo {{ssm:/app/greeting}}"]}, _no_parameters, None)
    assert render_step_inputs({"runCommand": ["echo hi"]}, _no_parameters, None) == {
        "runCommand": ["echo hi"]}

"""SendCommand on the local node: the bundled AWS-RunShellScript, exit codes, control flow,
preconditions, ENV_VAR interpolation, StringList splicing, output limits and parameter errors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services.command_models import CommandError
from ssm_local.grammar.errors import ParameterError

Run = Callable[..., dict[str, Any]]


def doc22(*steps: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schemaVersion": "2.2", "description": "test", "parameters": parameters or {},
            "mainSteps": list(steps)}


def shell(name: str, *lines: str, **inputs: Any) -> dict[str, Any]:
    return {"action": "aws:runShellScript", "name": name,
            "inputs": {"runCommand": list(lines), **inputs}}


def plugins(result: dict[str, Any]) -> list[dict[str, Any]]:
    (invocation,) = result["CommandInvocations"]
    return list(invocation["CommandPlugins"])


def test_bundled_run_shell_script_on_this_machine(run: Run, engine: Engine) -> None:
    result = run("AWS-RunShellScript", parameters={"commands": ["echo hello", "echo oops >&2"]})
    command = result["Command"]
    assert (command["Status"], command["StatusDetails"]) == ("Success", "Success")
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert command["InstanceIds"] == [engine.nodes.ensure_self().node_id]
    assert command["Parameters"] == {"commands": ["echo hello", "echo oops >&2"]}
    assert (command["TargetCount"], command["CompletedCount"], command["ErrorCount"]) == (1, 1, 0)
    (plugin,) = plugins(result)
    assert plugin["Name"] == "runShellScript"
    assert plugin["ResponseCode"] == 0
    assert plugin["Output"] == "hello\n\n----------ERROR-------\noops\n"


def test_environment_of_the_script(run: Run, engine: Engine) -> None:
    result = run("AWS-RunShellScript", parameters={
        "commands": ['echo "$SSM_COMMAND_ID $AWS_SSM_INSTANCE_ID $AWS_SSM_REGION_NAME"']})
    command = result["Command"]
    node = engine.nodes.ensure_self().node_id
    (plugin,) = plugins(result)
    assert plugin["Output"] == f"{command['CommandId']} {node} us-east-1\n"


@pytest.mark.parametrize(
    ("code", "first", "second", "invocation"),
    [
        (0, ("Success", "Success", 0), ("Success", "Success", 0), "Success"),
        (1, ("Failed", "Failed", 1), ("Success", "Success", 0), "Failed"),
        (168, ("Success", "Success", 168), ("Success", "Skipped", 0), "Success"),
        (169, ("Failed", "Failed", 169), ("Success", "Skipped", 0), "Failed"),
        (194, ("Failed", "Failed", 194), ("Success", "Skipped", 0), "Failed"),
    ],
)
def test_exit_codes(run: Run, write_doc: Callable[..., str], code: int, first: tuple[Any, ...],
                    second: tuple[Any, ...], invocation: str) -> None:
    path = write_doc(doc22(shell("first", f"exit {code}"), shell("second", "echo second")))
    result = run(path)
    one, two = plugins(result)
    assert (one["Status"], one["StatusDetails"], one["ResponseCode"]) == first
    assert (two["Status"], two["StatusDetails"], two["ResponseCode"]) == second
    assert result["CommandInvocations"][0]["Status"] == invocation
    if code == 194:
        assert "never reboots" in one["Output"]


@pytest.mark.parametrize(
    ("controls", "code", "expected"),
    [
        ({"onFailure": "exit"}, 1, ["Failed", "Skipped", "Success"]),
        ({"onFailure": "successAndExit"}, 1, ["Success", "Skipped", "Success"]),
        ({"onSuccess": "exit"}, 0, ["Success", "Skipped", "Success"]),
        ({}, 1, ["Failed", "Success", "Success"]),
    ],
)
def test_control_flow_inputs_and_finally_step(run: Run, write_doc: Callable[..., str],
                                              controls: dict[str, str], code: int,
                                              expected: list[str]) -> None:
    path = write_doc(doc22(
        shell("first", f"exit {code}", **controls),
        shell("middle", "echo middle"),
        shell("last", "echo finally", finallyStep=True),
    ))
    result = run(path)
    details = [p["StatusDetails"] for p in plugins(result)]
    assert details == expected
    assert plugins(result)[2]["Output"] == "finally\n"


def test_preconditions(run: Run, write_doc: Callable[..., str]) -> None:
    path = write_doc(doc22(
        {**shell("linux", "echo linux"), "precondition": {"StringEquals": ["platformType", "Linux"]}},
        {**shell("windows", "echo windows"),
         "precondition": {"StringEquals": ["platformType", "Windows"]}},
        {**shell("when_yes", "echo yes"), "precondition": {"StringEquals": ["{{ flag }}", "yes"]}},
        {**shell("when_no", "echo no"), "precondition": {"StringEquals": ["{{ flag }}", "no"]}},
        parameters={"flag": {"type": "String", "default": "yes"}},
    ))
    result = run(path)
    assert [(p["Name"], p["StatusDetails"]) for p in plugins(result)] == [
        ("linux", "Success"), ("windows", "Skipped"), ("when_yes", "Success"), ("when_no", "Skipped")]
    assert result["Command"]["Status"] == "Success"


def test_env_var_interpolation_keeps_values_as_data(run: Run, write_doc: Callable[..., str],
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    nasty = f'it\'s "quoted" $(touch {marker}) `touch {marker}` ; touch {marker}'
    path = write_doc(doc22(
        shell("show", 'printf "%s\\n" "$SSM_Message"'),
        parameters={"Message": {"type": "String", "interpolationType": "ENV_VAR"}},
    ))
    result = run(path, parameters={"Message": nasty})
    (plugin,) = plugins(result)
    assert plugin["Output"] == nasty + "\n"
    assert not marker.exists()


def test_string_list_is_spliced_into_run_command(run: Run, write_doc: Callable[..., str]) -> None:
    path = write_doc(doc22(
        shell("spliced", "echo first", "{{ commands }}", "echo last"),
        parameters={"commands": {"type": "StringList"}},
    ))
    result = run(path, parameters={"commands": ["echo a", "echo b"]})
    assert plugins(result)[0]["Output"] == "first\na\nb\nlast\n"


def test_output_is_truncated_in_the_api_and_kept_whole_in_the_store(
        run: Run, engine: Engine) -> None:
    result = run("AWS-RunShellScript", parameters={"commands": [
        "head -c 30000 /dev/zero | tr '\\0' o", "head -c 10000 /dev/zero | tr '\\0' e >&2"]})
    command_id = result["Command"]["CommandId"]
    node = engine.nodes.ensure_self().node_id
    invocation = engine.commands.get_command_invocation(command_id, node)
    assert invocation["StandardOutputContent"] == "o" * 24_000
    assert invocation["StandardErrorContent"] == "e" * 8_000
    (plugin,) = plugins(result)
    # The agent's TruncateOutput: both streams long, each keeps half the room and its marker.
    half = (2_500 - len("\n----------ERROR-------\n") - len("\n---Output truncated---")
            - len("\n---Error truncated----")) // 2
    assert plugin["Output"] == ("o" * half + "\n---Output truncated---\n----------ERROR-------\n"
                                + "e" * half + "\n---Error truncated----")
    assert len(plugin["Output"]) <= 2_500
    stdout, stderr = engine.commands.get_command_output(command_id, node)
    assert (stdout, stderr) == ("o" * 30_000, "e" * 10_000)


def test_a_bad_parameter_names_it_and_nothing_runs(engine: Engine, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ParameterError, match="parameter 'executionTimeout'"):
        engine.send_command("AWS-RunShellScript", parameters={
            "commands": [f"touch {marker}"], "executionTimeout": "0"})
    with pytest.raises(ParameterError, match="parameter 'nope' is not declared"):
        engine.send_command("AWS-RunShellScript", parameters={"commands": ["true"], "nope": "x"})
    assert engine.commands.list_commands()["Commands"] == []
    assert not marker.exists()


def test_a_bad_next_token_is_run_commands_own_error(engine: Engine) -> None:
    for call in (engine.commands.list_commands, engine.commands.list_command_invocations):
        with pytest.raises(CommandError) as info:
            call(next_token="garbage")
        assert (info.value.code, info.value.message) == (
            "InvalidNextToken", "The NextToken is not valid for this request.")


def test_timeout_kills_grandchildren(run: Run, write_doc: Callable[..., str],
                                     tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    path = write_doc(doc22(shell("sleepy", f"sleep 1000 & echo $! > {pid_file}", "wait",
                                 timeoutSeconds=5)))
    started = time.monotonic()
    result = run(path)
    assert time.monotonic() - started < 30
    (plugin,) = plugins(result)
    assert (plugin["Status"], plugin["StatusDetails"]) == ("TimedOut", "Execution Timed Out")
    assert result["Command"]["Status"] == "TimedOut"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return handle.read().split()[2] != "Z"

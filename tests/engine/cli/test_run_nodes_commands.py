"""``ssm-local run``, ``nodes`` and ``commands`` as a user runs them: exit codes, JSON shapes,
parameters from the command line, the per-node summary and ``commands show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine.cli import main

RUNBOOK = """\
schemaVersion: "0.3"
mainSteps:
  - name: wait
    action: aws:sleep
    inputs:
      Duration: PT1S
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = cli(capsys, "run", *args, "--output", "json", "--db", db)
    return code, json.loads(out)


def test_run_exit_codes_and_streamed_output(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=echo hi",
                         "--db", db)
    assert code == 0
    assert out == "hi\n"
    assert "Success (Success)" in err
    code, out, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=echo no; exit 3",
                         "--db", db)
    assert code == 1
    assert "runShellScript: Failed (Failed, code 3" in err


def test_run_json_shape(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = run_json(capsys, db, "AWS-RunShellScript", "-p", "commands=echo a",
                            "-p", "commands=echo b", "--comment", "two lines")
    assert code == 0
    command = result["Command"]
    assert set(command) >= {
        "CommandId", "DocumentName", "DocumentVersion", "Comment", "ExpiresAfter", "Parameters",
        "InstanceIds", "Targets", "RequestedDateTime", "Status", "StatusDetails",
        "MaxConcurrency", "MaxErrors", "TargetCount", "CompletedCount", "ErrorCount",
        "DeliveryTimedOutCount", "TimeoutSeconds"}
    assert command["Parameters"] == {"commands": ["echo a", "echo b"]}
    assert (command["Comment"], command["MaxConcurrency"], command["MaxErrors"]) == (
        "two lines", "50", "0")
    (invocation,) = result["CommandInvocations"]
    assert set(invocation) >= {"CommandId", "InstanceId", "InstanceName", "DocumentName",
                               "RequestedDateTime", "Status", "StatusDetails", "TraceOutput",
                               "CommandPlugins"}
    (plugin,) = invocation["CommandPlugins"]
    assert set(plugin) >= {"Name", "Status", "StatusDetails", "ResponseCode",
                           "ResponseStartDateTime", "ResponseFinishDateTime", "Output"}
    assert plugin["Output"] == "a\nb\n"


def test_parameters_json_and_bad_parameter(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = run_json(capsys, db, "AWS-RunShellScript",
                            "--parameters-json", '{"commands": ["echo $((1+2))"]}')
    assert code == 0
    assert result["CommandInvocations"][0]["CommandPlugins"][0]["Output"] == "3\n"
    code, _out, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=true",
                         "-p", "executionTimeout=abc", "--db", db)
    assert code == 1
    assert "parameter 'executionTimeout'" in err
    code, _out, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "oops", "--db", db)
    assert code == 2


def test_run_dispatches_on_schema_version(db: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A runbook (0.3) becomes an Automation execution, never a Command."""
    path = tmp_path / "runbook.yaml"
    path.write_text(RUNBOOK, encoding="utf-8")
    code, _out, _err = cli(capsys, "run", str(path), "--db", db)
    assert code == 0
    code, out, _ = cli(capsys, "commands", "list", "--output", "json", "--db", db)
    assert json.loads(out) == {"Commands": []}
    code, _out, _err = cli(capsys, "run", str(path), "--targets", "Key=tag:a,Values=b", "--db", db)
    assert code == 2


def test_nodes_targets_and_commands_show(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("web-1", "web-2", "db-1"):
        role = name.split("-")[0]
        code, out, _ = cli(capsys, "nodes", "add", name, "--local", "--tag", f"role={role}",
                           "--db", db)
        assert code == 0 and out.startswith(f"added {name} (mi-")
    code, out, _ = cli(capsys, "nodes", "list", "--output", "json", "--db", db)
    listed = json.loads(out)["InstanceInformationList"]
    assert [n["Name"] for n in listed][1:] == ["db-1", "web-1", "web-2"]
    assert all(n["InstanceId"].startswith("mi-") and len(n["InstanceId"]) == 20 for n in listed)
    code, result = run_json(capsys, db, "AWS-RunShellScript", "-p", "commands=echo $AWS_SSM_INSTANCE_ID",
                            "--targets", "Key=tag:role,Values=web")
    assert code == 0
    names = [i["InstanceName"] for i in result["CommandInvocations"]]
    assert sorted(names) == ["web-1", "web-2"]
    for invocation in result["CommandInvocations"]:
        assert invocation["CommandPlugins"][0]["Output"] == invocation["InstanceId"] + "\n"
    command_id = result["Command"]["CommandId"]
    assert result["Command"]["Targets"] == [{"Key": "tag:role", "Values": ["web"]}]

    code, out, _ = cli(capsys, "commands", "list", "--db", db)
    assert command_id in out
    code, out, _ = cli(capsys, "commands", "show", command_id, "--node", "web-2", "--db", db)
    assert code == 0
    assert "web-2: Success (Success)" in out and "web-1" not in out
    code, out, _ = cli(capsys, "commands", "show", command_id, "--output", "json", "--db", db)
    assert json.loads(out)["Command"]["CommandId"] == command_id
    code, out, _ = cli(capsys, "commands", "output", command_id, "--node", "web-1", "--db", db)
    assert out.startswith("mi-")

    code, out, _ = cli(capsys, "nodes", "remove", "db-1", "--db", db)
    assert code == 0
    code, out, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=true",
                         "--instance-ids", "db-1", "--db", db)
    assert code == 1 and "not a registered node" in err


def test_max_errors_from_the_command_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(4):
        cli(capsys, "nodes", "add", f"n{i}", "--local", "--tag", "fleet=a", "--db", db)
    code, result = run_json(capsys, db, "AWS-RunShellScript", "-p", "commands=exit 1",
                            "--targets", "Key=tag-key,Values=fleet", "--max-concurrency", "1",
                            "--max-errors", "1")
    assert code == 1
    details = [i["StatusDetails"] for i in result["CommandInvocations"]]
    assert details == ["Failed", "Failed", "Terminated", "Terminated"]
    assert result["Command"]["ErrorCount"] == 2


def test_ssh_nodes_from_the_command_line(db: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "id_test"
    key.write_text("not really a key\n", encoding="ascii")
    code, out, _ = cli(capsys, "nodes", "add", "box", "--ssh", "admin@[::1]:2222", "--key",
                       str(key), "--tag", "env=lab", "--accept-new-host-keys", "--db", db)
    assert code == 0 and "ssh admin@::1:2222" in out
    code, out, _ = cli(capsys, "nodes", "list", "--db", db)
    assert "box" in out and "env=lab" in out
    code, _out, err = cli(capsys, "nodes", "add", "box", "--local", "--db", db)
    assert code == 1 and "already exists" in err
    code, _out, err = cli(capsys, "nodes", "add", "bad", "--ssh", "admin@host:99999", "--db", db)
    assert code == 1 and "invalid port" in err
    code, out, _ = cli(capsys, "nodes", "list", "--output", "json", "--db", db)
    this = json.loads(out)["InstanceInformationList"][0]
    code, _out, err = cli(capsys, "nodes", "remove", this["InstanceId"], "--db", db)
    assert code == 1 and "cannot be removed" in err


def test_plugin_executor_nodes_from_the_command_line(db: str, tmp_path: Path, installed_plugin: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "plugin.log"
    code, out, _ = cli(capsys, "nodes", "add", "plugged", "--executor", installed_plugin,
                       "--option", f"log={log}", "--option", "greeting=hey", "--tag", "via=plugin",
                       "--db", db)
    assert code == 0 and out.startswith("added plugged (mi-") and "plugin recording)" in out
    code, out, _ = cli(capsys, "nodes", "list", "--db", db)
    assert "plugged" in out and "recording" in out and "via=plugin" in out
    code, result = run_json(capsys, db, "AWS-RunShellScript", "-p", "commands=echo hi",
                            "--targets", "Key=tag:via,Values=plugin")
    assert code == 0
    (invocation,) = result["CommandInvocations"]
    assert [p["Output"] for p in invocation["CommandPlugins"]] == ["hey from the plugin\n"]
    assert '"script": "echo hi"' in log.read_text(encoding="utf-8")
    code, _out, err = cli(capsys, "nodes", "add", "other", "--executor", "nope", "--db", db)
    assert code == 1 and "unknown executor 'nope'; valid executors: " in err
    code, _out, err = cli(capsys, "nodes", "add", "other", "--local", "--option", "a=b", "--db", db)
    assert code == 2 and "--option is for --executor" in err
    code, _out, err = cli(capsys, "nodes", "add", "other", "--executor", "mock", "--key", "k",
                          "--db", db)
    assert code == 2 and "are for --ssh" in err


def test_a_one_node_run_says_why_it_failed(db: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-dir"
    code, _, err = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=true",
                       "-p", f"workingDirectory={missing}", "--db", db)
    assert code == 1
    assert f"      ! working directory '{missing}' does not exist on the node" in err.splitlines()


def test_a_many_node_run_counts_the_reasons(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        cli(capsys, "nodes", "add", f"n{i}", "--local", "--tag", "fleet=b", "--db", db)
    code, out, _ = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=exit 1",
                       "--targets", "Key=tag-key,Values=fleet", "--max-concurrency", "1",
                       "--max-errors", "0", "--db", db)
    assert code == 1
    assert out.splitlines()[-1] == "not successful: Failed 1, Terminated 2"

"""One output vocabulary and one set of exit codes for every command: ``--output
json|yaml|text|table``, ``--query``, ``--cli-input-json``, the AWS CLI shorthand for
``--parameters``, flags refused for a document of the other kind, deprecated spellings, and
``docs/cli.md`` listing every command."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ssm_local.engine.cli import UsageError, build_parser, main
from ssm_local.engine.cli.common import parse_parameter_item, parse_parameters_text
from ssm_local.engine.cli.output import render, table
from ssm_local.engine.cli.reference import commands

ROOT = Path(__file__).resolve().parents[3]
COMMAND = [sys.executable, "-m", "ssm_local.engine.cli"]
RUNBOOK = 'schemaVersion: "0.3"\nmainSteps:\n  - name: wait\n    action: aws:sleep\n' \
          "    inputs:\n      Duration: PT0S\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: bad usage
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# -- renderers ---------------------------------------------------------------------------------

RESPONSE = {"Parameters": [{"Name": "/a", "Value": "x", "Version": 1, "Labels": ["live"]},
                           {"Name": "/b", "Value": "yy", "Version": 2}],
            "InvalidParameters": ["/m"]}


def test_text_is_the_aws_cli_text_form() -> None:
    out = io.StringIO()
    render("text", RESPONSE, "GetParameters", out)
    # keys sorted; a list of objects one line each with its key in capitals; nested lists after
    assert out.getvalue() == ("INVALIDPARAMETERS\t/m\n"
                              "PARAMETERS\t/a\tx\t1\n"
                              "LABELS\tlive\n"
                              "PARAMETERS\t/b\tyy\t2\n")
    out = io.StringIO()
    render("text", ["a", "b", 3, None, True], "X", out)
    assert out.getvalue() == "a\tb\t3\tNone\tTrue\n"


def test_table_is_boxed_and_titled() -> None:
    assert table({"Parameter": {"Name": "/a", "Version": 1}}, "GetParameter") == (
        "------------------------\n"
        "|     GetParameter     |\n"
        "|+--------------------+|\n"
        "||     Parameter      ||\n"
        "|+--------+-----------+|\n"
        "||  Name  |  Version  ||\n"
        "|+--------+-----------+|\n"
        "||  /a    |  1        ||\n"
        "|+--------+-----------+|\n")
    wide = table({"P": {"Name": "n", "Value": "v" * 50}}, "T", width=40)
    assert "||  Value  |  " + "v" * 50 in wide  # too wide for one row: key/value rows


# -- --output and --query on real commands -----------------------------------------------------

def test_param_get_forms_and_query(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in (("/a", "x"), ("/b", "y")):
        assert cli(capsys, "param", "put", name, value, "--type", "String", "--db", db)[0] == 0
    code, out, err = cli(capsys, "param", "get", "/a", "/nope", "--output", "json", "--db", db)
    body = json.loads(out)
    assert code == 0 and [p["Value"] for p in body["Parameters"]] == ["x"]
    assert body["InvalidParameters"] == ["/nope"] and err == ""
    code, out, _ = cli(capsys, "param", "get", "/a", "/b", "--output", "yaml", "--db", db)
    assert [p["Name"] for p in yaml.safe_load(out)["Parameters"]] == ["/a", "/b"]
    code, out, _ = cli(capsys, "param", "get", "/a", "/b", "--query", "Parameters[].Value",
                       "--output", "text", "--db", db)
    assert out == "x\ty\n"
    code, out, _ = cli(capsys, "param", "get", "/a", "--query", "Parameters[0].Name", "--db", db)
    assert out == '"/a"\n'  # --query alone implies json
    code, out, _ = cli(capsys, "param", "get", "/a", "--output", "table", "--db", db)
    assert out.splitlines()[1].strip("| ") == "GetParameters"
    code, _, err = cli(capsys, "param", "get", "/a", "--query", "[[", "--db", db)
    assert code == 2 and err.startswith("ssm-local: error: --query:") and len(err.splitlines()) == 1
    # GetParameter fails where GetParameters succeeds, as in AWS
    code, _, err = cli(capsys, "param", "get-parameter", "/nope", "--db", db)
    assert code == 1 and "ParameterNotFound" in err
    code, out, err = cli(capsys, "param", "get", "/nope", "--db", db)
    assert code == 0 and out == "" and err == "ssm-local: InvalidParameters: /nope\n"


def test_deprecated_spellings_warn_once(db: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "param", "put", "/a", "x", "--type", "String", "--db", db)
    code, out, err = cli(capsys, "param", "get", "/a", "--json", "--db", db)
    assert json.loads(out)["Parameters"][0]["Value"] == "x"
    assert err == "ssm-local: warning: --json is deprecated; use --output json\n"
    code, out, err = cli(capsys, "docs", "get", "AWS-RunShellScript", "--format", "YAML",
                         "--db", db)
    assert out.startswith("schemaVersion:") and "use --document-format" in err
    code, out, _ = cli(capsys, "docs", "get", "AWS-RunShellScript", "--document-format", "YAML",
                       "--db", db)
    assert out.startswith("schemaVersion:")
    code, out, err = cli(capsys, "validate", "AWS-RunShellScript", "--format", "text")
    assert code == 0 and "1 document checked" in out and "deprecated" in err
    code, out, err = cli(capsys, "graph", "AWS-RunShellScript", "--format", "mermaid")
    assert out.startswith("flowchart") and "use --graph-format" in err
    code, out, _ = cli(capsys, "graph", "AWS-RunShellScript", "--output", "json")
    assert json.loads(out) == {"Steps": ["runShellScript"], "Edges": []}


# -- --parameters and -p -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("commands=true", {"commands": "true"}),
    ("InstanceId=a,b", {"InstanceId": ["a", "b"]}),
    ("InstanceId=[a,b]", {"InstanceId": ["a", "b"]}),
    ("InstanceId=[a]", {"InstanceId": ["a"]}),
    ("ids=[]", {"ids": []}),
    ("commands=ls,InstanceId=x", {"commands": "ls", "InstanceId": "x"}),
    ("a=b,c,d=e,f", {"a": ["b", "c"], "d": ["e", "f"]}),
    ("commands='echo a,b'", {"commands": "echo a,b"}),
    ("commands=echo a\\,b", {"commands": "echo a,b"}),
    ("commands=echo a=b", {"commands": "echo a=b"}),
    ("empty=", {"empty": ""}),
    (' {"commands": ["x"], "n": 2}', {"commands": ["x"], "n": 2}),
])
def test_parameters_shorthand(text: str, expected: dict[str, Any]) -> None:
    assert parse_parameters_text(text) == expected


@pytest.mark.parametrize("text", ["=x", "commands", "a=[x", "a='x", "{not json", '["a"]'])
def test_parameters_shorthand_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--parameters"):
        parse_parameters_text(text)


@pytest.mark.parametrize(("item", "expected"), [
    ("commands=echo a", ("commands", "echo a")),
    ("InstanceId=a,b", ("InstanceId", ["a", "b"])),
    ("x=[a]", ("x", ["a"])),
    ("x='a,b'", ("x", "a,b")),
    ("x=", ("x", "")),
])
def test_one_parameter_item(item: str, expected: tuple[str, Any]) -> None:
    assert parse_parameter_item(item) == expected


def test_run_parameters_shorthand_and_cli_input_json(db: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "run", "AWS-RunShellScript", "--parameters", "commands=true",
                       "--output", "json", "--query", "Command.Parameters", "--db", db)
    assert code == 0 and json.loads(out) == {"commands": ["true"]}
    code, out, _ = cli(capsys, "run", "AWS-RunShellScript", "--parameters",
                       "commands=[echo a,echo b]", "workingDirectory=/tmp", "--output", "json",
                       "--query", "Command.Parameters", "--db", db)
    assert json.loads(out) == {"commands": ["echo a", "echo b"], "workingDirectory": ["/tmp"]}
    code, out, _ = cli(capsys, "run", "AWS-RunShellScript", "-p", "commands=echo 1,echo 2",
                       "--output", "json", "--query",
                       "CommandInvocations[0].CommandPlugins[0].Output", "--db", db)
    assert json.loads(out) == "1\n2\n"
    request = {"DocumentName": "AWS-RunShellScript", "Parameters": {"commands": ["echo in"]},
               "MaxConcurrency": "2", "Comment": "from json"}
    code, out, _ = cli(capsys, "run", "--cli-input-json", json.dumps(request), "--comment", "cli",
                       "--output", "json", "--query", "Command.[MaxConcurrency,Comment]",
                       "--db", db)
    assert code == 0 and json.loads(out) == ["2", "cli"]  # the command line wins
    code, _, err = cli(capsys, "run", "--cli-input-json", '{"DocumentNam": "x"}', "--db", db)
    assert code == 2 and "unknown member 'DocumentNam'" in err


# -- exit codes --------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "flag", "kind"), [
    (["AWS-RunShellScript", "-p", "commands=true", "--mode", "Interactive"], "--mode", "Command"),
    (["AWS-RunShellScript", "-p", "commands=true", "--attachments", "/tmp"], "--attachments",
     "Command"),
    (["{runbook}", "--targets", "Key=tag:a,Values=b"], "--targets", "Automation"),
    (["{runbook}", "--max-concurrency", "2"], "--max-concurrency", "Automation"),
    (["{runbook}", "--timeout", "60"], "--timeout", "Automation"),
])
def test_flags_of_the_other_kind_are_refused(argv: list[str], flag: str, kind: str, db: str,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    runbook = tmp_path / "runbook.yaml"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    argv = [str(runbook) if arg == "{runbook}" else arg for arg in argv]
    code, out, err = cli(capsys, "run", *argv, "--db", db)
    assert code == 2 and out == ""
    assert err.startswith(f"ssm-local: error: {flag} is for ") and f"{kind} document" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "code"), [
    (["run", "no/such/file.yaml"], 2),
    (["run", "missing.json"], 2),
    (["validate", "missing.json"], 2),
    (["run", "NoSuchDocument"], 1),  # InvalidDocument: the request failed
    (["run"], 2),
    (["param", "get", "/x", "--bogus"], 2),
    (["param", "get-parameter", "/x"], 1),
])
def test_exit_codes(argv: list[str], code: int, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    found, _, err = cli(capsys, *argv, "--db", db) if argv[0] != "validate" else cli(capsys, *argv)
    assert found == code
    assert "Traceback" not in err


# -- every command: --output, --query, docs/cli.md ---------------------------------------------

def _leaves() -> list[tuple[str, argparse.ArgumentParser]]:
    return [(name, parser) for name, _, parser in commands(build_parser())]


def test_every_command_takes_output_and_query_and_is_documented() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    leaves = _leaves()
    assert len(leaves) > 20
    for name, parser in leaves:
        flags = {option for action in parser._actions for option in action.option_strings}
        assert {"--output", "--query"} <= flags, name
        output = next(a for a in parser._actions if "--output" in a.option_strings)
        assert tuple(output.choices or ()) == ("json", "yaml", "text", "table"), name
        assert f"### `ssm-local {name}`" in reference, f"{name} is missing from docs/cli.md"


def test_the_reference_in_docs_cli_md_is_the_parser_s() -> None:
    """docs/cli.md's generated part is what the parser says today (regenerate it with
    ``python -m ssm_local.engine.cli.reference``)."""
    from ssm_local.engine.cli.reference import BEGIN, END, markdown

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    generated = text.partition(BEGIN)[2].partition(END)[0]
    assert generated.strip() == markdown().strip(), \
        "docs/cli.md is stale: run python -m ssm_local.engine.cli.reference"


def test_output_and_query_in_real_processes(tmp_path: Path) -> None:
    env = {**os.environ, "SSM_LOCAL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("SSM_LOCAL_DB", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*COMMAND, *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)

    done = run("run", "AWS-RunShellScript", "--parameters", "commands=echo hi", "--output", "text",
               "--query", "CommandInvocations[].CommandPlugins[].[Name,Status,Output]")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "runShellScript\tSuccess\thi\n\n"
    done = run("validate", "missing.yaml", "--output", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("ssm-local: error: missing.yaml") and "Traceback" not in done.stderr
    done = run("run", "AWS-RunShellScript", "-p", "commands=true", "--mode", "Auto")
    assert done.returncode == 2 and done.stderr.count("\n") == 1

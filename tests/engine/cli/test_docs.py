"""``ssm-local docs ...`` end to end through ``ssm_local.engine.cli.main`` on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssm_local.engine.cli import main

DOC = {
    "schemaVersion": "2.2",
    "description": "hello",
    "mainSteps": [{"action": "aws:runShellScript", "name": "hi",
                   "inputs": {"runCommand": ["echo hi"]}}],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_docs_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'docs.db'}"
    first = tmp_path / "hello.json"
    first.write_text(json.dumps(DOC))
    second = tmp_path / "hello.yaml"
    second.write_text("schemaVersion: '2.2'\ndescription: hello again\nmainSteps:\n"
                      "  - action: aws:runShellScript\n    name: hi\n"
                      "    inputs:\n      runCommand: [echo hi again]\n")
    code, out, _ = run(capsys, "docs", "create", "Hello", str(first), "--db", db)
    assert code == 0 and "version 1" in out
    code, out, _ = run(capsys, "docs", "update", "Hello", str(second), "--json", "--db", db)
    assert json.loads(out)["DocumentDescription"]["DocumentVersion"] == "2"
    assert run(capsys, "docs", "set-default", "Hello", "2", "--db", db)[0] == 0
    code, out, _ = run(capsys, "docs", "get", "Hello", "--db", db)
    assert "hello again" in out
    code, out, _ = run(capsys, "docs", "versions", "Hello", "--db", db)
    assert out.splitlines()[0].startswith("2") and "(default)" in out
    code, out, _ = run(capsys, "docs", "list", "--owner", "Self", "--db", db)
    assert out.split() [0] == "Hello"
    code, out, _ = run(capsys, "docs", "list", "--db", db)
    assert "AWS-RunShellScript" in out
    code, out, _ = run(capsys, "docs", "describe", "AWS-RunShellScript", "--json", "--db", db)
    assert json.loads(out)["Document"]["Owner"] == "Amazon"
    code, _, err = run(capsys, "docs", "create", "Hello", str(first), "--db", db)
    assert code == 1 and "DocumentAlreadyExists" in err
    assert run(capsys, "docs", "delete", "Hello", "--db", db)[0] == 0
    code, _, err = run(capsys, "docs", "get", "Hello", "--db", db)
    assert code == 1 and "InvalidDocument" in err
    code, _, err = run(capsys, "docs", "create", "X1", str(tmp_path / "none.json"), "--db", db)
    assert code == 2

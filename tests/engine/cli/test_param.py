"""``ssm-local param ...`` end to end through ``ssm_local.engine.cli.main`` on a SQLite store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ssm_local.engine.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_param_commands(db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "param", "put", "/app/url", "https://x", "--type", "String", "--db", db)[1] == (
        "/app/url: version 1 (Standard)\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))
    code, out, err = run(capsys, "param", "put", "/app/pw", "-", "--type", "SecureString",
                         "--tags", "team=core", "--db", db)
    assert code == 0 and "from-stdin" not in out + err
    assert run(capsys, "param", "get", "/app/pw", "--with-decryption", "--db", db)[1] == "from-stdin\n"
    code, out, _ = run(capsys, "param", "get-parameter", "/app/url", "--output", "json", "--db", db)
    body = json.loads(out)
    assert body["Parameter"]["Value"] == "https://x" and body["Parameter"]["Version"] == 1
    code, _, err = run(capsys, "param", "put", "/app/url", "y", "--db", db)
    assert code == 1 and "ParameterAlreadyExists" in err and "Traceback" not in err
    run(capsys, "param", "put", "/app/url", "y", "--overwrite", "--db", db)
    code, out, _ = run(capsys, "param", "label", "/app/url", "live", "--version", "1", "--db", db)
    assert code == 0
    assert run(capsys, "param", "get", "/app/url:live", "--db", db)[1] == "x\n".replace("x", "https://x")
    code, out, _ = run(capsys, "param", "history", "/app/url", "--json", "--db", db)
    assert [h["Labels"] for h in json.loads(out)["Parameters"]] == [["live"], []]
    code, out, _ = run(capsys, "param", "get-by-path", "/app", "--json", "--max-results", "1", "--db", db)
    page = json.loads(out)
    assert len(page["Parameters"]) == 1 and "NextToken" in page
    code, out, _ = run(capsys, "param", "describe", "--filters", "Key=Type,Values=SecureString", "--db", db)
    assert "/app/pw" in out and "/app/url" not in out
    code, out, _ = run(capsys, "param", "tags", "/app/pw", "--json", "--db", db)
    assert json.loads(out) == {"TagList": [{"Key": "team", "Value": "core"}]}
    # GetParameters succeeds and lists a missing name in InvalidParameters, as AWS does
    code, _, err = run(capsys, "param", "get", "/app/url", "/missing", "--db", db)
    assert code == 0 and "/missing" in err
    assert run(capsys, "param", "delete", "/app/url", "/app/pw", "--db", db)[0] == 0
    code, _, err = run(capsys, "param", "delete", "/app/url", "--db", db)
    assert code == 1 and "ParameterNotFound" in err
    code, _, err = run(capsys, "param", "describe", "--filters", "Option=Equals", "--db", db)
    assert code == 2 and "no Key" in err


def test_db_from_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SSM_LOCAL_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert run(capsys, "param", "put", "p", "v", "--type", "String")[0] == 0
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("SSM_LOCAL_DB")
    assert run(capsys, "param", "put", "p", "v", "--type", "String")[0] == 0
    assert (tmp_path / "home" / "store.db").exists()

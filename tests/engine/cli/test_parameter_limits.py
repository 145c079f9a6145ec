"""The issue's cases as a user types them: ``run DOC -p 'Message={{x}}$(...)'`` is refused by the
parameter's allowedPattern, and ``validate`` / ``run`` end promptly on a backtracking pattern."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ssm_local.documents import patterns
from ssm_local.engine.cli import main

EVIL = "^(a|a)+$"


def _document(tmp_path: Path, pattern: str, default: str | None = None) -> Path:
    message: dict[str, str] = {"type": "String", "allowedPattern": pattern}
    if default is not None:
        message["default"] = default
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({
        "schemaVersion": "2.2", "description": "echo", "parameters": {"Message": message},
        "mainSteps": [{"action": "aws:runShellScript", "name": "echo",
                       "inputs": {"runCommand": ["echo {{ Message }}"]}}]}), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSM_LOCAL_DB", raising=False)
    monkeypatch.setattr(patterns, "PATTERN_TIMEOUT_SECONDS", 0.2)
    return tmp_path / "home"


def test_run_refuses_a_template_value_that_breaks_the_pattern(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _document(tmp_path, "^[a-z ]*$")
    marker = tmp_path / "pwned"
    assert main(["run", str(path), "-p", f"Message={{{{x}}}}$(touch {marker})"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"ssm-local: InvalidParameters: parameter 'Message' value '{{{{x}}}}$(touch {marker})' "
        "does not match the allowed pattern '^[a-z ]*$'")
    assert not marker.exists()


@pytest.mark.timeout(60)
def test_run_ends_promptly_on_a_backtracking_pattern(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _document(tmp_path, EVIL)
    started = time.monotonic()
    assert main(["run", str(path), "-p", "Message=" + "a" * 40 + "!"]) == 1
    assert time.monotonic() - started < 20
    assert capsys.readouterr().err.strip() == (
        "ssm-local: InvalidParameters: parameter 'Message' could not be checked against the "
        "allowed pattern '^(a|a)+$': the match took longer than 0.2 s")


@pytest.mark.timeout(60)
def test_validate_ends_promptly_on_a_backtracking_pattern(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _document(tmp_path, EVIL, default="a" * 40 + "!")
    assert main(["validate", str(path)]) == 0  # a warning: the document itself is valid
    out = capsys.readouterr().out
    assert "warning PatternTimeout parameter 'Message': default could not be checked" in out

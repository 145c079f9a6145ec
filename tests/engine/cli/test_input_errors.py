"""Inputs that used to end in a Python traceback end in one line with a project error code and
exit 1 (the request failed) or 2 (bad usage): huge integers, nested NextTokens, bytes that are
not UTF-8 in argv and on standard input, lone surrogates, stores that cannot be created, files
too large to read."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssm_local.engine import Engine, wire
from ssm_local.engine.cli import main
from ssm_local.grammar.errors import ApiError, ParameterError
from tests.peak import run_measured

COMMAND = [sys.executable, "-m", "ssm_local.engine.cli"]
BIG = "9" * 5000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSM_LOCAL_DB", raising=False)
    return tmp_path / "home"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and everything printed (standard output, then standard error)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


def process(argv: list[str | bytes], home: Path, stdin: bytes = b"") -> tuple[int, str]:
    """Exit code and everything printed (standard output, then standard error)."""
    done = subprocess.run([*COMMAND, *argv], input=stdin, capture_output=True, timeout=120,
                          env={**os.environ, "SSM_LOCAL_HOME": str(home)}, check=False)
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    return done.returncode, done.stdout.decode("utf-8", "replace") + err


def _nested_token() -> str:
    return base64.urlsafe_b64encode(b"[" * 100_000).decode("ascii")


@pytest.mark.parametrize("argv, code, message", [
    (["validate", "{doc}"], 1, "DocumentSyntaxError an integer has 5000 digits"),
    (["run", "AWS-RunShellScript", "--parameters-json", f'{{"commands": {BIG}}}'], 2,
     "ssm-local: error: --parameters-json: not JSON: an integer has 5000 digits"),
    (["run", "AWS-RunShellScript", "--parameters-json", '{"commands": ["\\ud800"]}'], 2,
     "ssm-local: error: --parameters-json: a string holds a lone surrogate (U+D800)"),
    (["run", "AWS-RunShellScript", "--parameters-json", "[" * 100_000], 2,
     "ssm-local: error: --parameters-json: JSON nested too deeply"),
    (["param", "get", "/p:" + BIG], 1,
     "ssm-local: ValidationException: Version 999999999999999999999999999999... is not valid"),
    (["param", "get", "/p:99999999999999999999"], 1, "ValidationException"),
    (["param", "get-by-path", "/", "--next-token", _nested_token()], 1,
     "ssm-local: InvalidNextToken: The NextToken is not valid for this request."),
    (["param", "get", "/x", "--db", "/proc/no/such/store.db"], 1,
     "ssm-local: StoreUnavailable: cannot create the store directory /proc/no"),
])
def test_one_line_errors(argv: list[str], code: int, message: str, home: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "big.yaml"
    doc.write_text('schemaVersion: "2.2"\ndescription: d\nmainSteps:\n- action: aws:runShellScript\n'
                   f"  name: a\n  inputs:\n    runCommand: [{BIG}]\n", encoding="utf-8")
    exit_code, printed = cli(capsys, *[arg.replace("{doc}", str(doc)) for arg in argv])
    assert exit_code == code
    assert message in printed


def test_argv_that_is_not_utf8(home: Path) -> None:
    assert process([b"param", b"get", b"/p\xff"], home) == (
        2, "ssm-local: error: argument 3 is not UTF-8 text (byte 0xFF)\n")
    code, err = process([b"param", b"put", b"/x", b"\xed\xa0\x80", b"--type", b"String"], home)
    assert (code, err) == (2, "ssm-local: error: argument 4 is not UTF-8 text (byte 0xED)\n")


@pytest.mark.parametrize("argv, message", [
    (["run", "-"], "ssm-local: error: input is not UTF-8 text (invalid byte 0xFF at offset 0)\n"),
    (["validate", "-"], "<stdin>: error DocumentSyntaxError content is not UTF-8 text"),
    (["docs", "create", "d", "-"], "ssm-local: error: - is not UTF-8 text"),
])
def test_stdin_that_is_not_utf8(argv: list[str | bytes], message: str, home: Path) -> None:
    code, printed = process(argv, home, stdin=b"\xff\xfe")
    assert code in (1, 2)
    assert message in printed


def test_a_param_put_value_from_stdin_that_is_not_utf8(home: Path) -> None:
    code, err = process(["param", "put", "/x", "-", "--type", "String"], home, stdin=b"ab\xff")
    assert code in (1, 2)
    assert err.startswith("ssm-local: ")


def test_a_store_home_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, err = process(["param", "get", "/x"], blocker)
    assert (code, err) == (1, f"ssm-local: StoreUnavailable: cannot create the store directory "
                              f"{blocker}: File exists\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_store_home_under_a_directory_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        code, err = process(["param", "get", "/x"], locked / "home")
    finally:
        locked.chmod(0o700)
    assert code == 1
    assert err == (f"ssm-local: StoreUnavailable: cannot create the store directory "
                   f"{locked / 'home'}: Permission denied\n")


def test_run_of_a_huge_file_checks_its_size_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # 300 MB of real bytes on disk would be slow; the size is what counts
        handle.truncate(300 * 1024 * 1024)
    code, peak, err = run_measured(
        ["run", str(big)], {**{k: v for k, v in os.environ.items() if k != "SSM_LOCAL_DB"},
                            "SSM_LOCAL_HOME": str(tmp_path / "home")})
    assert code == 1, err
    assert "MaxDocumentSizeExceeded: document content is 314572800 bytes" in err
    assert peak < 250 * 1024 * 1024, peak  # the interpreter, not the file


def test_a_lone_surrogate_is_refused_at_input_and_never_stored(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path / 's.db'}", home=tmp_path / "home") as engine:
        with pytest.raises(ApiError) as caught:
            engine.parameters.put_parameter("/x", "a\ud800", type="String")
        assert caught.value.code == "ValidationException"
        assert "lone surrogate (U+D800)" in caught.value.message
        with pytest.raises(ParameterError) as refused:
            engine.send_command("AWS-RunShellScript", parameters={"commands": ["echo \udcff"]})
        assert refused.value.code == "InvalidParameters"
        assert engine.commands.list_commands()["Commands"] == []


def test_parse_json_and_tokens() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        wire.parse_json("[" * 100_000)
    with pytest.raises(wire.InvalidNextToken):
        wire.decode_token("k", _nested_token())
    with pytest.raises(wire.InvalidNextToken):
        wire.decode_token("k", "A" * 100_000)
    assert wire.parse_json('{"a": [1, "é"]}') == {"a": [1, "é"]}


@pytest.mark.parametrize("request_json, message", [
    ('{"DocumentName": "AWS-RunShellScript", "TimeoutSeconds": "abc"}',
     "Invalid type for parameter TimeoutSeconds, value: abc"),
    ('{"DocumentName": "AWS-RunShellScript", "TimeoutSeconds": 45.5}',
     "Invalid type for parameter TimeoutSeconds, value: 45.5"),
    ('{"DocumentName": 5}', "Invalid type for parameter DocumentName, value: 5"),
    ('{"DocumentName": "AWS-RunShellScript", "Comment": null}',
     "Invalid type for parameter Comment, value: None"),
    ('{"DocumentName": "AWS-RunShellScript", "DocumentVersion": 1}',
     "Invalid type for parameter DocumentVersion, value: 1"),
])
def test_cli_input_json_members_are_checked_against_the_api_model(
        request_json: str, message: str, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each member has the type botocore's SSM model gives it, as the AWS CLI checks it."""
    code, printed = cli(capsys, "run", "--cli-input-json", request_json)
    assert code == 2
    assert printed.startswith("ssm-local: error: --cli-input-json: ") and message in printed


def test_a_usage_error_never_shows_a_store_password(home: Path) -> None:
    code, printed = process(["--db", "postgresql://u:secretpw@127.0.0.1:1/x", "param", "get", "/a"],
                            home)
    assert code == 2
    assert "secretpw" not in printed and "u:***@127.0.0.1" in printed


def test_validate_names_the_real_size_and_checks_the_other_files(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(2_000_000_000)
    broken = tmp_path / "broken.yaml"
    broken.write_text("schemaVersion: '2.2'\n", encoding="utf-8")
    code, printed = cli(capsys, "validate", str(huge), str(broken))
    assert code == 1
    assert "MaxDocumentSizeExceeded document content is 2000000000 bytes" in printed
    assert "2 documents checked, 0 valid, 2 with errors" in printed


def test_a_document_from_a_pipe_is_read(tmp_path: Path, home: Path) -> None:
    """``ssm-local validate <(...)`` and ``run <(...)``: a pipe is a file to read, not missing."""
    document = ("schemaVersion: '2.2'\ndescription: d\nmainSteps:\n- action: aws:runShellScript\n"
                "  name: s\n  inputs:\n    runCommand: [echo from-a-pipe]\n")
    for command in ("validate", "run"):
        done = subprocess.run(["bash", "-c", f'"$@" {command} <(printf %s "$DOC")', "-", *COMMAND],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "SSM_LOCAL_HOME": str(home), "DOC": document})
        assert done.returncode == 0, done.stderr
    assert "from-a-pipe" in done.stdout

"""``ssm-local param put NAME VALUE`` with the value kept off the command line, through the real
process: ``-`` reads standard input, ``file://PATH`` reads a file as the AWS CLI does (whole, a
final newline kept, ``~`` and ``$VAR`` expanded), ``fileb://`` and unreadable files are usage
errors (exit 2, one line), and ``https://...`` is a plain value (the AWS CLI v2 fetches no URLs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssm_local.engine import Engine

COMMAND = [sys.executable, "-m", "ssm_local.engine.cli"]
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {**os.environ, "SSM_LOCAL_HOME": str(tmp_path / "home"), "HOME": str(tmp_path),
               "SECRETS_DIR": str(tmp_path / "secrets"),
               "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    environ.pop("SSM_LOCAL_DB", None)
    return environ


def put(env: dict[str, str], name: str, value: str, stdin: bytes | None = None,
        ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*COMMAND, "param", "put", name, value, "--type", "SecureString"],
                          input=stdin, capture_output=True, env=env, timeout=60, check=False)


def stored(env: dict[str, str], name: str) -> str:
    with Engine(home=env["SSM_LOCAL_HOME"], environ={}) as engine:
        return engine.parameters.get_parameter(name, with_decryption=True).value


def test_values_from_stdin_and_files(tmp_path: Path, env: dict[str, str]) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "key.pem").write_text(PEM, encoding="utf-8")
    (secrets / "crlf.txt").write_bytes(b"line1\r\nline2\r\n")
    (tmp_path / "home-secret").write_text("from ~\n\n", encoding="utf-8")

    cases = [
        ("/s/stdin", "-", b"s3cret\n", "s3cret"),  # one final newline dropped (echo's)
        ("/s/stdin-lines", "-", b"a\nb\n\n", "a\nb\n"),
        ("/s/pem", f"file://{secrets / 'key.pem'}", None, PEM),  # kept as written
        ("/s/vars", "file://$SECRETS_DIR/key.pem", None, PEM),
        ("/s/home", "file://~/home-secret", None, "from ~\n\n"),
        ("/s/crlf", f"file://{secrets / 'crlf.txt'}", None, "line1\nline2\n"),  # text mode
        ("/s/url", "https://example.com/secret", None, "https://example.com/secret"),
    ]
    for name, arg, stdin, _ in cases:
        done = put(env, name, arg, stdin)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{name}: version 1 (Standard)\n".encode()
    for name, _, _, expected in cases:
        assert stored(env, name) == expected


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("file://{tmp}/missing.txt",
         "Unable to load paramfile file://{tmp}/missing.txt: [Errno 2] No such file or directory"),
        ("file://{tmp}", "Unable to load paramfile file://{tmp}: [Errno 21] Is a directory"),
        ("file://{tmp}/latin1.txt", "text contents could not be decoded"),
        ("fileb://{tmp}/latin1.txt", "fileb:// gives binary content and a parameter value is text"),
    ],
)
def test_unreadable_value_files_are_usage_errors(
    tmp_path: Path, env: dict[str, str], arg: str, message: str
) -> None:
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9".encode("latin-1"))
    done = put(env, "/s/bad", arg.format(tmp=tmp_path))
    err = done.stderr.decode()
    assert done.returncode == 2
    assert err.startswith("ssm-local: error: Error parsing parameter 'VALUE': ")
    assert message.format(tmp=tmp_path) in err
    assert err.count("\n") == 1 and "Traceback" not in err

"""Each command imports only what it uses: ``--help`` and ``--version`` nearly nothing, ``validate``
and ``graph`` no store, SSH or AWS SDK (and ``validate`` of a Command document no networkx: only
an Automation step graph needs it), ``param get`` no document model, a run on local nodes no
asyncssh, and only an AWS-calling action loads boto3/botocore.

Each case runs the command in a fresh interpreter (``main(argv)``, as the ``ssm-local`` script
does) and reports which of the watched modules ended up in ``sys.modules``; modules a bare
interpreter already has in this environment are not held against the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

STORE = ("sqlalchemy", "sqlmodel", "cryptography")
SSH = ("asyncssh",)
AWS = ("boto3", "botocore")
DOCUMENT_MODEL = ("ssm_local.documents", "networkx", "jsonschema", "lark", "yaml", "regex")
NOTHING = (*STORE, *SSH, *AWS, *DOCUMENT_MODEL, "asyncio", "ssm_local.engine.facade")
WATCHED = sorted({*NOTHING, "importlib.metadata"})

PROBE = """
import contextlib, io, json, sys
from ssm_local.engine.cli import main
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        code = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
json.dump({"code": code, "modules": [m for m in json.loads(sys.argv[2]) if m in sys.modules]},
          sys.stderr)
"""

COMMAND_DOCUMENT = (
    'schemaVersion: "2.2"\ndescription: d\nmainSteps:\n  - action: aws:runShellScript\n'
    "    name: s\n    inputs: {runCommand: [echo hi]}\n"
)
RUNBOOK = (
    'schemaVersion: "0.3"\nmainSteps:\n  - name: s\n    action: aws:sleep\n'
    "    inputs: {Duration: PT0S}\n"
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    directory = tmp_path_factory.mktemp("imports")
    (directory / "command.yaml").write_text(COMMAND_DOCUMENT, encoding="utf-8")
    (directory / "runbook.yaml").write_text(RUNBOOK, encoding="utf-8")
    env = {**os.environ, "SSM_LOCAL_HOME": str(directory / "home"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("SSM_LOCAL_DB", None)
    subprocess.run([sys.executable, "-m", "ssm_local.engine.cli", "param", "put", "/fast/start",
                    "value", "--type", "String"], env=env, cwd=directory, check=True,
                   capture_output=True, timeout=120)
    return directory, env


def imported(argv: list[str], workspace: tuple[Path, dict[str, str]]) -> tuple[int, set[str]]:
    directory, env = workspace
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(WATCHED)],
                          env=env, cwd=directory, capture_output=True, text=True, timeout=120,
                          check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


@pytest.fixture(scope="module")
def baseline(workspace: tuple[Path, dict[str, str]]) -> set[str]:
    """Watched modules a bare interpreter already imports here (a site hook, say)."""
    directory, env = workspace
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; print(*[m for m in {WATCHED!r} if m in sys.modules])"],
        env=env, cwd=directory, capture_output=True, text=True, timeout=60, check=True)
    return set(done.stdout.split())


CASES = [
    (["--help"], (*NOTHING, "importlib.metadata")),
    (["run", "--help"], (*NOTHING, "importlib.metadata")),
    (["--version"], NOTHING),
    (["validate", "command.yaml"],
     (*STORE, *SSH, *AWS, "asyncio", "ssm_local.engine.facade", "networkx")),
    (["graph", "command.yaml"], (*STORE, *SSH, *AWS, "asyncio", "ssm_local.engine.facade")),
    (["param", "get", "/fast/start"], (*SSH, *AWS, *DOCUMENT_MODEL)),
    (["run", "AWS-RunShellScript", "-p", "commands=true"], (*SSH, *AWS, "networkx")),
    (["run", "runbook.yaml"], (*SSH, *AWS)),
]


@pytest.mark.parametrize(("argv", "forbidden"), CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_a_command_imports_only_what_it_uses(
        argv: list[str], forbidden: tuple[str, ...], workspace: tuple[Path, dict[str, str]],
        baseline: set[str]) -> None:
    code, modules = imported(argv, workspace)
    assert code == 0
    assert sorted((modules & set(forbidden)) - baseline) == []


def test_the_probe_sees_imports(workspace: tuple[Path, dict[str, str]]) -> None:
    """The probe is not blind: a runbook does load the store, the document model and its graph."""
    code, modules = imported(["run", "runbook.yaml"], workspace)
    assert code == 0
    assert {"sqlalchemy", "networkx", "ssm_local.documents"} <= modules

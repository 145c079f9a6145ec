"""``ssm-local validate`` and ``ssm-local graph`` as a user runs them: output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ssm_local.engine.cli import main

GOLDEN = Path(__file__).resolve().parents[2] / "documents" / "golden"
VALID = """\
schemaVersion: "0.3"
parameters:
  Seconds:
    type: String
    default: "1"
mainSteps:
  - name: wait
    action: aws:sleep
    inputs:
      Duration: PT{{ Seconds }}S
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_document_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "ok.yaml", VALID)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "1 document checked, 1 valid, 0 with errors"


def test_error_line_with_caret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.yaml", VALID.replace("{{ Seconds }}", "{{ Secs }}"))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"{path}:10:19: error UndeclaredParameter step 'wait': {{{{ Secs }}}} refers to "
        "parameter 'Secs', which the document does not declare"
    )
    assert out[1] == "          Duration: PT{{ Secs }}S"
    assert out[2] == " " * 22 + "^"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "ok.yaml", VALID)
    _write(tmp_path, "cycle.yaml", (GOLDEN / "cycle.yaml").read_text())
    _write(tmp_path, "notes.txt", "ignored")
    assert main(["validate", "--format", "json", str(tmp_path)]) == 1
    report = json.loads(capsys.readouterr().out)
    by_name = {Path(d["source"]).name: d for d in report["documents"]}
    assert set(by_name) == {"ok.yaml", "cycle.yaml"}
    assert by_name["ok.yaml"] == {"source": str(tmp_path / "ok.yaml"), "valid": True,
                                  "kind": "Automation", "schemaVersion": "0.3",
                                  "diagnostics": []}
    [diagnostic] = by_name["cycle.yaml"]["diagnostics"]
    assert diagnostic["code"] == "StepCycle"
    assert (diagnostic["line"], diagnostic["column"], diagnostic["severity"]) == (3, 5, "error")
    assert diagnostic["path"] == "$.mainSteps[0]"


def test_bundled_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "AWS-RunShellScript"]) == 0


@pytest.mark.parametrize("argv", [["validate", "/no/such/file.json"], ["validate", "--bogus", "x"],
                                  ["validate"], ["graph", "/no/such.yaml"]])
def test_bad_usage_exits_two(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_graph_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "branch.yaml", """\
schemaVersion: "0.3"
mainSteps:
  - name: choose
    action: aws:branch
    inputs:
      Choices:
        - NextStep: fast
          Variable: "{{ automation:EXECUTION_ID }}"
          StartsWith: a
      Default: slow
  - name: fast
    action: aws:sleep
    isEnd: true
    inputs: {Duration: PT1S}
  - name: slow
    action: aws:sleep
    onFailure: step:fast
    inputs: {Duration: PT2S}
""")
    assert main(["graph", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "choose --choice 1--> fast",
        "choose --default--> slow",
        "slow --onFailure--> fast",
    ]
    assert main(["graph", "--format", "mermaid", str(path)]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart TD\n")
    assert "s_slow -.->|onFailure| s_fast" in mermaid
    assert main(["graph", "--format", "dot", str(path)]) == 0
    assert '"choose" -> "fast" [label="choice 1"];' in capsys.readouterr().out


def test_unloadable_document_in_graph_is_a_clean_error(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "broken.json", "{")
    assert main(["graph", str(path)]) == 1
    err = capsys.readouterr().err
    assert "DocumentSyntaxError" in err and "Traceback" not in err


def test_console_script_runs() -> None:
    exe = shutil.which("ssm-local")
    command = [exe] if exe else [sys.executable, "-m", "ssm_local.engine.cli"]
    result = subprocess.run([*command, "validate", "AWS-RunShellScript"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "1 valid" in result.stdout


def test_strict_reports_what_ssm_local_cannot_run(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "hook.yaml", """\
schemaVersion: "0.3"
mainSteps:
  - name: notify
    action: aws:invokeWebhook
    inputs: {IntegrationName: chat, Body: "{}"}
""")
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert main(["validate", "--strict", str(path)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"{path}:4:13: error NotRunnableLocally step 'notify': action "
                     "aws:invokeWebhook is not supported by ssm-local")

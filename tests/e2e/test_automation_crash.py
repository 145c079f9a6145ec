"""Durability: a 30-step runbook killed with SIGKILL at 20 random moments and resumed ends exactly
as an uninterrupted run does (status, outputs, variables)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RUNBOOK = """
schemaVersion: "0.3"
parameters:
  Seed: {type: Integer, default: 7}
variables:
  Total: {type: Integer, default: 0}
  Trail: {type: String, default: ""}
outputs: [s4.Value, s8.Value, loop.CurrentIteration]
mainSteps:
%s
"""


def _steps() -> str:
    lines = ["""  - name: start
    action: aws:updateVariable
    inputs: {Name: "variable:Total", Value: "{{ Seed }}"}"""]
    previous = "{{ Seed }}"
    for i in range(1, 9):
        lines.append(f"""  - name: wait{i}
    action: aws:sleep
    inputs: {{Duration: PT0.03S}}
  - name: s{i}
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: "def handler(events, context):\\n    return int(events['n']) * 3 + {i}"
      InputPayload: {{n: "{previous}"}}
    outputs: [{{Name: Value, Selector: $.Payload, Type: Integer}}]
  - name: add{i}
    action: aws:updateVariable
    inputs: {{Name: "variable:Trail", Value: "{{{{ variable:Trail }}}}-{{{{ s{i}.Value }}}}"}}""")
        previous = f"{{{{ s{i}.Value }}}}"
    lines.append("""  - name: check
    action: aws:branch
    inputs:
      Choices: [{NextStep: loop, Variable: "{{ s8.Value }}", NumericGreater: 0}]
      Default: never
  - name: loop
    action: aws:loop
    inputs:
      Iterators: ["1", "2", "3"]
      Steps:
        - {name: inner, action: aws:sleep, inputs: {Duration: PT0.03S}}
  - name: final
    action: aws:sleep
    isEnd: true
    inputs: {Duration: PT0.03S}
  - name: never
    action: aws:sleep
    inputs: {Duration: PT0.03S}""")
    return "\n".join(lines)


def _cli(home: Path, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "SSM_LOCAL_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", "import sys; from ssm_local.engine.cli import main; "
                             "sys.exit(main(sys.argv[1:]))", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def _final(home: Path) -> dict[str, Any]:
    from ssm_local.engine.facade import Engine

    with Engine(home=home, cache_ttl=0) as engine:
        [item] = engine.automations.list()
        return engine.automations.get(item["AutomationExecutionId"])


def _summary(execution: dict[str, Any]) -> tuple[str, Any, Any, list[tuple[str, str]]]:
    return (execution["AutomationExecutionStatus"], execution["Outputs"],
            execution["Variables"],
            [(s["StepName"], s["StepStatus"]) for s in execution["StepExecutions"]
             if s["StepStatus"] == "Success"][-3:])


def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    runbook = tmp_path / "runbook.yaml"
    runbook.write_text(RUNBOOK % _steps(), encoding="utf-8")
    from ssm_local import documents

    assert len(documents.load(runbook.read_text(), source="runbook.yaml").all_steps()) == 30

    clean_home = tmp_path / "clean"
    clean = _cli(clean_home, "run", str(runbook))
    assert clean.stderr is not None
    assert "started" in clean.stderr.readline()
    started = time.monotonic()
    _, err = clean.communicate(timeout=120)
    duration = time.monotonic() - started
    assert clean.returncode == 0, err
    expected = _summary(_final(clean_home))
    assert expected[0] == "Success"

    rng = random.Random(20261128)
    delays = [rng.uniform(0.0, duration * 0.8) for _ in range(20)]

    def trial(number: int) -> tuple[bool, Any, str]:
        home = tmp_path / f"trial{number}"
        runner = _cli(home, "run", str(runbook))
        assert runner.stderr is not None
        first = runner.stderr.readline()  # "Execution <id> started"
        assert "started" in first, first
        time.sleep(delays[number])
        mid_run = runner.poll() is None
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=60)
        resume = _cli(home, "executions", "resume")
        out, err = resume.communicate(timeout=120)
        assert resume.returncode in (0, 1), err
        return mid_run, _summary(_final(home)), out + err

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(trial, range(20)))
    for number, (_, summary, output) in enumerate(results):
        assert summary == expected, f"trial {number}: {output}"
    assert sum(1 for mid_run, _, _ in results if mid_run) >= 12

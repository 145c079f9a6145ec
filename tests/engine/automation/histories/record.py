"""Record the Automation event histories that ``test_replay.py`` replays.

Each scenario is a real runbook run once through ``AutomationService`` and its runner on a SQLite
store with a fake clock (scripted handlers stand in for AWS work); the recorder writes
``<name>.json`` beside this file: the runbook, the events exactly as ``automation_events`` holds
them (the ``payload`` column, in ``seq`` order) and what GetAutomationExecution reported at the
end (the expectations a replay must meet). The files here were recorded by the version before
typed events, as the JSON that stores written by it hold; ``test_replay`` also records every
scenario afresh and checks that today's code writes the same history. They are data: regenerate
them (``python -m tests.engine.automation.histories.record`` from the project root overwrites
them) only when the event format changes on purpose, and keep copies of the old ones then, since
stores may still hold them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssm_local import documents
from ssm_local.engine.automation.actions import BUILTIN_ACTIONS, ActionResult
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store.database import Store
from tests.engine.automation.conftest import Scripted

HERE = Path(__file__).resolve().parent
WORK = "aws:testWork"


@dataclass(frozen=True)
class Scenario:
    """One runbook run: its parameters, signals sent before it runs, scripted handler results."""

    name: str
    runbook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    mode: str = "Auto"
    signals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    work: list[ActionResult | float] = field(default_factory=list)
    stop_once_started: bool = False


BRANCH = """
schemaVersion: "0.3"
parameters: {Size: {type: Integer, default: 1}, Name: {type: String, default: "x"}}
mainSteps:
  - name: choose
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: big, Variable: "{{ Size }}", NumericGreater: 10}
        - And:
            - {Variable: "{{ Name }}", StartsWith: "web"}
            - Not: {Variable: "{{ Name }}", EqualsIgnoreCase: "WEB-0"}
          NextStep: web
  - {name: fallthrough, action: aws:sleep, isEnd: true, inputs: {Duration: PT1S}}
  - {name: big, action: aws:sleep, isEnd: true, inputs: {Duration: PT1S}}
  - {name: web, action: aws:sleep, isEnd: true, inputs: {Duration: PT1S}}
"""

APPROVE = """
schemaVersion: "0.3"
mainSteps:
  - name: ask
    action: aws:approve
    inputs: {Approvers: ["arn:aws:iam::123456789012:role/Admin"], MinRequiredApprovals: 2}
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
"""

SCENARIOS = [
    Scenario("branch_choice", BRANCH, {"Size": 1, "Name": "web-1"}),
    Scenario("branch_default", BRANCH, {"Size": 1, "Name": "web-0"}),
    Scenario("retries_until_success", """
schemaVersion: "0.3"
outputs: [flaky.N]
mainSteps:
  - name: flaky
    action: aws:testWork
    maxAttempts: 3
    inputs: {X: 1}
    outputs: [{Name: N, Selector: $.N, Type: Integer}]
  - {name: after, action: aws:sleep, inputs: {Duration: PT2S}}
""", work=[ActionResult.failed("boom"), ActionResult.failed("boom"),
           ActionResult.success(response={"N": "7"})]),
    Scenario("retries_exhausted", """
schemaVersion: "0.3"
mainSteps:
  - {name: flaky, action: aws:testWork, maxAttempts: 2, inputs: {}}
  - {name: never, action: aws:sleep, inputs: {Duration: PT1S}}
""", work=[ActionResult.failed("boom"), ActionResult.failed("boom again")]),
    Scenario("on_failure_step", """
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, onFailure: "step:cleanup", inputs: {}}
  - {name: skipped, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: cleanup, action: aws:sleep, inputs: {Duration: PT1S}}
""", work=[ActionResult.failed("boom", failure_type="Verification")]),
    Scenario("timeout_then_continue", """
schemaVersion: "0.3"
mainSteps:
  - {name: slow, action: aws:testWork, timeoutSeconds: 10, onFailure: Continue, inputs: {}}
  - {name: optional, action: aws:testWork, isCritical: false, onFailure: "step:after", inputs: {}}
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
""", work=[1000.0, ActionResult.failed("not needed")]),
    Scenario("loops", """
schemaVersion: "0.3"
parameters: {Items: {type: StringList, default: [a, b, c]}}
variables: {Seen: {type: String, default: ""}, N: {type: Integer, default: 0}}
outputs: [each.CurrentIteration, counted.CurrentIteration]
mainSteps:
  - name: each
    action: aws:loop
    inputs:
      Iterators: "{{ Items }}"
      Steps:
        - name: add
          action: aws:updateVariable
          isEnd: true
          inputs: {Name: "variable:Seen", Value: "{{ variable:Seen }}{{ each.CurrentIteratorValue }}"}
        - {name: skipped, action: aws:sleep, inputs: {Duration: PT1S}}
  - name: counted
    action: aws:loop
    inputs:
      MaxIterations: 4
      LoopCondition: {Variable: "{{ variable:N }}", NumericLesser: 1000}
      Steps:
        - {name: bump, action: aws:updateVariable,
           inputs: {Name: "variable:N", Value: "{{ counted.CurrentIteration }}"}}
  - name: leaving
    action: aws:loop
    inputs:
      Iterators: ["x", "y"]
      Steps:
        - {name: leave, action: aws:sleep, nextStep: done, inputs: {Duration: PT1S}}
  - {name: unreached, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: done, action: aws:sleep, inputs: {Duration: PT1S}}
"""),
    Scenario("approve_approved", APPROVE, signals=[
        ("Approve", {"Approver": ["alice"], "Comment": ["ok"]}),
        ("Approve", {"Approver": ["bob"]})]),
    Scenario("approve_rejected", APPROVE, signals=[("Reject", {"Comment": ["no"]})]),
    Scenario("approve_timed_out", APPROVE, signals=[("Approve", {})]),
    Scenario("pause_resume", """
schemaVersion: "0.3"
mainSteps:
  - {name: hold, action: aws:pause, inputs: {}}
  - {name: nap, action: aws:sleep, inputs: {Duration: PT1H30M}}
  - {name: past, action: aws:sleep, inputs: {Timestamp: "2020-01-01T00:00:00Z"}}
""", signals=[("Resume", {})]),
    Scenario("interactive", """
schemaVersion: "0.3"
mainSteps:
  - {name: one, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: two, action: aws:sleep, inputs: {Duration: PT1S}}
""", mode="Interactive", signals=[("StartStep", {"StepName": ["one"]}),
                                  ("StartStep", {"StepName": ["two"]})]),
    Scenario("cancel_on_cancel_path", """
schemaVersion: "0.3"
mainSteps:
  - {name: long, action: aws:testWork, onCancel: "step:tidy", inputs: {}}
  - {name: next, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: tidy, action: aws:sleep, inputs: {Duration: PT1S}}
""", work=[3600.0], stop_once_started=True),
    Scenario("outputs_and_references", """
schemaVersion: "0.3"
parameters: {V: {type: String, default: "abc"}}
variables: {N: {type: Integer, default: 0}}
outputs: [work.First, work.Ids, work.Count, work.Flag]
mainSteps:
  - name: work
    action: aws:testWork
    inputs:
      Where: "{{ global:REGION }}/{{ global:ACCOUNT_ID }}/{{ global:AWS_PARTITION }}"
      Id: "{{ automation:EXECUTION_ID }}"
      Day: "{{ global:DATE }}"
    outputs:
      - {Name: First, Selector: "$.Items[0].Id", Type: String}
      - {Name: Ids, Selector: "$..Id", Type: StringList}
      - {Name: Count, Selector: "$.Items[0].Count", Type: Integer}
      - {Name: Flag, Selector: "Flag", Type: Boolean}
  - {name: set, action: aws:updateVariable, inputs: {Name: "variable:N", Value: "{{ V }}"}}
""", work=[ActionResult.success(response={
        "Items": [{"Id": "i-1", "Count": "3"}, {"Id": "i-2", "Count": 4}], "Flag": "true"})]),
]


def summarize(execution: dict[str, Any]) -> dict[str, Any]:
    """What a replay must reproduce: GetAutomationExecution without times and ids."""
    steps = []
    for step in execution["StepExecutions"]:
        entry = {"StepName": step["StepName"], "StepStatus": step["StepStatus"],
                 "Attempts": step["Attempts"], "Inputs": step["Inputs"],
                 "Outputs": step["Outputs"]}
        for key in ("FailureMessage", "FailureDetails"):
            if key in step:
                entry[key] = step[key]
        if "ParentStepDetails" in step:
            parent = dict(step["ParentStepDetails"])
            parent.pop("StepExecutionId")
            entry["ParentStepDetails"] = parent
        steps.append(entry)
    return {"AutomationExecutionStatus": execution["AutomationExecutionStatus"],
            "FailureMessage": execution.get("FailureMessage"),
            "DurationSeconds": (execution["ExecutionEndTime"]
                                - execution["ExecutionStartTime"]).total_seconds(),
            "StepExecutions": steps, "Outputs": execution["Outputs"],
            "Variables": execution["Variables"], "Parameters": execution["Parameters"]}


async def _run(service: AutomationService, clock: FakeClock, scenario: Scenario) -> str:
    document = documents.load(scenario.runbook, source=f"{scenario.name}.yaml")
    handle = service.start(document, scenario.parameters, document_name=scenario.name,
                           mode=scenario.mode)
    for signal_type, payload in scenario.signals:
        service.signal(handle.execution_id, signal_type, payload)
    if not scenario.stop_once_started:
        await handle.run()
        return handle.execution_id
    with clock.hold():  # no virtual time passes until the stop is sent
        task = asyncio.ensure_future(handle.run())
        while not service.get(handle.execution_id)["StepExecutions"]:
            await asyncio.sleep(0.01)
        handle.stop()
    await task
    return handle.execution_id


def record(scenario: Scenario, directory: Path = HERE) -> Path:
    """Run ``scenario`` and write its history file; returns the file's path."""
    actions = {**BUILTIN_ACTIONS, WORK: Scripted(list(scenario.work))}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/store.db")
        clock = FakeClock()
        service = AutomationService(store, clock=clock, actions=actions)
        execution_id = asyncio.run(_run(service, clock, scenario))
        execution = service.get(execution_id)
        with store.engine.connect() as conn:
            payloads = [row[0] for row in conn.exec_driver_sql(
                "SELECT payload FROM automation_events WHERE execution_id = ? ORDER BY seq",
                (execution_id,))]
        store.close()
    history = {"name": scenario.name, "runbook": scenario.runbook,
               "execution_id": execution_id, "events": [json.loads(p) for p in payloads],
               "expected": summarize(execution)}
    path = directory / f"{scenario.name}.json"
    path.write_text(json.dumps(history, indent=1, default=str) + "\n")
    return path


def main() -> None:
    for scenario in SCENARIOS:
        print(record(scenario))


if __name__ == "__main__":
    main()

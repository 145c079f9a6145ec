"""Automation semantics with a fake clock: sleeps, timeouts, retries, approvals, loops, branches,
failure and cancel paths, variables, outputs, Interactive mode. No test sleeps for real."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ssm_local import documents
from ssm_local.engine.automation.actions import BUILTIN_ACTIONS, ActionResult, AutomationAction
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store import Store
from tests.engine.automation.conftest import steps


def _duration(execution: dict[str, Any]) -> float:
    start: datetime = execution["ExecutionStartTime"]
    end: datetime = execution["ExecutionEndTime"]
    return (end - start).total_seconds()


def test_sleep_takes_virtual_time(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: nap, action: aws:sleep, inputs: {Duration: PT1H30M}}
  - {name: past, action: aws:sleep, inputs: {Timestamp: "2020-01-01T00:00:00Z"}}
""")
    assert execution["AutomationExecutionStatus"] == "Success"
    assert _duration(execution) == 5400


def test_bad_duration_fails_the_step(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
parameters: {D: {type: String, default: "10 minutes"}}
mainSteps:
  - {name: nap, action: aws:sleep, inputs: {Duration: "{{ D }}"}}
""")
    assert steps(execution) == [("nap", "Failed")]
    assert "not an ISO 8601 duration" in execution["StepExecutions"][0]["FailureMessage"]


def test_timeout_kills_a_slow_step(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [1000.0])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: slow, action: aws:testWork, timeoutSeconds: 10, inputs: {}}
  - {name: never, action: aws:sleep, inputs: {Duration: PT1S}}
""")
    assert execution["AutomationExecutionStatus"] == "TimedOut"
    assert steps(execution) == [("slow", "TimedOut")]
    assert _duration(execution) == 10


def test_timeout_with_continue_goes_on(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [1000.0])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: slow, action: aws:testWork, timeoutSeconds: 10, onFailure: Continue, inputs: {}}
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
""")
    assert execution["AutomationExecutionStatus"] == "Success"
    assert steps(execution) == [("slow", "TimedOut"), ("after", "Success")]


def test_retries_until_success(run: Any, scripted: Any) -> None:
    work = scripted("aws:testWork", [ActionResult.failed("boom"), ActionResult.failed("boom"),
                                  ActionResult.success({"N": 1})])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: flaky, action: aws:testWork, maxAttempts: 3, inputs: {X: 1}}
""")
    assert execution["AutomationExecutionStatus"] == "Success"
    [record] = execution["StepExecutions"]
    assert record["Attempts"] == 3 and len(work.calls) == 3


def test_retries_exhausted_fail_the_execution(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [ActionResult.failed("boom")] * 2)
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: flaky, action: aws:testWork, maxAttempts: 2, inputs: {}}
""")
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert execution["FailureMessage"] == "Step flaky failed: boom"


def test_max_attempts_zero_means_one(run: Any, scripted: Any) -> None:
    work = scripted("aws:testWork", [ActionResult.failed("boom")] * 3)
    run("""
schemaVersion: "0.3"
mainSteps:
  - {name: flaky, action: aws:testWork, maxAttempts: 0, inputs: {}}
""")
    assert len(work.calls) == 1


APPROVE = """
schemaVersion: "0.3"
mainSteps:
  - name: ask
    action: aws:approve
    inputs: {Approvers: ["arn:aws:iam::123456789012:role/Admin"], MinRequiredApprovals: %d}
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
"""


def test_approval_approved(run: Any) -> None:
    execution = run(APPROVE % 1, signals=[("Approve", {"Comment": ["ok"]})])
    assert execution["AutomationExecutionStatus"] == "Success"
    outputs = execution["StepExecutions"][0]["Outputs"]
    assert outputs["ask.ApprovalStatus"] == ["Approved"]


def test_approval_rejected(run: Any) -> None:
    execution = run(APPROVE % 1, signals=[("Reject", {"Comment": ["no"]})])
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert steps(execution) == [("ask", "Failed")]


def test_approval_times_out_after_seven_days(run: Any) -> None:
    execution = run(APPROVE % 2, signals=[("Approve", {})])
    assert execution["AutomationExecutionStatus"] == "TimedOut"
    assert _duration(execution) == 7 * 24 * 3600


def test_loop_over_iterators_and_variables(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
parameters: {Items: {type: StringList, default: [a, b, c]}}
variables: {Seen: {type: String, default: ""}}
outputs: [loop.CurrentIteration]
mainSteps:
  - name: loop
    action: aws:loop
    inputs:
      Iterators: "{{ Items }}"
      Steps:
        - name: add
          action: aws:updateVariable
          inputs: {Name: "variable:Seen", Value: "{{ variable:Seen }}{{ loop.CurrentIteratorValue }}"}
""")
    assert execution["AutomationExecutionStatus"] == "Success"
    assert execution["Variables"]["Seen"] == ["abc"]
    assert execution["Outputs"]["loop.CurrentIteration"] == ["3"]
    inner = [s for s in execution["StepExecutions"] if s["StepName"] == "add"]
    assert [s["ParentStepDetails"]["Iteration"] for s in inner] == [1, 2, 3]
    assert [s["ParentStepDetails"]["IteratorValue"] for s in inner] == ["a", "b", "c"]


def test_loop_condition_stops_at_max_iterations(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
variables: {N: {type: Integer, default: 0}}
mainSteps:
  - name: loop
    action: aws:loop
    inputs:
      MaxIterations: 5
      LoopCondition: {Variable: "{{ variable:N }}", NumericLesser: 1000}
      Steps:
        - {name: bump, action: aws:updateVariable,
           inputs: {Name: "variable:N", Value: "{{ loop.CurrentIteration }}"}}
""")
    assert execution["Variables"]["N"] == ["5"]
    assert len([s for s in execution["StepExecutions"] if s["StepName"] == "bump"]) == 5


def test_loop_inner_is_end_ends_the_pass_and_next_step_outside_exits(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
variables: {N: {type: Integer, default: 0}}
mainSteps:
  - name: loop
    action: aws:loop
    inputs:
      Iterators: ["1", "2", "3"]
      Steps:
        - {name: bump, action: aws:updateVariable, isEnd: true,
           inputs: {Name: "variable:N", Value: "{{ loop.CurrentIteration }}"}}
        - {name: skipped, action: aws:sleep, inputs: {Duration: PT1S}}
  - name: second
    action: aws:loop
    inputs:
      Iterators: ["x", "y"]
      Steps:
        - {name: leave, action: aws:sleep, nextStep: done, inputs: {Duration: PT1S}}
  - {name: unreached, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: done, action: aws:sleep, inputs: {Duration: PT1S}}
""")
    names = [name for name, _ in steps(execution)]
    assert names.count("bump") == 3 and "skipped" not in names
    assert names.count("leave") == 1 and "unreached" not in names and names[-1] == "done"
    assert execution["AutomationExecutionStatus"] == "Success"


BRANCH = """
schemaVersion: "0.3"
parameters: {Size: {type: Integer, default: %d}, Name: {type: String, default: "%s"}}
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


def test_branch_choices_and_fallthrough(run: Any) -> None:
    assert steps(run(BRANCH % (20, "x")))[-1] == ("big", "Success")
    assert steps(run(BRANCH % (1, "web-1")))[-1] == ("web", "Success")
    assert steps(run(BRANCH % (1, "web-0")))[-1] == ("fallthrough", "Success")


def test_on_failure_step_path_is_still_failed_when_critical(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [ActionResult.failed("boom")])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, onFailure: "step:cleanup", inputs: {}}
  - {name: skipped, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: cleanup, action: aws:sleep, inputs: {Duration: PT1S}}
""")
    assert steps(execution) == [("work", "Failed"), ("cleanup", "Success")]
    assert execution["AutomationExecutionStatus"] == "Failed"


def test_non_critical_failure_leaves_success(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [ActionResult.failed("boom")])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, onFailure: "step:cleanup", isCritical: "false", inputs: {}}
  - {name: cleanup, action: aws:sleep, inputs: {Duration: PT1S}}
""")
    assert execution["AutomationExecutionStatus"] == "Success"


def test_cancel_runs_the_on_cancel_path(service: AutomationService, clock: FakeClock,
                                        scripted: Any) -> None:
    scripted("aws:testWork", [3600.0])
    document = documents.load("""
schemaVersion: "0.3"
mainSteps:
  - {name: long, action: aws:testWork, onCancel: "step:tidy", inputs: {}}
  - {name: next, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: tidy, action: aws:sleep, inputs: {Duration: PT1S}}
""", source="cancel.yaml")
    handle = service.start(document, {}, document_name="Cancel")

    async def scenario() -> dict[str, Any]:
        with clock.hold():  # no virtual time passes until the stop is sent
            task = asyncio.ensure_future(handle.run())
            while not service.get(handle.execution_id)["StepExecutions"]:
                await asyncio.sleep(0.01)
            handle.stop()
        return await task

    execution = asyncio.run(scenario())
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert steps(execution) == [("long", "Cancelled"), ("tidy", "Success")]


def test_pause_and_resume(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: hold, action: aws:pause, inputs: {}}
  - {name: after, action: aws:sleep, inputs: {Duration: PT1S}}
""", signals=[("Resume", {})])
    assert steps(execution) == [("hold", "Success"), ("after", "Success")]


def test_interactive_mode_runs_on_start_step(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: one, action: aws:sleep, inputs: {Duration: PT1S}}
  - {name: two, action: aws:sleep, inputs: {Duration: PT1S}}
""", signals=[("StartStep", {"StepName": ["one"]}), ("StartStep", {"StepName": ["two"]})],
        mode="Interactive")
    assert steps(execution) == [("one", "Success"), ("two", "Success")]
    assert execution["Mode"] == "Interactive"


def test_update_variable_type_mismatch_fails(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
parameters: {V: {type: String, default: "abc"}}
variables: {N: {type: Integer, default: 0}}
mainSteps:
  - {name: set, action: aws:updateVariable, inputs: {Name: "variable:N", Value: "{{ V }}"}}
""")
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert "does not convert types" in execution["StepExecutions"][0]["FailureMessage"]


def test_outputs_selectors_globals_and_execution_id(run: Any, scripted: Any) -> None:
    work = scripted("aws:testWork", [ActionResult.success(response={
        "Items": [{"Id": "i-1", "Count": "3"}, {"Id": "i-2", "Count": 4}], "Flag": "true"})])
    execution = run("""
schemaVersion: "0.3"
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
""")
    assert work.calls[0]["Where"] == "us-east-1/123456789012/aws"
    assert work.calls[0]["Id"] == execution["AutomationExecutionId"]
    assert work.calls[0]["Day"] == "2026-01-01"
    assert execution["Outputs"] == {"work.First": ["i-1"], "work.Ids": ["i-1", "i-2"],
                                    "work.Count": ["3"], "work.Flag": ["true"]}


def test_output_of_wrong_type_fails_the_step(run: Any, scripted: Any) -> None:
    scripted("aws:testWork", [ActionResult.success(response={"N": "many"})])
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - name: work
    action: aws:testWork
    inputs: {}
    outputs: [{Name: N, Selector: $.N, Type: Integer}]
""")
    assert execution["AutomationExecutionStatus"] == "Failed"
    assert "not a Integer" in execution["StepExecutions"][0]["FailureMessage"]


def test_unsupported_action_fails_saying_so(run: Any) -> None:
    execution = run("""
schemaVersion: "0.3"
mainSteps:
  - {name: hook, action: aws:invokeWebhook, inputs: {IntegrationName: x, Body: "{}"}}
""")
    assert execution["StepExecutions"][0]["FailureMessage"] == (
        "action aws:invokeWebhook is not supported by ssm-local")


class _UnloadableActions(dict[str, AutomationAction]):
    """An action table whose aws:executeAwsApi module cannot be imported (a broken install)."""

    def get(self, key: str, default: Any = None) -> Any:
        if key == "aws:executeAwsApi":
            raise ModuleNotFoundError("No module named 'botocore'")
        return super().get(key, default)


def test_an_action_that_cannot_be_loaded_fails_its_step(store: Store, clock: FakeClock) -> None:
    service = AutomationService(store, clock=clock, actions=_UnloadableActions(BUILTIN_ACTIONS))
    document = documents.load(
        "schemaVersion: '0.3'\nmainSteps:\n  - name: call\n    action: aws:executeAwsApi\n"
        "    inputs: {Service: ec2, Api: DescribeRegions}\n", source="runbook.yaml")
    handle = service.start(document, {}, document_name="Runbook")
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Failed"
    [step] = execution["StepExecutions"]
    assert step["StepStatus"] == "Failed"
    assert step["FailureMessage"] == ("action aws:executeAwsApi could not be loaded: "
                                      "ModuleNotFoundError: No module named 'botocore'")

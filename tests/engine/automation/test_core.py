"""The sans-I/O Automation core: ``next_action`` and ``apply`` called directly, with no store, no
runner and no clock. A few lines here play the runner's part: they apply what the interpreter
decides, answer ``Execute`` with scripted step results, feed signals and move time to a wait's
``until``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.documents.model import Document
from ssm_local.engine.automation.events import (
    Event,
    Finished,
    LoopStarted,
    Signal,
    StepFinished,
    StepInstant,
    StepStarted,
    TimerFired,
    WaitStarted,
    event_from_json,
    iso,
    step_execution_id,
)
from ssm_local.engine.automation.interpreter import (
    Execute,
    Record,
    Wait,
    apply,
    new_state,
    next_action,
    started_event,
)
from ssm_local.engine.automation.state import ExecutionState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Result = tuple[str, dict[str, Any], str | None]  # status, outputs, message


@dataclass
class Run:
    """One execution driven by hand: the document, its state and the events applied so far."""

    document: Document
    state: ExecutionState
    now: datetime = T0
    events: list[Event] = field(default_factory=list)
    executed: list[StepStarted] = field(default_factory=list)

    def apply(self, event: Event) -> None:
        self.events.append(event)
        apply(self.document, self.state, event)

    def drive(self, results: dict[str, list[Result]] | None = None,
              signals: list[tuple[str, dict[str, Any]]] | None = None,
              timers: bool = True) -> Wait | None:
        """Run until the end (None) or until a wait that only a signal not given can end; with
        ``timers`` a wait's ``until`` comes (time jumps to it) once the signals are used up,
        else such a wait is returned too."""
        results = results or {}
        pending = list(signals or [])
        for _ in range(1000):
            action = next_action(self.document, self.state, self.now)
            if action is None:
                return None
            if isinstance(action, Record):
                self.apply(action.event)
            elif isinstance(action, Execute):
                self.apply(action.started)
                self.executed.append(action.started)
                scripted = results.get(action.step.name)
                status, outputs, message = scripted.pop(0) if scripted else ("Success", {}, None)
                self.apply(StepFinished(id=action.started.id, status=status, outputs=outputs,
                                        response=None, message=message, failure_type=None,
                                        at=iso(self.now)))
            elif pending:
                signal, payload = pending.pop(0)
                self.apply(Signal(signal=signal, payload=payload, at=iso(self.now)))
            elif action.until is not None and timers:
                self.now = max(self.now, action.until)
            else:
                return action
        raise AssertionError("the execution did not end")

    def steps(self) -> list[tuple[str, str]]:
        return [(r.step_name, r.status) for r in self.state.records]


def start(text: str, parameters: dict[str, Any] | None = None, mode: str = "Auto",
          execution_id: str = "exec-1") -> Run:
    document = documents.load(text, source="core.yaml")
    run = Run(document, new_state(execution_id))
    run.apply(started_event(execution_id, "Core", "1", parameters or {}, mode, T0))
    return run


FAIL: Result = ("Failed", {}, "boom")
OK: Result = ("Success", {}, None)


# -- ids and purity ------------------------------------------------------------------------------


def test_next_action_is_pure_and_ids_derive_from_execution_and_seq() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, inputs: {X: "{{ automation:EXECUTION_ID }}"}}
""")
    first = next_action(run.document, run.state, T0)
    again = next_action(run.document, run.state, T0)
    assert isinstance(first, Execute) and first == again
    assert run.state.seq == 1 and run.state.records == []
    assert first.started.id == step_execution_id("exec-1", 2)
    assert first.inputs == {"X": "exec-1"} and first.started.attempt == 1
    other = start(run.document.text, execution_id="exec-2")
    decided = next_action(other.document, other.state, T0)
    assert isinstance(decided, Execute) and decided.started.id != first.started.id
    assert len({step_execution_id("e", n) for n in range(100)}) == 100


def test_a_start_without_its_end_runs_again_as_the_same_attempt() -> None:
    """After a crash the persisted StepStarted is replayed: the step runs again with the same
    id and attempt number."""
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, maxAttempts: 2, inputs: {}}
""")
    action = next_action(run.document, run.state, T0)
    assert isinstance(action, Execute)
    run.apply(action.started)
    resumed = next_action(run.document, run.state, T0 + timedelta(seconds=30))
    assert isinstance(resumed, Execute)
    assert (resumed.started.id, resumed.started.attempt) == (action.started.id, 1)


# -- branches ------------------------------------------------------------------------------------

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
        - Or:
            - {Variable: "{{ Name }}", Contains: "db"}
            - {Variable: "{{ Name }}", EndsWith: "-sql"}
          NextStep: db
        - {NextStep: number, Variable: "{{ Name }}", NumericLesser: 0}
      Default: fallback
  - {name: fallthrough, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: big, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: web, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: db, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: number, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: fallback, action: aws:testWork, isEnd: true, inputs: {}}
"""


@pytest.mark.parametrize(("size", "name", "taken"), [
    (20, "x", "big"), (1, "web-1", "web"), (1, "mydb", "db"), (1, "my-sql", "db"),
    (1, "-1", "number"), (1, "7", "fallback"),
])
def test_branch_takes_the_first_true_choice_or_the_default(size: int, name: str,
                                                            taken: str) -> None:
    run = start(BRANCH, {"Size": size, "Name": name})
    run.drive()
    assert run.steps() == [("choose", "Success"), (taken, "Success")]
    assert isinstance(run.events[1], StepInstant) and run.events[1].next_step == taken
    assert run.state.status == "Success"


def test_branch_without_a_match_or_default_falls_through() -> None:
    run = start(BRANCH.replace("      Default: fallback\n", ""), {"Size": 1, "Name": "7"})
    run.drive()
    assert run.steps() == [("choose", "Success"), ("fallthrough", "Success")]


@pytest.mark.parametrize(("size_ref", "name", "message"), [
    ("Size", "web-0", "cannot evaluate a choice: could not convert string to float: 'web-0'"),
    ("Missing", "x", "cannot resolve {{ Missing }} (parameter has no value)"),
])
def test_a_branch_that_cannot_be_evaluated_fails_as_verification(size_ref: str, name: str,
                                                                 message: str) -> None:
    run = start(BRANCH.replace("{{ Size }}", f"{{{{ {size_ref} }}}}"), {"Size": 1, "Name": name})
    run.drive()
    assert run.steps() == [("choose", "Failed")]
    record = run.state.records[0]
    assert (record.failure_type, record.failure_message) == ("Verification", message)
    assert run.state.status == "Failed"
    assert run.state.failure_message == f"Step choose failed: {message}"


# -- retries and onFailure -----------------------------------------------------------------------

RETRY = """
schemaVersion: "0.3"
mainSteps:
  - {name: flaky, action: aws:testWork, maxAttempts: 3, inputs: {}}
  - {name: after, action: aws:testWork, inputs: {}}
"""


def test_retries_until_success_are_one_step_execution() -> None:
    run = start(RETRY)
    run.drive({"flaky": [FAIL, FAIL, ("Success", {"N": 1}, None)]})
    assert [(s.step, s.attempt) for s in run.executed] == [
        ("flaky", 1), ("flaky", 2), ("flaky", 3), ("after", 1)]
    assert len({s.id for s in run.executed if s.step == "flaky"}) == 1
    assert run.steps() == [("flaky", "Success"), ("after", "Success")]
    assert run.state.records[0].attempts == 3
    assert run.state.records[0].outputs == {"flaky.N": ["1"]}
    assert run.state.status == "Success"


def test_retries_exhausted_abort_the_execution() -> None:
    run = start(RETRY)
    run.drive({"flaky": [FAIL, FAIL, ("Failed", {}, "still broken")]})
    assert run.steps() == [("flaky", "Failed")]
    assert run.state.records[0].attempts == 3
    assert run.state.status == "Failed"
    assert run.state.failure_message == "Step flaky failed: still broken"
    assert isinstance(run.events[-1], Finished)


@pytest.mark.parametrize(("on_failure", "critical", "steps", "status"), [
    ("Abort", "true", [("work", "Failed")], "Failed"),
    ("Continue", "true", [("work", "Failed"), ("next", "Success"), ("cleanup", "Success")],
     "Failed"),
    ("Continue", "false", [("work", "Failed"), ("next", "Success"), ("cleanup", "Success")],
     "Success"),
    ("step:cleanup", "true", [("work", "Failed"), ("cleanup", "Success")], "Failed"),
    ("step:cleanup", "false", [("work", "Failed"), ("cleanup", "Success")], "Success"),
])
def test_on_failure_paths(on_failure: str, critical: str, steps: list[tuple[str, str]],
                          status: str) -> None:
    run = start(f"""
schemaVersion: "0.3"
mainSteps:
  - {{name: work, action: aws:testWork, onFailure: "{on_failure}", isCritical: {critical},
     inputs: {{}}}}
  - {{name: next, action: aws:testWork, inputs: {{}}}}
  - {{name: cleanup, action: aws:testWork, inputs: {{}}}}
""")
    run.drive({"work": [FAIL]})
    assert run.steps() == steps
    assert run.state.status == status


def test_is_end_ends_the_execution() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: one, action: aws:testWork, isEnd: true, inputs: {}}
  - {name: two, action: aws:testWork, inputs: {}}
""")
    run.drive()
    assert run.steps() == [("one", "Success")]
    assert run.state.status == "Success"


def test_a_timed_out_critical_step_times_out_the_execution() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: slow, action: aws:testWork, timeoutSeconds: 10, onFailure: "step:after", inputs: {}}
  - {name: after, action: aws:testWork, inputs: {}}
""")
    action = next_action(run.document, run.state, T0)
    assert isinstance(action, Execute) and action.timeout_seconds == 10
    run.drive({"slow": [("TimedOut", {}, "Step timed out after 10 seconds")]})
    assert run.steps() == [("slow", "TimedOut"), ("after", "Success")]
    assert run.state.status == "TimedOut"


# -- loops ---------------------------------------------------------------------------------------


def test_loop_over_iterators_with_is_end_inside_and_next_step_outside() -> None:
    run = start("""
schemaVersion: "0.3"
variables: {Seen: {type: String, default: ""}}
mainSteps:
  - name: each
    action: aws:loop
    inputs:
      Iterators: [a, b, c]
      Steps:
        - name: add
          action: aws:updateVariable
          isEnd: true
          inputs: {Name: "variable:Seen", Value: "{{ variable:Seen }}{{ each.CurrentIteratorValue }}"}
        - {name: skipped, action: aws:testWork, inputs: {}}
  - name: leaving
    action: aws:loop
    inputs:
      Iterators: [x, y]
      Steps:
        - {name: leave, action: aws:testWork, nextStep: done, inputs: {}}
  - {name: unreached, action: aws:testWork, inputs: {}}
  - {name: done, action: aws:testWork, inputs: {}}
""")
    run.drive()
    assert run.steps() == [("each", "Success"), ("add", "Success"), ("add", "Success"),
                           ("add", "Success"), ("leaving", "Success"), ("leave", "Success"),
                           ("done", "Success")]
    assert run.state.variables["Seen"] == "abc"
    loop = run.state.records[0]
    assert loop.outputs == {"each.CurrentIteration": ["3"], "each.CurrentIteratorValue": ["c"]}
    assert [r.parent for r in run.state.records if r.step_name == "add"] == [
        {"StepName": "each", "StepExecutionId": loop.step_execution_id, "Iteration": n,
         "IteratorValue": value} for n, value in ((1, "a"), (2, "b"), (3, "c"))]
    assert run.state.loops == [] and run.state.status == "Success"
    assert isinstance(run.events[1], LoopStarted) and run.events[1].items == ["a", "b", "c"]


def test_loop_condition_stops_at_max_iterations() -> None:
    run = start("""
schemaVersion: "0.3"
variables: {N: {type: Integer, default: 0}}
mainSteps:
  - name: count
    action: aws:loop
    inputs:
      MaxIterations: 4
      LoopCondition: {Variable: "{{ variable:N }}", NumericLesser: 3}
      Steps:
        - {name: bump, action: aws:updateVariable,
           inputs: {Name: "variable:N", Value: "{{ count.CurrentIteration }}"}}
""")
    run.drive()
    assert [name for name, _ in run.steps()].count("bump") == 3  # N reaches 3 after pass 3
    assert run.state.variables["N"] == 3
    run2 = start(run.document.text.replace("NumericLesser: 3", "NumericLesser: 100"))
    run2.drive()
    assert [name for name, _ in run2.steps()].count("bump") == 4


def test_abort_inside_a_loop_fails_the_loop_and_its_on_failure_applies() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - name: each
    action: aws:loop
    onFailure: "step:cleanup"
    inputs:
      Iterators: [a, b]
      Steps:
        - {name: work, action: aws:testWork, inputs: {}}
  - {name: next, action: aws:testWork, inputs: {}}
  - {name: cleanup, action: aws:testWork, inputs: {}}
""")
    run.drive({"work": [OK, FAIL]})
    assert run.steps() == [("each", "Failed"), ("work", "Success"), ("work", "Failed"),
                           ("cleanup", "Success")]
    assert run.state.records[0].outputs["each.CurrentIteration"] == ["2"]
    assert run.state.status == "Failed"


# -- waits, approvals, signals -------------------------------------------------------------------


def test_sleep_waits_until_its_time_and_the_timer_fires() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: nap, action: aws:sleep, inputs: {Duration: PT1H30M}}
""")
    first = next_action(run.document, run.state, T0)
    assert isinstance(first, Record) and isinstance(first.event, WaitStarted)
    run.apply(first.event)
    wait = next_action(run.document, run.state, T0 + timedelta(minutes=89))
    assert wait == Wait("sleep", "nap", T0 + timedelta(minutes=90))
    fired = next_action(run.document, run.state, T0 + timedelta(minutes=90))
    assert isinstance(fired, Record) and isinstance(fired.event, TimerFired)
    run.now = T0 + timedelta(minutes=90)
    run.drive()
    assert run.steps() == [("nap", "Success")]
    assert run.state.end == iso(T0 + timedelta(minutes=90))


APPROVE = """
schemaVersion: "0.3"
mainSteps:
  - name: ask
    action: aws:approve
    inputs: {Approvers: [alice, bob], MinRequiredApprovals: 2}
  - {name: after, action: aws:testWork, inputs: {}}
"""


def test_approval_needs_the_minimum_of_approvals() -> None:
    run = start(APPROVE)
    waiting = run.drive(signals=[("Approve", {"Approver": ["alice"], "Comment": ["ok"]})],
                        timers=False)
    assert waiting == Wait("approve", "ask", T0 + timedelta(days=7))
    assert run.steps() == [("ask", "Waiting")] and run.state.status == "Waiting"
    assert run.drive(signals=[("Approve", {"Approver": ["bob"]})]) is None
    assert run.steps() == [("ask", "Success"), ("after", "Success")]
    outputs = run.state.outputs["ask"]
    assert outputs["ApprovalStatus"] == "Approved"
    assert [d["Approver"] for d in outputs["ApproverDecisions"]] == ["alice", "bob"]


def test_approval_rejected_fails_the_step() -> None:
    run = start(APPROVE)
    run.drive(signals=[("Reject", {"Approver": ["bob"], "Comment": ["no"]})])
    assert run.steps() == [("ask", "Failed")]
    assert run.state.failure_message == "Step ask failed: the step was rejected by bob"
    assert run.state.status == "Failed"


def test_approval_times_out_after_seven_days() -> None:
    run = start(APPROVE)
    run.drive()
    assert run.steps() == [("ask", "TimedOut")]
    assert run.state.failure_message == (
        "Step ask failed: the step timed out while waiting (approve)")
    assert run.state.status == "TimedOut"
    assert run.now == T0 + timedelta(days=7)


def test_cancel_while_paused_runs_the_on_cancel_path() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: hold, action: aws:pause, onCancel: "step:tidy", inputs: {}}
  - {name: next, action: aws:testWork, inputs: {}}
  - {name: tidy, action: aws:testWork, inputs: {}}
""")
    assert run.drive() == Wait("pause", "hold", None)
    run.drive(signals=[("Cancel", {})])
    assert run.steps() == [("hold", "Cancelled"), ("tidy", "Success")]
    assert run.state.status == "Cancelled"


def test_interactive_mode_waits_for_start_step() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: one, action: aws:testWork, inputs: {}}
  - {name: two, action: aws:testWork, inputs: {}}
""", mode="Interactive")
    assert run.drive() == Wait("interactive", "one", None)
    assert run.state.status == "Waiting" and run.state.records == []
    assert run.drive(signals=[("StartStep", {"StepName": ["one"]})]) == Wait(
        "interactive", "two", None)
    assert run.steps() == [("one", "Success")] and run.state.status == "Waiting"
    assert run.drive(signals=[("StartStep", {"StepName": ["two"]})]) is None
    assert run.steps() == [("one", "Success"), ("two", "Success")]
    assert run.state.status == "Success"


# -- events --------------------------------------------------------------------------------------

EXAMPLES: list[Event] = [
    started_event("e", "Doc", "2", {"P": ["a"]}, "Auto", T0),
    StepStarted(step="s", action="aws:x", id="i", attempt=2, inputs={"A": 1}, at=iso(T0),
                parent={"StepName": "l", "StepExecutionId": "j", "Iteration": 1,
                        "IteratorValue": None}),
    StepFinished(id="i", status="Failed", outputs={}, response={"R": [1]}, message="m",
                 failure_type="Verification", at=iso(T0)),
    StepInstant(step="b", action="aws:branch", id="k", status="Success", next_step="t",
                outputs={}, message=None, failure_type=None, variables={"V": 1}, inputs={},
                at=iso(T0)),
    LoopStarted(step="l", id="j", items=None, max_iterations=100, at=iso(T0), inputs={}),
    WaitStarted(kind="interactive", step="s", until=None, at=iso(T0)),
    WaitStarted(kind="approve", step="s", until=iso(T0), at=iso(T0), action="aws:approve",
                id="i", attempt=1, inputs={}, parent=None, min_approvals=2),
    TimerFired(at=iso(T0)),
    Signal(signal="Approve", payload={"Comment": ["ok"]}, at=iso(T0)),
    Finished(status="Success", message=None, at=iso(T0)),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_events_round_trip_through_json(event: Event) -> None:
    data = event.to_json()
    assert data["type"] == type(event).__name__
    assert event_from_json(data) == event


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type 'Rebooted'"):
        event_from_json({"type": "Rebooted", "at": iso(T0)})


def test_missing_keys_read_as_their_defaults() -> None:
    run = start("""
schemaVersion: "0.3"
mainSteps:
  - {name: work, action: aws:testWork, maxAttempts: 3, inputs: {A: 1}}
""")
    run.apply(event_from_json({"type": "StepStarted", "step": "work", "id": "w", "at": iso(T0),
                               "attempt": 1, "inputs": {"A": 1}}))
    run.apply(event_from_json({"type": "StepFinished", "id": "w", "status": "Failed",
                               "at": iso(T0)}))
    run.apply(event_from_json({"type": "StepStarted", "step": "work", "id": "w", "at": iso(T0)}))
    record = run.state.records[0]
    assert (record.attempts, record.inputs, record.status) == (2, {"A": 1}, "InProgress")


def test_the_core_reads_no_clock_and_mints_no_random_ids() -> None:
    from pathlib import Path

    import ssm_local.engine.automation as package

    folder = Path(package.__file__).parent
    core = ["conditions", "events", "interpreter", "outputs", "references", "state",
            "transitions"]
    for name in core:
        text = (folder / f"{name}.py").read_text()
        for call in ("uuid4(", "time.time(", "datetime.now(", "monotonic(", "import random"):
            assert call not in text, f"{name}.py: {call}"

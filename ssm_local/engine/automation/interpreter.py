"""The Automation interpreter: a pure state machine over a runbook's steps.

``next_action(document, state, now)`` says what happens next: ``Record`` an event the
interpreter decided on its own (a branch taken, a variable updated, a loop pass begun, a wait
begun, the execution finished), ``Execute`` a step through its action handler, or ``Wait`` for a
signal or the clock. ``apply(document, state, event)`` (``transitions``) folds one event into the
state. Neither does I/O nor reads the clock: time comes from ``now`` and from the events, and the
ids of new step executions derive from ``(execution_id, seq)``, so deciding again after a crash
decides the same events. The async runner (``ssm_local.engine.automation.runner``) persists each
event before applying it and is the only code that calls handlers, the clock and the store.
The semantics are AWS's (ssm-semantics.md §5): ``maxAttempts``, ``timeoutSeconds``,
``onFailure`` (Abort, Continue, step:X), ``onCancel``, ``isCritical``, ``isEnd``, ``nextStep``,
``aws:branch``, ``aws:loop``, ``aws:updateVariable``, ``aws:sleep``, ``aws:pause``,
``aws:approve`` and Interactive mode; decisions where AWS is silent are in docs/decisions.md.
References are resolved by ``references``, conditions by ``conditions``, outputs typed by
``outputs``; the events are in ``events``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ssm_local.documents.model import Document, Step
from ssm_local.documents.validate import MAX_LOOP_ITERATIONS
from ssm_local.engine.automation.conditions import evaluate_condition
from ssm_local.engine.automation.events import (
    Event,
    Finished,
    LoopEnded,
    LoopNext,
    LoopStarted,
    Started,
    StepInstant,
    StepStarted,
    TimerFired,
    WaitStarted,
    iso,
    parse_iso,
    step_execution_id,
)
from ssm_local.engine.automation.outputs import typed_value
from ssm_local.engine.automation.references import Unresolved, describe, resolve
from ssm_local.engine.automation.state import (
    CANCELLED,
    FAILED,
    IN_PROGRESS,
    SUCCESS,
    ExecutionState,
    LoopFrame,
)
from ssm_local.engine.automation.transitions import apply, new_state, replay
from ssm_local.engine.wire import to_string
from ssm_local.grammar.errors import TemplateSyntaxError

__all__ = [
    "DEFAULT_APPROVE_TIMEOUT",
    "DEFAULT_TIMEOUTS",
    "INSTANT_ACTIONS",
    "MAX_SLEEP_SECONDS",
    "MAX_TIMEOUTS",
    "WAITING_ACTIONS",
    "Action",
    "Execute",
    "Record",
    "Wait",
    "apply",
    "final_status",
    "finished",
    "new_state",
    "next_action",
    "parse_duration",
    "replay",
    "started_event",
]

DEFAULT_APPROVE_TIMEOUT = 7 * 24 * 3600
MAX_SLEEP_SECONDS = 604_799
DEFAULT_TIMEOUTS = {"aws:approve": DEFAULT_APPROVE_TIMEOUT,
                    "aws:waitForAwsResourceProperty": 3600, "aws:changeInstanceState": 3600,
                    "aws:executeScript": 600, "aws:invokeLambdaFunction": 300}
MAX_TIMEOUTS = {"aws:executeScript": 600, "aws:invokeLambdaFunction": 300,
                "aws:approve": 30 * 24 * 3600}
INSTANT_ACTIONS = frozenset({"aws:branch", "aws:updateVariable", "aws:loop"})
WAITING_ACTIONS = frozenset({"aws:sleep", "aws:pause", "aws:approve"})


@dataclass(frozen=True, slots=True)
class Record:
    """Persist and apply ``event``; nothing runs."""

    event: Event


@dataclass(frozen=True, slots=True)
class Execute:
    """Run ``step`` through its handler with ``inputs`` (resolved): persist ``started`` first,
    then a ``StepFinished`` with the handler's result; ``timeout_seconds`` is raced on the
    clock (None: no limit)."""

    step: Step
    inputs: dict[str, Any]
    started: StepStarted
    timeout_seconds: float | None


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait for a signal (``kind``: sleep, pause, approve, interactive), or until ``until`` (then
    record ``TimerFired``), or for cancellation."""

    kind: str
    step_name: str | None
    until: datetime | None


Action = Record | Execute | Wait


def started_event(execution_id: str, document_name: str, document_version: str,
                  parameters: dict[str, Any], mode: str, now: datetime) -> Started:
    """The first event of an execution (StartAutomationExecution at ``now``)."""
    return Started(execution_id=execution_id, document_name=document_name,
                   document_version=document_version, parameters=parameters, mode=mode,
                   at=iso(now))


# -- durations ---------------------------------------------------------------------------------

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """ISO 8601 ``PnDTnHnMnS`` in seconds (fractions allowed); ValueError when malformed."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT30S or PT1H30M")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


# -- next_action -------------------------------------------------------------------------------


def _step_timeout(step: Step) -> float | None:
    timeout = step.timeout_seconds
    if timeout is None or timeout <= 0:
        timeout = DEFAULT_TIMEOUTS.get(step.action)
    if timeout is not None and step.action in MAX_TIMEOUTS:
        timeout = min(timeout, MAX_TIMEOUTS[step.action])
    return float(timeout) if timeout else None


def _new_id(state: ExecutionState) -> str:
    """The id of a step execution that the next event (``seq + 1``) begins."""
    return step_execution_id(state.execution_id, state.seq + 1)


def _begin(state: ExecutionState, step: Step, attempt: int
           ) -> tuple[str, dict[str, Any] | None]:
    """The id and ParentStepDetails of the step execution an attempt of ``step`` runs in: a
    retry, or a start recorded without its end, keeps the execution it began."""
    record = state.last_record(step.name)
    reuse = record is not None and record.status == IN_PROGRESS and (
        attempt > 1 or state.started_step_pending)
    seid = record.step_execution_id if reuse and record else _new_id(state)
    frame = state.loops[-1] if state.loops and step.parent == state.loops[-1].step_name else None
    parent = None
    if frame is not None:
        value = frame.items[frame.iteration - 1] if frame.items else None
        parent = {"StepName": frame.step_name, "StepExecutionId": frame.step_execution_id,
                  "Iteration": frame.iteration, "IteratorValue": value}
    return seid, parent


def _instant(state: ExecutionState, step: Step, status: str, *, now: datetime,
             next_step: str | None = None, outputs: dict[str, Any] | None = None,
             message: str | None = None, variables: dict[str, Any] | None = None,
             inputs: dict[str, Any] | None = None, failure_type: str | None = None) -> Record:
    return Record(StepInstant(
        step=step.name, action=step.action, id=_new_id(state), status=status,
        next_step=next_step, outputs=outputs or {}, message=message, failure_type=failure_type,
        variables=variables or {}, inputs=inputs or {}, at=iso(now)))


def finished(status: str, now: datetime, message: str | None = None) -> Record:
    """Record the execution's end with ``status`` and its FailureMessage."""
    return Record(Finished(status=status, message=message, at=iso(now)))


def final_status(state: ExecutionState) -> str:
    """The status an execution ends with once no step is left: Cancelled after a cancel, the
    critical failure's status (Failed or TimedOut), else Success."""
    if state.cancel_requested:
        return CANCELLED
    return state.critical_failure or SUCCESS


def next_action(document: Document, state: ExecutionState, now: datetime) -> Action | None:
    """What happens next in ``state`` at ``now``; None once the execution has finished."""
    if state.done:
        return None
    if state.waiting is not None:
        waiting = state.waiting
        until = parse_iso(waiting.until) if waiting.until else None
        if until is not None and now >= until:
            return Record(TimerFired(at=iso(now)))
        return Wait(waiting.kind, waiting.step_name, until)
    if state.cancel_requested and not state.cancel_path:
        return finished(CANCELLED, now)
    if state.cursor is None:
        return finished(final_status(state), now, state.failure_message)
    step = document.step(state.cursor)
    if step is None:
        return finished(FAILED, now, f"step '{state.cursor}' does not exist")
    if (state.mode == "Interactive" and state.interactive_next != step.name
            and not state.started_step_pending):
        return Record(WaitStarted(kind="interactive", step=step.name, until=None, at=iso(now)))
    frame = state.loops[-1] if state.loops and state.loops[-1].step_name == step.name else None
    if step.action == "aws:loop":
        return _loop_action(step, state, now, frame)
    if step.action in WAITING_ACTIONS:
        return _wait_action(step, state, now)
    try:
        inputs = resolve(step.inputs, state, now)
    except Unresolved as exc:
        return _instant(state, step, FAILED, now=now, failure_type="Verification",
                        message=f"cannot resolve {describe(exc.ref)}")
    except TemplateSyntaxError as exc:
        return _instant(state, step, FAILED, now=now, failure_type="Verification",
                        message=f"malformed placeholder: {exc.message}")
    if step.action == "aws:branch":
        return _branch(step, state, now, inputs)
    if step.action == "aws:updateVariable":
        return _update_variable(document, step, state, now, inputs)
    record = state.last_record(step.name)
    attempt = 1
    if record is not None and record.status == IN_PROGRESS:
        # a start recorded without its end (a crash) runs again as the same attempt
        attempt = record.attempts if state.started_step_pending else record.attempts + 1
    seid, parent = _begin(state, step, attempt)
    started = StepStarted(step=step.name, action=step.action, id=seid, attempt=attempt,
                          inputs=inputs, at=iso(now), parent=parent)
    return Execute(step, inputs, started, _step_timeout(step))


def _branch(step: Step, state: ExecutionState, now: datetime, inputs: dict[str, Any]) -> Record:
    choices = step.inputs.get("Choices") or []
    try:
        for choice in choices:
            if evaluate_condition(choice, state, now):
                return _instant(state, step, SUCCESS, next_step=choice.get("NextStep"), now=now,
                                inputs=inputs)
    except (Unresolved, ValueError, TypeError, StopIteration) as exc:
        detail = describe(exc.ref) if isinstance(exc, Unresolved) else str(exc)
        return _instant(state, step, FAILED, now=now,
                        message=f"cannot evaluate a choice: {detail}", failure_type="Verification")
    default = step.inputs.get("Default")
    return _instant(state, step, SUCCESS, next_step=default if isinstance(default, str) else None,
                    now=now, inputs=inputs)


def _update_variable(document: Document, step: Step, state: ExecutionState, now: datetime,
                     inputs: dict[str, Any]) -> Record:
    name = str(inputs.get("Name", ""))
    variable = document.variables.get(name.removeprefix("variable:"))
    if not name.startswith("variable:") or variable is None:
        return _instant(state, step, FAILED, now=now, inputs=inputs, failure_type="Verification",
                        message=f"Name {name!r} is not a declared variable ('variable:<name>')")
    value = inputs.get("Value")
    try:
        if variable.type == "String" and not isinstance(value, str):
            raise ValueError
        typed = typed_value(variable.type, value)
    except (ValueError, TypeError):
        return _instant(state, step, FAILED, now=now, inputs=inputs, failure_type="Verification",
                        message=f"Value {json.dumps(value, default=str)[:80]} is not a "
                                f"{variable.type}; aws:updateVariable does not convert types")
    return _instant(state, step, SUCCESS, now=now, inputs=inputs,
                    variables={variable.name: typed})


def _loop_action(step: Step, state: ExecutionState, now: datetime,
                 frame: LoopFrame | None) -> Record:
    inputs = step.inputs
    if frame is None:
        items: list[Any] | None = None
        try:
            if "Iterators" in inputs:
                raw = resolve(inputs["Iterators"], state, now)
                items = raw if isinstance(raw, list) else [raw]
                kind = inputs.get("IteratorDataType", "String")
                items = [typed_value(kind, v) if kind != "String" else to_string(v)
                         for v in items]
            maximum = resolve(inputs.get("MaxIterations", MAX_LOOP_ITERATIONS), state, now)
            maximum = int(maximum)
        except (Unresolved, ValueError, TypeError) as exc:
            detail = describe(exc.ref) if isinstance(exc, Unresolved) else str(exc)
            return _instant(state, step, FAILED, now=now,
                            message=f"cannot start the loop: {detail}")
        if items is not None and len(items) > MAX_LOOP_ITERATIONS:
            return _instant(state, step, FAILED, now=now, failure_type="Verification",
                            message=f"{len(items)} iterators; aws:loop takes at most "
                                    f"{MAX_LOOP_ITERATIONS}")
        maximum = max(1, min(maximum, MAX_LOOP_ITERATIONS))
        if items is not None and not items:
            return _instant(state, step, SUCCESS, now=now, outputs={"CurrentIteration": 0})
        return Record(LoopStarted(step=step.name, id=_new_id(state), items=items,
                                  max_iterations=maximum, at=iso(now),
                                  inputs={"Iterators": items} if items is not None else {}))
    # a pass has ended: go round again?
    again = frame.iteration < frame.max_iterations
    if frame.items is not None:
        again = again and frame.iteration < len(frame.items)
    elif isinstance(inputs.get("LoopCondition"), dict):
        try:
            again = again and evaluate_condition(inputs["LoopCondition"], state, now)
        except (Unresolved, ValueError, TypeError, StopIteration) as exc:
            detail = describe(exc.ref) if isinstance(exc, Unresolved) else str(exc)
            return Record(LoopEnded(step=step.name, status=FAILED,
                                    message=f"cannot evaluate LoopCondition: {detail}",
                                    at=iso(now)))
    if again:
        return Record(LoopNext(step=step.name, at=iso(now)))
    return Record(LoopEnded(step=step.name, status=SUCCESS, message=None, at=iso(now)))


def _wait_action(step: Step, state: ExecutionState, now: datetime) -> Record:
    try:
        inputs = resolve(step.inputs, state, now)
    except Unresolved as exc:
        return _instant(state, step, FAILED, now=now,
                        message=f"cannot resolve {describe(exc.ref)}")
    until: datetime | None = None
    minimum = 1
    if step.action == "aws:sleep":
        try:
            if "Timestamp" in inputs:
                until = parse_iso(str(inputs["Timestamp"]))
                if until.tzinfo is None:
                    until = until.replace(tzinfo=UTC)
            else:
                seconds = parse_duration(str(inputs.get("Duration", "")))
                if seconds > MAX_SLEEP_SECONDS:
                    raise ValueError(f"Duration is {seconds:.0f} s; aws:sleep allows at most "
                                     f"{MAX_SLEEP_SECONDS} s")
                until = now + timedelta(seconds=seconds)
        except ValueError as exc:
            return _instant(state, step, FAILED, now=now, inputs=inputs,
                            failure_type="Verification", message=str(exc))
    elif step.action == "aws:approve":
        timeout = _step_timeout(step) or DEFAULT_APPROVE_TIMEOUT
        until = now + timedelta(seconds=timeout)
        try:
            minimum = int(inputs.get("MinRequiredApprovals", 1))
        except (TypeError, ValueError):
            minimum = 1
    elif step.timeout_seconds:
        until = now + timedelta(seconds=step.timeout_seconds)
    if step.action == "aws:sleep" and until is not None and until <= now:
        # a zero Duration or a past Timestamp proceeds at once: one event, no waiting state
        return _instant(state, step, SUCCESS, now=now, inputs=inputs)
    seid, parent = _begin(state, step, 1)
    return Record(WaitStarted(
        kind=step.action.removeprefix("aws:"), step=step.name, until=iso(until) if until else None,
        at=iso(now), action=step.action, id=seid, attempt=1, inputs=inputs, parent=parent,
        min_approvals=minimum))

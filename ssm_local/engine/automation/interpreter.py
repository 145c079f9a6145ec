"""The Automation interpreter: a pure state machine over a runbook's steps.

``next_action(document, state, now)`` says what happens next: ``Record`` an event the
interpreter decided on its own (a branch taken, a variable updated, a loop pass begun, the
execution finished), ``Execute`` a step through its action handler, or ``Wait`` for a signal or
the clock. ``apply(state, event)`` folds one event into the state. Neither does I/O: the async
runner (``ssm_local.engine.automation.runner``) persists each event before applying it and is the only
code that calls handlers, the clock and the store, so an execution rebuilt from its events after
a crash is the execution that was running. The semantics are AWS's (ssm-semantics.md §5):
``maxAttempts``, ``timeoutSeconds``, ``onFailure`` (Abort, Continue, step:X), ``onCancel``,
``isCritical``, ``isEnd``, ``nextStep``, ``aws:branch``, ``aws:loop``, ``aws:updateVariable``,
``aws:sleep``, ``aws:pause``, ``aws:approve`` and Interactive mode; decisions where AWS is silent
are in docs/decisions.md.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ssm_local.documents.graph import step_target
from ssm_local.documents.model import Document, Step
from ssm_local.documents.validate import MAX_LOOP_ITERATIONS
from ssm_local.engine.automation.state import (
    CANCELLED,
    CANCELLING,
    FAILED,
    IN_PROGRESS,
    SUCCESS,
    TIMED_OUT,
    WAITING,
    ExecutionState,
    LoopFrame,
    StepRecord,
    Waiting,
)
from ssm_local.engine.substitution import MISSING, render
from ssm_local.grammar.errors import SelectorSyntaxError, TemplateSyntaxError
from ssm_local.grammar.selector import evaluate_selector, parse_selector
from ssm_local.grammar.template import NamespacedRef, ParameterRef, Reference, StepOutputRef

DEFAULT_APPROVE_TIMEOUT = 7 * 24 * 3600
MAX_SLEEP_SECONDS = 604_799
DEFAULT_TIMEOUTS = {"aws:approve": DEFAULT_APPROVE_TIMEOUT,
                    "aws:waitForAwsResourceProperty": 3600, "aws:changeInstanceState": 3600,
                    "aws:executeScript": 600, "aws:invokeLambdaFunction": 300}
MAX_TIMEOUTS = {"aws:executeScript": 600, "aws:invokeLambdaFunction": 300,
                "aws:approve": 30 * 24 * 3600}
INSTANT_ACTIONS = frozenset({"aws:branch", "aws:updateVariable", "aws:loop"})
WAITING_ACTIONS = frozenset({"aws:sleep", "aws:pause", "aws:approve"})


@dataclass(frozen=True)
class Record:
    """Persist and apply ``event``; nothing runs."""

    event: dict[str, Any]


@dataclass(frozen=True)
class Execute:
    """Run ``step`` through its handler: persist ``started`` first, then the handler's result."""

    step: Step
    inputs: dict[str, Any]
    started: dict[str, Any]
    timeout_seconds: float | None


@dataclass(frozen=True)
class Wait:
    """Wait for a signal, or until ``until`` (a timer), or for cancellation."""

    kind: str
    step_name: str | None
    until: datetime | None


Action = Record | Execute | Wait


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_id() -> str:
    return str(uuid.uuid4())


# -- references --------------------------------------------------------------------------------


class _Unresolved(Exception):
    def __init__(self, ref: Reference) -> None:
        super().__init__(ref)
        self.ref = ref


def _global(name: str, now: datetime, region: str, account: str) -> Any:
    if name == "ACCOUNT_ID":
        return account
    if name == "REGION":
        return region
    if name == "AWS_PARTITION":
        return "aws-cn" if region.startswith("cn-") else (
            "aws-us-gov" if region.startswith("us-gov-") else "aws")
    if name == "DATE":
        return now.strftime("%Y-%m-%d")
    if name == "DATE_TIME":
        return now.strftime("%Y-%m-%d_%H.%M.%S")
    return MISSING


def lookup_for(state: ExecutionState, now: datetime, *, region: str = "us-east-1",
               account: str = "123456789012", strict: bool = True) -> Any:
    """The reference resolver for this execution at ``now``."""

    def lookup(ref: Reference) -> Any:
        value: Any = MISSING
        if isinstance(ref, ParameterRef):
            value = state.parameters.get(ref.name, MISSING)
        elif isinstance(ref, StepOutputRef):
            step_outputs = state.outputs.get(ref.step)
            if step_outputs is not None:
                value = step_outputs.get(ref.output, MISSING)
        elif isinstance(ref, NamespacedRef):
            if ref.namespace == "variable":
                value = state.variables.get(ref.name, MISSING)
            elif ref.namespace == "global":
                value = _global(ref.name, now, region, account)
            elif ref.name == "EXECUTION_ID":
                value = state.execution_id
        if value is MISSING and strict:
            raise _Unresolved(ref)
        return value

    return lookup


def _describe(ref: Reference) -> str:
    if isinstance(ref, ParameterRef):
        return f"{{{{ {ref.name} }}}} (parameter has no value)"
    if isinstance(ref, StepOutputRef):
        return f"{{{{ {ref.step}.{ref.output} }}}} (step '{ref.step}' has not produced this output)"
    if isinstance(ref, NamespacedRef):
        return f"{{{{ {ref.namespace}:{ref.name} }}}} (no value)"
    return str(ref)


def resolve(value: Any, state: ExecutionState, now: datetime) -> Any:
    """Substitute ``value``; raise ``_Unresolved`` for a reference with no value."""
    return render(value, lookup_for(state, now))


# -- outputs -----------------------------------------------------------------------------------


def _typed(name: str, type_name: str, value: Any) -> Any:
    if type_name == "String":
        return value if isinstance(value, str) else json.dumps(value)
    if type_name == "Integer":
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            return int(value)
        raise ValueError
    if type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if type_name == "StringList":
        items = value if isinstance(value, list) else [value]
        return [v if isinstance(v, str) else json.dumps(v) for v in items]
    if type_name == "StringMap":
        if isinstance(value, dict):
            return value
        raise ValueError
    if type_name == "MapList":
        items = value if isinstance(value, list) else [value]
        if all(isinstance(v, dict) for v in items):
            return items
        raise ValueError
    return value


def declared_outputs(step: Step, response: Any) -> tuple[dict[str, Any], str | None]:
    """Evaluate the step's ``outputs`` Selectors against ``response``; a selector that matches
    nothing leaves its output unset (docs/decisions.md)."""
    values: dict[str, Any] = {}
    for output in step.outputs:
        try:
            selector = parse_selector(output.selector)
        except SelectorSyntaxError as exc:
            return values, f"output '{output.name}': {exc.message}"
        matches = evaluate_selector(selector, response)
        if not matches:
            continue
        value = matches[0] if selector.is_singular else matches
        try:
            values[output.name] = _typed(output.name, output.type, value)
        except (ValueError, TypeError):
            shown = json.dumps(value, default=str)[:80]
            return values, (f"output '{output.name}' selected {shown}, which is not a "
                            f"{output.type}")
    return values, None


def api_outputs(outputs: dict[str, Any], step_name: str) -> dict[str, list[str]]:
    """``Step.Output`` → list of strings, the shape AWS reports outputs in."""
    shaped: dict[str, list[str]] = {}
    for name, value in outputs.items():
        items = value if isinstance(value, list) else [value]
        shaped[f"{step_name}.{name}"] = [
            v if isinstance(v, str) else json.dumps(v, default=str) for v in items
        ]
    return shaped


# -- conditions (aws:branch and aws:loop) -------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return float(value)


def evaluate_condition(condition: dict[str, Any], state: ExecutionState, now: datetime) -> bool:
    """One branch-style condition: Variable + operator, or And / Or / Not."""
    if "And" in condition:
        return all(evaluate_condition(c, state, now) for c in condition["And"])
    if "Or" in condition:
        return any(evaluate_condition(c, state, now) for c in condition["Or"])
    if "Not" in condition:
        return not evaluate_condition(condition["Not"], state, now)
    variable = resolve(condition.get("Variable"), state, now)
    operator = next(k for k in condition if k not in ("Variable", "NextStep"))
    operand = resolve(condition[operator], state, now)
    text = variable if isinstance(variable, str) else json.dumps(variable)
    if operator == "StringEquals":
        return text == str(operand)
    if operator == "EqualsIgnoreCase":
        return text.lower() == str(operand).lower()
    if operator == "StartsWith":
        return text.startswith(str(operand))
    if operator == "EndsWith":
        return text.endswith(str(operand))
    if operator == "Contains":
        if isinstance(variable, list):
            return operand in variable or str(operand) in [str(v) for v in variable]
        return str(operand) in text
    if operator == "BooleanEquals":
        left = variable if isinstance(variable, bool) else str(variable).lower() == "true"
        right = operand if isinstance(operand, bool) else str(operand).lower() == "true"
        return left == right
    left_n, right_n = _number(variable), _number(operand)
    return {
        "NumericEquals": left_n == right_n,
        "NumericGreater": left_n > right_n,
        "NumericLesser": left_n < right_n,
        "NumericGreaterOrEquals": left_n >= right_n,
        "NumericLesserOrEquals": left_n <= right_n,
    }[operator]


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


def _started(state: ExecutionState, step: Step, inputs: dict[str, Any], now: datetime,
             attempt: int) -> dict[str, Any]:
    record = state.last_record(step.name)
    reuse = record is not None and record.status == IN_PROGRESS and (
        attempt > 1 or state.started_step_pending)
    seid = record.step_execution_id if reuse and record else new_id()
    frame = state.loops[-1] if state.loops and step.parent == state.loops[-1].step_name else None
    parent = None
    if frame is not None:
        value = frame.items[frame.iteration - 1] if frame.items else None
        parent = {"StepName": frame.step_name, "StepExecutionId": frame.step_execution_id,
                  "Iteration": frame.iteration, "IteratorValue": value}
    return {"type": "StepStarted", "step": step.name, "action": step.action, "id": seid,
            "attempt": attempt, "inputs": inputs, "at": iso(now), "parent": parent}


def _instant(step: Step, status: str, *, next_step: str | None = None,
             outputs: dict[str, Any] | None = None, message: str | None = None,
             variables: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
             now: datetime, failure_type: str | None = None) -> Record:
    return Record({
        "type": "StepInstant", "step": step.name, "action": step.action, "id": new_id(),
        "status": status, "next": next_step, "outputs": outputs or {}, "message": message,
        "failure_type": failure_type, "variables": variables or {}, "inputs": inputs or {},
        "at": iso(now),
    })


def finished(status: str, now: datetime, message: str | None = None) -> Record:
    return Record({"type": "Finished", "status": status, "message": message, "at": iso(now)})


def final_status(state: ExecutionState) -> str:
    if state.cancel_requested:
        return CANCELLED
    return state.critical_failure or SUCCESS


def next_action(document: Document, state: ExecutionState, now: datetime) -> Action | None:
    """What happens next in ``state``; None once the execution has finished."""
    if state.done:
        return None
    if state.waiting is not None:
        waiting = state.waiting
        until = parse_iso(waiting.until) if waiting.until else None
        if until is not None and now >= until:
            return Record({"type": "TimerFired", "at": iso(now)})
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
        return Record({"type": "WaitStarted", "kind": "interactive", "step": step.name,
                       "until": None, "at": iso(now)})
    frame = state.loops[-1] if state.loops and state.loops[-1].step_name == step.name else None
    if step.action == "aws:loop":
        return _loop_action(step, state, now, frame)
    if step.action in WAITING_ACTIONS:
        return _wait_action(step, state, now)
    try:
        inputs = resolve(step.inputs, state, now)
    except _Unresolved as exc:
        return _instant(step, FAILED, now=now, failure_type="Verification",
                        message=f"cannot resolve {_describe(exc.ref)}")
    except TemplateSyntaxError as exc:
        return _instant(step, FAILED, now=now, failure_type="Verification",
                        message=f"malformed placeholder: {exc.message}")
    if step.action == "aws:branch":
        return _branch(step, state, now, inputs)
    if step.action == "aws:updateVariable":
        return _update_variable(document, step, now, inputs)
    record = state.last_record(step.name)
    attempt = 1
    if record is not None and record.status == IN_PROGRESS:
        # a start recorded without its end (a crash) runs again as the same attempt
        attempt = record.attempts if state.started_step_pending else record.attempts + 1
    return Execute(step, inputs, _started(state, step, inputs, now, attempt),
                   _step_timeout(step))


def _branch(step: Step, state: ExecutionState, now: datetime, inputs: dict[str, Any]) -> Record:
    choices = step.inputs.get("Choices") or []
    try:
        for choice in choices:
            if evaluate_condition(choice, state, now):
                return _instant(step, SUCCESS, next_step=choice.get("NextStep"), now=now,
                                inputs=inputs)
    except (_Unresolved, ValueError, TypeError, StopIteration) as exc:
        detail = _describe(exc.ref) if isinstance(exc, _Unresolved) else str(exc)
        return _instant(step, FAILED, now=now, message=f"cannot evaluate a choice: {detail}",
                        failure_type="Verification")
    default = step.inputs.get("Default")
    return _instant(step, SUCCESS, next_step=default if isinstance(default, str) else None,
                    now=now, inputs=inputs)


def _update_variable(document: Document, step: Step, now: datetime,
                     inputs: dict[str, Any]) -> Record:
    name = str(inputs.get("Name", ""))
    variable = document.variables.get(name.removeprefix("variable:"))
    if not name.startswith("variable:") or variable is None:
        return _instant(step, FAILED, now=now, inputs=inputs, failure_type="Verification",
                        message=f"Name {name!r} is not a declared variable ('variable:<name>')")
    value = inputs.get("Value")
    try:
        if variable.type == "String" and not isinstance(value, str):
            raise ValueError
        typed = _typed(variable.name, variable.type, value)
    except (ValueError, TypeError):
        return _instant(step, FAILED, now=now, inputs=inputs, failure_type="Verification",
                        message=f"Value {json.dumps(value, default=str)[:80]} is not a "
                                f"{variable.type}; aws:updateVariable does not convert types")
    return _instant(step, SUCCESS, now=now, inputs=inputs, variables={variable.name: typed})


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
                items = [_typed("iterator", kind, v) if kind != "String" else
                         (v if isinstance(v, str) else json.dumps(v)) for v in items]
            maximum = resolve(inputs.get("MaxIterations", MAX_LOOP_ITERATIONS), state, now)
            maximum = int(maximum)
        except (_Unresolved, ValueError, TypeError) as exc:
            detail = _describe(exc.ref) if isinstance(exc, _Unresolved) else str(exc)
            return _instant(step, FAILED, now=now, message=f"cannot start the loop: {detail}")
        if items is not None and len(items) > MAX_LOOP_ITERATIONS:
            return _instant(step, FAILED, now=now, failure_type="Verification",
                            message=f"{len(items)} iterators; aws:loop takes at most "
                                    f"{MAX_LOOP_ITERATIONS}")
        maximum = max(1, min(maximum, MAX_LOOP_ITERATIONS))
        if items is not None and not items:
            return _instant(step, SUCCESS, now=now,
                            outputs={"CurrentIteration": 0})
        return Record({"type": "LoopStarted", "step": step.name, "id": new_id(), "items": items,
                       "max": maximum, "at": iso(now),
                       "inputs": {"Iterators": items} if items is not None else {}})
    # a pass has ended: go round again?
    again = frame.iteration < frame.max_iterations
    if frame.items is not None:
        again = again and frame.iteration < len(frame.items)
    elif isinstance(inputs.get("LoopCondition"), dict):
        try:
            again = again and evaluate_condition(inputs["LoopCondition"], state, now)
        except (_Unresolved, ValueError, TypeError, StopIteration) as exc:
            detail = _describe(exc.ref) if isinstance(exc, _Unresolved) else str(exc)
            return Record({"type": "LoopEnded", "step": step.name, "status": FAILED,
                           "message": f"cannot evaluate LoopCondition: {detail}",
                           "at": iso(now)})
    if again:
        return Record({"type": "LoopNext", "step": step.name, "at": iso(now)})
    return Record({"type": "LoopEnded", "step": step.name, "status": SUCCESS, "message": None,
                   "at": iso(now)})


def _wait_action(step: Step, state: ExecutionState, now: datetime) -> Record:
    try:
        inputs = resolve(step.inputs, state, now)
    except _Unresolved as exc:
        return _instant(step, FAILED, now=now, message=f"cannot resolve {_describe(exc.ref)}")
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
            return _instant(step, FAILED, now=now, inputs=inputs, failure_type="Verification",
                            message=str(exc))
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
        return _instant(step, SUCCESS, now=now, inputs=inputs)
    started = _started(state, step, inputs, now, 1)
    return Record({**started, "type": "WaitStarted", "kind": step.action.removeprefix("aws:"),
                   "until": iso(until) if until else None, "min_approvals": minimum})


# -- apply -------------------------------------------------------------------------------------


def apply(document: Document, state: ExecutionState, event: dict[str, Any]) -> ExecutionState:
    """Fold ``event`` into ``state`` (in place) and return it."""
    state.seq += 1
    kind = event["type"]
    handler = _APPLY.get(kind)
    if handler is None:
        raise ValueError(f"unknown event type {kind!r}")
    handler(document, state, event)
    return state


def _apply_started(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    state.status = IN_PROGRESS if state.mode == "Auto" else WAITING
    state.parameters = dict(event["parameters"])
    state.document_name = event.get("document_name", "")
    state.document_version = str(event.get("document_version", "1"))
    state.mode = event.get("mode", "Auto")
    state.start = event["at"]
    state.variables = {
        name: definition.default for name, definition in document.variables.items()
        if definition.has_default
    }
    state.cursor = document.steps[0].name if document.steps else None
    if state.mode == "Interactive":
        state.status = WAITING


def _new_record(document: Document, state: ExecutionState, event: dict[str, Any]
                ) -> StepRecord:
    step = document.step(event["step"])
    assert step is not None
    record = state.record(event["id"])
    parent = event.get("parent")
    if parent is None and state.loops and state.loops[-1].step_name == step.parent:
        frame = state.loops[-1]
        parent = {"StepName": frame.step_name, "StepExecutionId": frame.step_execution_id,
                  "Iteration": frame.iteration,
                  "IteratorValue": frame.items[frame.iteration - 1] if frame.items else None}
    if record is None:
        record = StepRecord(
            step_execution_id=event["id"], step_name=step.name, action=step.action,
            start=event["at"], on_failure=step.on_failure, max_attempts=step.max_attempts,
            timeout_seconds=step.timeout_seconds, is_critical=step.is_critical,
            is_end=step.is_end, next_step=step.next_step, parent=parent,
        )
        state.add_record(record)
    record.inputs = event.get("inputs", record.inputs)
    return record


def _apply_step_started(document: Document, state: ExecutionState, event: dict[str, Any]
                        ) -> None:
    record = _new_record(document, state, event)
    record.status = IN_PROGRESS
    record.attempts = event.get("attempt", record.attempts + 1)
    state.started_step_pending = True
    if state.status == WAITING:
        state.status = IN_PROGRESS if not state.cancel_path else CANCELLING
    state.interactive_next = None


def _apply_step_finished(document: Document, state: ExecutionState, event: dict[str, Any]
                         ) -> None:
    record = state.record(event["id"])
    assert record is not None
    step = document.step(record.step_name)
    assert step is not None
    state.started_step_pending = False
    status = event["status"]
    record.end = event["at"]
    record.response = event.get("response")
    if status == SUCCESS:
        record.status = SUCCESS
        record.outputs = api_outputs(event.get("outputs", {}), step.name)
        state.outputs[step.name] = dict(event.get("outputs", {}))
        _after_success(document, state, step, None)
        return
    record.failure_message = event.get("message")
    record.failure_type = event.get("failure_type")
    if status == CANCELLED:
        record.status = CANCELLED
        _after_cancel(document, state, step)
        return
    if record.attempts < step.max_attempts and not state.cancel_requested:
        record.status = IN_PROGRESS  # another attempt follows
        return
    record.status = status
    _after_failure(document, state, step, status, record.failure_message)


def _apply_instant(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    record = _new_record(document, state, event)
    record.attempts = 1
    record.end = event["at"]
    step = document.step(event["step"])
    assert step is not None
    state.variables.update(event.get("variables", {}))
    if event["status"] == SUCCESS:
        record.status = SUCCESS
        record.outputs = api_outputs(event.get("outputs", {}), step.name)
        state.outputs[step.name] = dict(event.get("outputs", {}))
        if step.action == "aws:branch":
            _after_branch(document, state, step, event.get("next"))
        else:
            _after_success(document, state, step, None)
        return
    record.status = event["status"]
    record.failure_message = event.get("message")
    record.failure_type = event.get("failure_type")
    _after_failure(document, state, step, event["status"], record.failure_message)


def _after_branch(document: Document, state: ExecutionState, step: Step,
                  target: str | None) -> None:
    if target is None and step.is_end:
        _end_here(document, state, step)
        return
    _goto(document, state, step, target)


def _siblings(document: Document, step: Step) -> tuple[Step, ...]:
    if step.parent is None:
        return document.steps
    parent = document.step(step.parent)
    return parent.steps if parent is not None else ()


def _following(document: Document, step: Step) -> str | None:
    return document.following(step.name)


def _inside(document: Document, loop_name: str, target: str) -> bool:
    step = document.step(target)
    while step is not None and step.parent is not None:
        if step.parent == loop_name:
            return True
        step = document.step(step.parent)
    return False


def _after_success(document: Document, state: ExecutionState, step: Step,
                   target: str | None) -> None:
    if step.is_end:
        _end_here(document, state, step)
        return
    _goto(document, state, step, target or step.next_step)


def _end_here(document: Document, state: ExecutionState, step: Step) -> None:
    """``isEnd``: inside a loop it ends the pass; elsewhere the execution."""
    if step.parent is not None and state.loops and state.loops[-1].step_name == step.parent:
        state.cursor = step.parent  # the loop decides whether to go round again
        return
    state.cursor = None


def _goto(document: Document, state: ExecutionState, step: Step, target: str | None) -> None:
    if target is None:
        following = _following(document, step)
        if following is None and step.parent is not None:
            state.cursor = step.parent  # the pass is over
            return
        state.cursor = following
        return
    # leaving loops whose body does not contain the target
    while state.loops and not _inside(document, state.loops[-1].step_name, target):
        frame = state.loops.pop()
        record = state.record(frame.step_execution_id)
        if record is not None:
            record.status = SUCCESS
            record.end = record.end or record.start
            loop_outputs = _loop_outputs(frame)
            record.outputs = api_outputs(loop_outputs, frame.step_name)
            state.outputs[frame.step_name] = loop_outputs
    state.cursor = target


def _loop_outputs(frame: LoopFrame) -> dict[str, Any]:
    outputs: dict[str, Any] = {"CurrentIteration": frame.iteration}
    if frame.items:
        outputs["CurrentIteratorValue"] = frame.items[frame.iteration - 1]
    return outputs


def _after_failure(document: Document, state: ExecutionState, step: Step, status: str,
                   message: str | None) -> None:
    on_failure = step.on_failure
    if step.is_critical:
        state.critical_failure = state.critical_failure or (
            TIMED_OUT if status == TIMED_OUT else FAILED)
        state.failure_message = state.failure_message or (
            f"Step {step.name} failed: {message}" if message else f"Step {step.name} failed")
    if on_failure == "Continue":
        _after_success(document, state, step, None)
        return
    target = step_target(on_failure)
    if target is not None:
        _goto(document, state, step, target)
        return
    # Abort: inside a loop the loop step fails and its own onFailure applies
    if step.parent is not None and state.loops and state.loops[-1].step_name == step.parent:
        frame = state.loops.pop()
        record = state.record(frame.step_execution_id)
        loop_step = document.step(frame.step_name)
        if record is not None:
            record.status = status
            record.failure_message = message
            record.outputs = api_outputs(_loop_outputs(frame), frame.step_name)
        state.outputs[frame.step_name] = _loop_outputs(frame)
        if loop_step is not None:
            _after_failure(document, state, loop_step, status, message)
            return
    state.critical_failure = TIMED_OUT if status == TIMED_OUT else FAILED
    state.failure_message = state.failure_message or (
        f"Step {step.name} failed: {message}" if message else f"Step {step.name} failed")
    state.cursor = None


def _after_cancel(document: Document, state: ExecutionState, step: Step) -> None:
    state.cancel_requested = True
    target = step_target(step.on_cancel)
    if target is not None and not state.cancel_path:
        state.cancel_path = True
        state.status = CANCELLING
        state.loops = [f for f in state.loops if _inside(document, f.step_name, target)]
        state.cursor = target
        return
    state.cursor = None


def _apply_loop_started(document: Document, state: ExecutionState, event: dict[str, Any]
                        ) -> None:
    step = document.step(event["step"])
    assert step is not None
    record = _new_record(document, state, event)
    record.status = IN_PROGRESS
    record.attempts = 1
    state.loops.append(LoopFrame(step.name, event["id"], 1, event.get("items"), event["max"]))
    state.outputs[step.name] = _loop_outputs(state.loops[-1])
    state.cursor = step.steps[0].name if step.steps else step.name


def _apply_loop_next(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    frame = state.loops[-1]
    frame.iteration += 1
    state.outputs[frame.step_name] = _loop_outputs(frame)
    step = document.step(frame.step_name)
    assert step is not None
    state.cursor = step.steps[0].name


def _apply_loop_ended(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    frame = state.loops.pop()
    record = state.record(frame.step_execution_id)
    step = document.step(frame.step_name)
    assert record is not None and step is not None
    record.end = event["at"]
    record.outputs = api_outputs(_loop_outputs(frame), step.name)
    state.outputs[step.name] = _loop_outputs(frame)
    if event["status"] == SUCCESS:
        record.status = SUCCESS
        _after_success(document, state, step, None)
    else:
        record.status = event["status"]
        record.failure_message = event.get("message")
        _after_failure(document, state, step, event["status"], record.failure_message)


def _apply_wait_started(document: Document, state: ExecutionState, event: dict[str, Any]
                        ) -> None:
    if event["kind"] != "interactive":
        record = _new_record(document, state, event)
        record.status = WAITING if event["kind"] in ("pause", "approve") else IN_PROGRESS
        record.attempts = 1
    state.waiting = Waiting(event["kind"], event.get("step"), event["at"], event.get("until"),
                            min_approvals=int(event.get("min_approvals", 1)))
    state.status = WAITING if event["kind"] in ("pause", "approve", "interactive") else (
        state.status if state.status != WAITING else IN_PROGRESS)


def _finish_wait(document: Document, state: ExecutionState, status: str, at: str,
                 outputs: dict[str, Any] | None = None, message: str | None = None) -> None:
    waiting = state.waiting
    state.waiting = None
    state.status = CANCELLING if state.cancel_path else IN_PROGRESS
    if waiting is None or waiting.step_name is None or waiting.kind == "interactive":
        return
    record = state.last_record(waiting.step_name)
    assert record is not None
    record.attempts = max(record.attempts, 1)
    _apply_step_finished(document, state, {"id": record.step_execution_id, "status": status,
                                           "outputs": outputs or {}, "message": message,
                                           "at": at})


def _apply_timer(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    waiting = state.waiting
    if waiting is None:
        return
    if waiting.kind == "sleep":
        _finish_wait(document, state, SUCCESS, event["at"])
    else:
        _finish_wait(document, state, TIMED_OUT, event["at"],
                     {"ApprovalStatus": "Waiting"} if waiting.kind == "approve" else None,
                     f"the step timed out while waiting ({waiting.kind})")


def _apply_signal(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    signal = event["signal"]
    payload = event.get("payload") or {}
    waiting = state.waiting
    if signal == "Cancel":
        state.cancel_requested = True
        if waiting is not None and waiting.step_name is not None and waiting.kind != "interactive":
            record = state.last_record(waiting.step_name)
            state.waiting = None
            if record is not None:
                record.status = CANCELLED
                record.end = event["at"]
                step = document.step(record.step_name)
                if step is not None:
                    _after_cancel(document, state, step)
        elif waiting is not None:
            state.waiting = None
        if not state.cancel_path:
            state.status = CANCELLING
        return
    if waiting is None:
        return
    if waiting.kind == "pause" and signal == "Resume":
        _finish_wait(document, state, SUCCESS, event["at"])
    elif waiting.kind == "interactive" and signal in ("StartStep", "Resume"):
        wanted = _first(payload.get("StepName")) or waiting.step_name
        state.waiting = None
        state.status = IN_PROGRESS
        state.cursor = wanted
        state.interactive_next = wanted
    elif waiting.kind == "approve" and signal in ("Approve", "Reject"):
        decision = {"Approver": _first(payload.get("Approver")) or "ssm-local-user",
                    "Decision": "Approved" if signal == "Approve" else "Rejected",
                    "Comment": _first(payload.get("Comment")) or "",
                    "DecisionTime": event["at"]}
        waiting.approvals.append(decision)
        decisions = list(waiting.approvals)
        if signal == "Reject":
            _finish_wait(document, state, FAILED, event["at"],
                         {"ApprovalStatus": "Rejected", "ApproverDecisions": decisions},
                         f"the step was rejected by {decision['Approver']}")
        elif sum(1 for d in decisions if d["Decision"] == "Approved") >= waiting.min_approvals:
            _finish_wait(document, state, SUCCESS, event["at"],
                         {"ApprovalStatus": "Approved", "ApproverDecisions": decisions})


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _apply_finished(document: Document, state: ExecutionState, event: dict[str, Any]) -> None:
    state.status = event["status"]
    state.end = event["at"]
    state.cursor = None
    state.waiting = None
    if event.get("message"):
        state.failure_message = event["message"]
    for record in state.records:
        if record.status in (IN_PROGRESS, WAITING):
            record.status = CANCELLED if event["status"] == CANCELLED else record.status
            record.end = record.end or event["at"]


_APPLY = {
    "Started": _apply_started,
    "StepStarted": _apply_step_started,
    "StepFinished": _apply_step_finished,
    "StepInstant": _apply_instant,
    "LoopStarted": _apply_loop_started,
    "LoopNext": _apply_loop_next,
    "LoopEnded": _apply_loop_ended,
    "WaitStarted": _apply_wait_started,
    "TimerFired": _apply_timer,
    "Signal": _apply_signal,
    "Finished": _apply_finished,
}


def started_event(execution_id: str, document_name: str, document_version: str,
                  parameters: dict[str, Any], mode: str, now: datetime) -> dict[str, Any]:
    return {"type": "Started", "execution_id": execution_id, "document_name": document_name,
            "document_version": document_version, "parameters": parameters, "mode": mode,
            "at": iso(now)}


def new_state(execution_id: str) -> ExecutionState:
    return ExecutionState(execution_id=execution_id)


def replay(document: Document, execution_id: str, events: list[dict[str, Any]]
           ) -> ExecutionState:
    """The state after ``events``, as the runner rebuilds it after a restart."""
    state = new_state(execution_id)
    for event in events:
        apply(document, state, event)
    return state

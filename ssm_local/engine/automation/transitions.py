"""How each event changes an Automation execution: ``apply(document, state, event)``.

``apply`` is the only function that changes an ``ExecutionState`` (temporal's ``_apply_*``
handlers): one handler per event type folds the event in, moves the cursor to the step that runs
next and applies AWS's control flow (ssm-semantics.md §5): ``maxAttempts`` (another attempt
follows a failure), ``onFailure`` (Abort, Continue, ``step:X``), ``onCancel``, ``isCritical``,
``isEnd`` (inside ``aws:loop`` it ends the pass), ``nextStep`` and the branch taken, leaving loops
whose body does not hold the target. It reads nothing but the document, the state and the event
(times come from the event), so ``replay`` rebuilds after a crash the execution that was running.
"""

from __future__ import annotations

from typing import Any

from ssm_local.documents.graph import step_target
from ssm_local.documents.model import Document, Step
from ssm_local.engine.automation.approvers import approvers_of, is_approver
from ssm_local.engine.automation.events import (
    Event,
    Finished,
    LoopEnded,
    LoopNext,
    LoopStarted,
    Signal,
    Started,
    StepFinished,
    StepInstant,
    StepStarted,
    TimerFired,
    WaitStarted,
)
from ssm_local.engine.automation.outputs import api_outputs, loop_outputs
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

__all__ = ["apply", "new_state", "replay"]


def new_state(execution_id: str) -> ExecutionState:
    """The state of an execution before its ``Started`` event."""
    return ExecutionState(execution_id=execution_id)


def replay(document: Document, execution_id: str, events: list[Event]) -> ExecutionState:
    """The state after ``events``, as the runner rebuilds it after a restart."""
    state = new_state(execution_id)
    for event in events:
        apply(document, state, event)
    return state


def apply(document: Document, state: ExecutionState, event: Event) -> ExecutionState:
    """Fold ``event`` into ``state`` (in place; ``state.seq`` counts the events) and return it."""
    state.seq += 1
    handler = _APPLY.get(type(event))
    if handler is None:
        raise ValueError(f"unknown event type {type(event).__name__!r}")
    handler(document, state, event)
    return state


def _apply_started(document: Document, state: ExecutionState, event: Started) -> None:
    state.status = IN_PROGRESS if state.mode == "Auto" else WAITING
    state.parameters = dict(event.parameters)
    state.document_name = event.document_name
    state.document_version = event.document_version
    state.mode = event.mode
    state.start = event.at
    state.variables = {
        name: definition.default for name, definition in document.variables.items()
        if definition.has_default
    }
    state.cursor = document.steps[0].name if document.steps else None
    if state.mode == "Interactive":
        state.status = WAITING


def _loop_parent(frame: LoopFrame) -> dict[str, Any]:
    """ParentStepDetails of a step on ``frame``'s current pass."""
    return {"StepName": frame.step_name, "StepExecutionId": frame.step_execution_id,
            "Iteration": frame.iteration,
            "IteratorValue": frame.items[frame.iteration - 1] if frame.items else None}


def _new_record(document: Document, state: ExecutionState, step_name: str, seid: str, at: str,
                inputs: dict[str, Any] | None, parent: dict[str, Any] | None = None
                ) -> StepRecord:
    """The StepExecution ``seid`` (created on its first event; ``inputs`` None keeps its own)."""
    step = document.step(step_name)
    assert step is not None
    record = state.record(seid)
    if parent is None and state.loops and state.loops[-1].step_name == step.parent:
        parent = _loop_parent(state.loops[-1])
    if record is None:
        record = StepRecord(
            step_execution_id=seid, step_name=step.name, action=step.action,
            start=at, on_failure=step.on_failure, max_attempts=step.max_attempts,
            timeout_seconds=step.timeout_seconds, is_critical=step.is_critical,
            is_end=step.is_end, next_step=step.next_step, parent=parent,
        )
        state.add_record(record)
    if inputs is not None:
        record.inputs = inputs
    return record


def _apply_step_started(document: Document, state: ExecutionState, event: StepStarted) -> None:
    record = _new_record(document, state, event.step, event.id, event.at, event.inputs,
                         event.parent)
    record.status = IN_PROGRESS
    record.attempts = event.attempt if event.attempt is not None else record.attempts + 1
    state.started_step_pending = True
    if state.status == WAITING:
        state.status = IN_PROGRESS if not state.cancel_path else CANCELLING
    state.interactive_next = None


def _apply_step_finished(document: Document, state: ExecutionState, event: StepFinished) -> None:
    record = state.record(event.id)
    assert record is not None
    step = document.step(record.step_name)
    assert step is not None
    state.started_step_pending = False
    status = event.status
    record.end = event.at
    record.response = event.response
    if status == SUCCESS:
        record.status = SUCCESS
        record.outputs = api_outputs(event.outputs, step.name)
        state.outputs[step.name] = dict(event.outputs)
        _after_success(document, state, step, None)
        return
    record.failure_message = event.message
    record.failure_type = event.failure_type
    if status == CANCELLED:
        record.status = CANCELLED
        _after_cancel(document, state, step)
        return
    if record.attempts < step.max_attempts and not state.cancel_requested:
        record.status = IN_PROGRESS  # another attempt follows
        return
    record.status = status
    _after_failure(document, state, step, status, record.failure_message)


def _apply_instant(document: Document, state: ExecutionState, event: StepInstant) -> None:
    record = _new_record(document, state, event.step, event.id, event.at, event.inputs)
    record.attempts = 1
    record.end = event.at
    step = document.step(event.step)
    assert step is not None
    state.variables.update(event.variables)
    if event.status == SUCCESS:
        record.status = SUCCESS
        record.outputs = api_outputs(event.outputs, step.name)
        state.outputs[step.name] = dict(event.outputs)
        if step.action == "aws:branch":
            _after_branch(document, state, step, event.next_step)
        else:
            _after_success(document, state, step, None)
        return
    record.status = event.status
    record.failure_message = event.message
    record.failure_type = event.failure_type
    _after_failure(document, state, step, event.status, record.failure_message)


def _after_branch(document: Document, state: ExecutionState, step: Step,
                  target: str | None) -> None:
    if target is None and step.is_end:
        _end_here(state, step)
        return
    _goto(document, state, step, target)


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
        _end_here(state, step)
        return
    _goto(document, state, step, target or step.next_step)


def _end_here(state: ExecutionState, step: Step) -> None:
    """``isEnd``: inside a loop it ends the pass; elsewhere the execution."""
    if step.parent is not None and state.loops and state.loops[-1].step_name == step.parent:
        state.cursor = step.parent  # the loop decides whether to go round again
        return
    state.cursor = None


def _goto(document: Document, state: ExecutionState, step: Step, target: str | None) -> None:
    if target is None:
        following = document.following(step.name)
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
            outputs = loop_outputs(frame)
            record.outputs = api_outputs(outputs, frame.step_name)
            state.outputs[frame.step_name] = outputs
    state.cursor = target


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
            record.outputs = api_outputs(loop_outputs(frame), frame.step_name)
        state.outputs[frame.step_name] = loop_outputs(frame)
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


def _apply_loop_started(document: Document, state: ExecutionState, event: LoopStarted) -> None:
    step = document.step(event.step)
    assert step is not None
    record = _new_record(document, state, event.step, event.id, event.at, event.inputs)
    record.status = IN_PROGRESS
    record.attempts = 1
    state.loops.append(LoopFrame(step.name, event.id, 1, event.items, event.max_iterations))
    state.outputs[step.name] = loop_outputs(state.loops[-1])
    state.cursor = step.steps[0].name if step.steps else step.name


def _apply_loop_next(document: Document, state: ExecutionState, event: LoopNext) -> None:
    frame = state.loops[-1]
    frame.iteration += 1
    state.outputs[frame.step_name] = loop_outputs(frame)
    step = document.step(frame.step_name)
    assert step is not None
    state.cursor = step.steps[0].name


def _apply_loop_ended(document: Document, state: ExecutionState, event: LoopEnded) -> None:
    frame = state.loops.pop()
    record = state.record(frame.step_execution_id)
    step = document.step(frame.step_name)
    assert record is not None and step is not None
    record.end = event.at
    record.outputs = api_outputs(loop_outputs(frame), step.name)
    state.outputs[step.name] = loop_outputs(frame)
    if event.status == SUCCESS:
        record.status = SUCCESS
        _after_success(document, state, step, None)
    else:
        record.status = event.status
        record.failure_message = event.message
        _after_failure(document, state, step, event.status, record.failure_message)


def _apply_wait_started(document: Document, state: ExecutionState, event: WaitStarted) -> None:
    if event.kind != "interactive":
        assert event.step is not None and event.id is not None
        record = _new_record(document, state, event.step, event.id, event.at, event.inputs,
                             event.parent)
        record.status = WAITING if event.kind in ("pause", "approve") else IN_PROGRESS
        record.attempts = 1
    state.waiting = Waiting(event.kind, event.step, event.at, event.until,
                            min_approvals=event.min_approvals)
    state.status = WAITING if event.kind in ("pause", "approve", "interactive") else (
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
    _apply_step_finished(document, state, StepFinished(
        id=record.step_execution_id, status=status, outputs=outputs or {}, response=None,
        message=message, failure_type=None, at=at))


def _apply_timer(document: Document, state: ExecutionState, event: TimerFired) -> None:
    waiting = state.waiting
    if waiting is None:
        return
    if waiting.kind == "sleep":
        _finish_wait(document, state, SUCCESS, event.at)
    else:
        _finish_wait(document, state, TIMED_OUT, event.at,
                     {"ApprovalStatus": "Waiting"} if waiting.kind == "approve" else None,
                     f"the step timed out while waiting ({waiting.kind})")


def _apply_signal(document: Document, state: ExecutionState, event: Signal) -> None:
    signal = event.signal
    payload = event.payload or {}
    waiting = state.waiting
    if signal == "Cancel":
        state.cancel_requested = True
        if waiting is not None and waiting.step_name is not None and waiting.kind != "interactive":
            record = state.last_record(waiting.step_name)
            state.waiting = None
            if record is not None:
                record.status = CANCELLED
                record.end = event.at
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
        _finish_wait(document, state, SUCCESS, event.at)
    elif waiting.kind == "interactive" and signal in ("StartStep", "Resume"):
        wanted = _first(payload.get("StepName")) or waiting.step_name
        state.waiting = None
        state.status = IN_PROGRESS
        state.cursor = wanted
        state.interactive_next = wanted
    elif waiting.kind == "approve" and signal in ("Approve", "Reject"):
        if event.identity is not None:
            record = state.last_record(waiting.step_name) if waiting.step_name else None
            if not is_approver(event.identity, approvers_of(record.inputs if record else {})) or any(
                    d["Approver"] == event.identity for d in waiting.approvals):
                return  # not an approver, or already decided: one identity counts once
        decision = {"Approver": event.identity or _first(payload.get("Approver")) or "ssm-local-user",
                    "Decision": "Approved" if signal == "Approve" else "Rejected",
                    "Comment": _first(payload.get("Comment")) or "",
                    "DecisionTime": event.at}
        waiting.approvals.append(decision)
        decisions = list(waiting.approvals)
        if signal == "Reject":
            _finish_wait(document, state, FAILED, event.at,
                         {"ApprovalStatus": "Rejected", "ApproverDecisions": decisions},
                         f"the step was rejected by {decision['Approver']}")
        elif sum(1 for d in decisions if d["Decision"] == "Approved") >= waiting.min_approvals:
            _finish_wait(document, state, SUCCESS, event.at,
                         {"ApprovalStatus": "Approved", "ApproverDecisions": decisions})


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _apply_finished(document: Document, state: ExecutionState, event: Finished) -> None:
    state.status = event.status
    state.end = event.at
    state.cursor = None
    state.waiting = None
    if event.message:
        state.failure_message = event.message
    for record in state.records:
        if record.status in (IN_PROGRESS, WAITING):
            record.status = CANCELLED if event.status == CANCELLED else record.status
            record.end = record.end or event.at


_APPLY: dict[type, Any] = {
    Started: _apply_started,
    StepStarted: _apply_step_started,
    StepFinished: _apply_step_finished,
    StepInstant: _apply_instant,
    LoopStarted: _apply_loop_started,
    LoopNext: _apply_loop_next,
    LoopEnded: _apply_loop_ended,
    WaitStarted: _apply_wait_started,
    TimerFired: _apply_timer,
    Signal: _apply_signal,
    Finished: _apply_finished,
}

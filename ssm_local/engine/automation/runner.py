"""The Automation runner: the only code that calls action handlers, the clock and the store.

``AutomationRunner.run()`` loops on ``interpreter.next_action``, giving it the injected clock's
``now()``: it persists every event (the typed values of ``events``) before applying it (one
transaction per event, through an ``EventLog``), runs ``Execute`` actions through their handler
with the step's timeout raced on the clock, and waits out ``Wait`` actions until a signal, the
timer or a cancellation; the events it makes itself (a signal taken, a step's end, a timer
fired) carry the clock's time. Signals arrive from the same process (``notify``) or from others
through the store, which the runner polls. A step whose start was persisted but whose end was
not (the process died) runs again when the execution resumes: at-least-once, as
docs/automation.md says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ssm_local.documents.model import Document
from ssm_local.engine.automation.actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionResult,
    AutomationAction,
    AutomationStarter,
    CommandSender,
)
from ssm_local.engine.automation.events import Event, Signal, StepFinished, TimerFired, iso
from ssm_local.engine.automation.interpreter import Execute, Record, Wait, apply, next_action
from ssm_local.engine.automation.outputs import declared_outputs
from ssm_local.engine.automation.state import FAILED, SUCCESS, ExecutionState
from ssm_local.engine.clock import Clock, hold

CANCEL_GRACE_SECONDS = 5.0
MAX_PAYLOAD_BYTES = 100 * 1024


class EventLog(Protocol):
    """Where the runner writes its history and reads signals (the store, or memory in tests)."""

    def append(self, state: ExecutionState, events: list[tuple[int, Event]]) -> None:
        """Write ``(seq, event)`` pairs in one transaction (each as ``event.to_json()``);
        ``state`` is the state before the last of them is applied."""
        ...

    def take_signals(self, execution_id: str, accept: frozenset[str]
                     ) -> list[tuple[str, dict[str, Any]]]:
        """Remove and return the oldest pending signal whose type is in ``accept`` (a list of
        at most one: each signal changes what the execution accepts next)."""
        ...


ALWAYS = frozenset({"Cancel", "StopStep"})
SENDER_KEY = "ssm-local:identity"
"""Where a stored signal's payload carries who sent it (taken out into ``Signal.identity``; no
AWS payload key has a colon)."""
ACCEPTED_WHILE = {
    "pause": ALWAYS | {"Resume"},
    "approve": ALWAYS | {"Approve", "Reject"},
    "interactive": ALWAYS | {"StartStep", "Resume"},
    "sleep": ALWAYS,
}


def accepted_signals(state: ExecutionState) -> frozenset[str]:
    """Signals the execution can take now; others wait in the store for their moment."""
    if state.waiting is None:
        return ALWAYS
    return ACCEPTED_WHILE.get(state.waiting.kind, ALWAYS)


class MemoryLog:
    """An ``EventLog`` in memory: for tests and dry runs. ``events`` holds each event's JSON
    form as a store would give it back (``event_from_json`` reads it); ``signals`` the signals
    waiting to be taken, oldest first."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.signals: list[tuple[str, dict[str, Any]]] = []

    def append(self, state: ExecutionState, events: list[tuple[int, Event]]) -> None:
        for _, event in events:
            self.events.append(json.loads(json.dumps(event.to_json(), default=str)))

    def take_signals(self, execution_id: str, accept: frozenset[str]
                     ) -> list[tuple[str, dict[str, Any]]]:
        for index, signal in enumerate(self.signals):
            if signal[0] in accept:
                del self.signals[index]
                return [signal]
        return []


@dataclass
class RunnerOptions:
    """How handlers reach the outside world."""

    clients: Callable[[str], Any]
    region: str = "us-east-1"
    account_id: str = "123456789012"
    attachments_dir: str | None = None
    aws_endpoint_url: str | None = None
    commands: CommandSender | None = None
    """Run Command for aws:runCommand (``ActionContext.commands``)."""
    automations: AutomationStarter | None = None
    """Where aws:executeAutomation starts child executions (``ActionContext.automations``)."""
    poll_seconds: float = 0.2
    log: Callable[[str, str], None] | None = None
    """``log(step_name, text)``: a step's printed output and progress notes."""


class AutomationRunner:
    """Runs one execution to its end (or until it waits forever and is stopped).

    ``actions`` maps action names to handlers (default ``BUILTIN_ACTIONS``); a step whose action
    is neither in it nor run by the interpreter fails with FailureType ``Verification``.
    """

    def __init__(self, document: Document, state: ExecutionState, log: EventLog, clock: Clock,
                 options: RunnerOptions, *,
                 actions: Mapping[str, AutomationAction] | None = None) -> None:
        self.document = document
        self.actions = BUILTIN_ACTIONS if actions is None else actions
        self.state = state
        self.log = log
        self.clock = clock
        self.options = options
        self._signal = asyncio.Event()
        self._cancel = asyncio.Event()
        self.on_event: Callable[[ExecutionState, Event], None] | None = None
        self._ended_at: Any = None
        self._pending: list[tuple[int, Event]] = []

    def notify(self) -> None:
        """A signal was stored for this execution: look at it now rather than at the next poll."""
        notify = getattr(self.log, "notify", None)
        if notify is not None:
            notify()
        self._signal.set()

    def commit(self, event: Event, *, defer: bool = False) -> None:
        """Persist ``event``, then apply it. ``defer`` holds it back to be written in the same
        transaction as the next event (a step that finishes at once is one write)."""
        self._pending.append((self.state.seq + 1, event))
        if not defer:
            self.flush()
        apply(self.document, self.state, event)
        if self.on_event is not None:
            self.on_event(self.state, event)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.log.append(self.state, pending)

    def _drain_signals(self) -> bool:
        found = False
        while taken := self.log.take_signals(self.state.execution_id,
                                             accepted_signals(self.state)):
            found = True
            for signal_type, payload in taken:
                payload = dict(payload)
                sender = payload.pop(SENDER_KEY, None)
                self.commit(Signal(signal=signal_type, payload=payload,
                                   at=iso(self.clock.now()),
                                   identity=sender if isinstance(sender, str) else None))
                if signal_type in ALWAYS:
                    self._cancel.set()
        return found

    async def run(self) -> ExecutionState:
        while True:
            self._drain_signals()
            action = next_action(self.document, self.state, self.clock.now())
            if action is None:
                return self.state
            if isinstance(action, Record):
                self.commit(action.event)
            elif isinstance(action, Execute):
                await self._execute(action)
            else:
                await self._wait(action)

    async def _execute(self, action: Execute) -> None:
        self.commit(action.started, defer=True)
        self._cancel.clear()
        step = action.step
        seid = action.started.id
        try:
            handler = self.actions.get(step.action)
        except Exception as exc:  # a handler whose module cannot be imported fails its step
            result = ActionResult.failed(
                f"action {step.action} could not be loaded: {type(exc).__name__}: {exc}",
                failure_type="Verification")
        else:
            if handler is None:
                result = ActionResult.failed(
                    f"action {step.action} is not supported by ssm-local",
                    failure_type="Verification")
            else:
                result = await self._call(handler, action)
        ended_at = self._ended_at or self.clock.now()
        self._ended_at = None
        outputs: dict[str, Any] = dict(result.outputs)
        message = result.failure_message
        status: str = result.status
        if status == SUCCESS and step.outputs:
            declared, problem = declared_outputs(step, result.response)
            outputs.update(declared)
            if problem is not None:
                status, message = FAILED, problem
        self.commit(StepFinished(id=seid, status=status, outputs=outputs,
                                 response=_small(result.response), message=message,
                                 failure_type=result.failure_type, at=iso(ended_at)))

    async def _call(self, handler: AutomationAction, action: Execute) -> ActionResult:
        step = action.step
        writer = self.options.log

        def log(text: str) -> None:
            if writer is not None:
                writer(step.name, text)

        context = ActionContext(
            execution_id=self.state.execution_id, step_name=step.name, action=step.action,
            inputs=action.inputs, clients=self.options.clients, clock=self.clock,
            timeout_seconds=action.timeout_seconds, attempt=action.started.attempt or 1,
            cancel=self._cancel, log=log, region=self.options.region,
            account_id=self.options.account_id, attachments_dir=self.options.attachments_dir,
            aws_endpoint_url=self.options.aws_endpoint_url, commands=self.options.commands,
            automations=self.options.automations,
        )
        task: asyncio.Task[ActionResult] = asyncio.ensure_future(handler(context))
        await asyncio.sleep(0)  # a handler with nothing to wait for is done after one slice
        if task.done():
            try:
                return task.result()
            except Exception as exc:  # a handler bug is the step's failure, not the runner's
                return ActionResult.failed(f"{type(exc).__name__}: {exc}")
        self.flush()  # the step takes a while: let everyone see it started
        waiters: list[asyncio.Future[Any]] = [task]
        timer = (asyncio.ensure_future(self.clock.sleep(action.timeout_seconds))
                 if action.timeout_seconds else None)
        if timer is not None:
            waiters.append(timer)
        poller = asyncio.ensure_future(self._watch_for_cancel())
        waiters.append(poller)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for extra in (timer, poller):
                if extra is not None and not extra.done():
                    extra.cancel()
        if task.done():
            try:
                return task.result()
            except Exception as exc:  # a handler bug is the step's failure, not the runner's
                return ActionResult.failed(f"{type(exc).__name__}: {exc}")
        timed_out = timer is not None and timer.done() and not self._cancel.is_set()
        self._ended_at = self.clock.now()
        self._cancel.set()
        with hold(self.clock), contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), CANCEL_GRACE_SECONDS)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if timed_out:
            return ActionResult("TimedOut", failure_message=(
                f"Step timed out after {action.timeout_seconds:g} seconds"),
                failure_type="Unknown")
        return ActionResult("Cancelled", failure_message="Step was cancelled")

    async def _watch_for_cancel(self) -> None:
        while not self._cancel.is_set():
            self._drain_signals()
            if self._cancel.is_set():
                return
            self._signal.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), self.options.poll_seconds)

    async def _wait(self, action: Wait) -> None:
        timer: asyncio.Future[Any] | None = None
        if action.until is not None:
            delay = (action.until - self.clock.now()).total_seconds()
            timer = asyncio.ensure_future(self.clock.sleep(max(delay, 0)))
        try:
            while True:
                if self._drain_signals():
                    return
                if timer is not None and timer.done():
                    self.commit(TimerFired(at=iso(self.clock.now())))
                    return
                self._signal.clear()
                waiters: list[asyncio.Future[Any]] = [
                    asyncio.ensure_future(self._signal.wait())]
                if timer is not None:
                    waiters.append(timer)
                _, pending = await asyncio.wait(
                    waiters, timeout=self.options.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED)
                for future in pending:
                    if future is not timer:
                        future.cancel()
        finally:
            if timer is not None and not timer.done():
                timer.cancel()


def _small(response: Any) -> Any:
    """The response kept in the history: JSON-safe and at most 100 KB."""
    if response is None or isinstance(response, bool | int | float):
        return response
    try:
        text = json.dumps(response, default=str)
    except (TypeError, ValueError):
        return None
    if len(text) > MAX_PAYLOAD_BYTES:
        return {"truncated": True, "size": len(text)}
    return json.loads(text)

"""The events of an Automation execution: typed, frozen values with their JSON form.

An execution is its history: ``Started``, then one event per state change (a step started or
finished, an instant step decided, a loop pass, a wait begun, a timer fired, a signal taken) and
``Finished``. The interpreter decides events and ``transitions.apply`` folds them into an
``ExecutionState``; the runner persists each one (``to_json()``) before applying it, and a store
rebuilds the execution by reading them back (``event_from_json``) and replaying them.

The JSON form is the one the store has always held in ``automation_events.payload``: a ``type``
key naming the event and the fields below under their JSON names, so histories written by earlier
versions replay unchanged. Readers are tolerant where earlier writers were: a key that may be
missing reads as its default. Times (``at``, ``until``) are ISO 8601 strings in UTC, as written;
the interpreter never reads the wall clock, only these and the ``now`` it is given.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from ssm_local.engine.wire import iso8601, parse_iso8601

__all__ = [
    "ID_NAMESPACE",
    "Event",
    "Finished",
    "LoopEnded",
    "LoopNext",
    "LoopStarted",
    "Signal",
    "Started",
    "StepFinished",
    "StepInstant",
    "StepStarted",
    "TimerFired",
    "WaitStarted",
    "event_from_json",
    "iso",
    "parse_iso",
    "step_execution_id",
]

ID_NAMESPACE = uuid.UUID("5d0f6b8e-2a57-4c1e-9a43-53534d2d6c6f")
"""The namespace of the name-based UUIDs ``step_execution_id`` derives."""
_ID_HASH = hashlib.sha1(ID_NAMESPACE.bytes, usedforsecurity=False)


iso = iso8601
"""``moment`` as the ISO 8601 text events carry (UTC, ``+00:00``): ``wire.iso8601``."""

parse_iso = parse_iso8601
"""An event time (or any ISO 8601 text, ``Z`` allowed) as an aware UTC datetime."""


def step_execution_id(execution_id: str, seq: int) -> str:
    """The StepExecutionId of the step execution that the event at ``seq`` begins: the name-based
    UUID (version 5, RFC 4122) of ``"{execution_id}/{seq}"``, so a replayed or re-decided event
    gets the same id. Equal to ``str(uuid.uuid5(namespace, name))``, written out because this is
    on every step's path and ``uuid.UUID`` costs more than the hash."""
    hashed = _ID_HASH.copy()
    hashed.update(f"{execution_id}/{seq}".encode())
    digest = hashed.hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return (f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-"
            f"{digest[20:32]}")


@dataclass(frozen=True, slots=True)
class Started:
    """StartAutomationExecution: the resolved parameters and the mode (Auto or Interactive)."""

    type: ClassVar[str] = "Started"
    execution_id: str
    document_name: str
    document_version: str
    parameters: dict[str, Any]
    mode: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "Started", "execution_id": self.execution_id,
                "document_name": self.document_name, "document_version": self.document_version,
                "parameters": self.parameters, "mode": self.mode, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Started:
        return cls(execution_id=data.get("execution_id", ""),
                   document_name=data.get("document_name", ""),
                   document_version=str(data.get("document_version", "1")),
                   parameters=data["parameters"], mode=data.get("mode", "Auto"), at=data["at"])


@dataclass(frozen=True, slots=True)
class StepStarted:
    """An attempt of a step run through its action handler begins (``attempt`` counts from 1).

    ``parent`` is the ParentStepDetails of a step inside ``aws:loop`` (StepName,
    StepExecutionId, Iteration, IteratorValue). ``attempt`` and ``inputs`` may be None in
    histories that lack them: the record's own count and inputs are kept then."""

    type: ClassVar[str] = "StepStarted"
    step: str
    action: str
    id: str
    attempt: int | None
    inputs: dict[str, Any] | None
    at: str
    parent: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": "StepStarted", "step": self.step, "action": self.action, "id": self.id,
                "attempt": self.attempt, "inputs": self.inputs, "at": self.at,
                "parent": self.parent}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepStarted:
        return cls(step=data["step"], action=data.get("action", ""), id=data["id"],
                   attempt=data.get("attempt"), inputs=data.get("inputs"), at=data["at"],
                   parent=data.get("parent"))


@dataclass(frozen=True, slots=True)
class StepFinished:
    """An attempt ended with ``status`` (Success, Failed, TimedOut, Cancelled). ``outputs`` are
    the step's named outputs (native values); ``response`` the handler's response, at most
    100 KB."""

    type: ClassVar[str] = "StepFinished"
    id: str
    status: str
    outputs: dict[str, Any]
    response: Any
    message: str | None
    failure_type: str | None
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "StepFinished", "id": self.id, "status": self.status,
                "outputs": self.outputs, "response": self.response, "message": self.message,
                "failure_type": self.failure_type, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepFinished:
        return cls(id=data["id"], status=data["status"], outputs=data.get("outputs") or {},
                   response=data.get("response"), message=data.get("message"),
                   failure_type=data.get("failure_type"), at=data["at"])


@dataclass(frozen=True, slots=True)
class StepInstant:
    """A step decided by the interpreter alone, start and end in one event: ``aws:branch``
    (``next_step`` is the chosen step, None to fall through), ``aws:updateVariable``
    (``variables``), a step whose inputs cannot be resolved, an ``aws:sleep`` already due, an
    ``aws:loop`` over no items."""

    type: ClassVar[str] = "StepInstant"
    step: str
    action: str
    id: str
    status: str
    next_step: str | None
    outputs: dict[str, Any]
    message: str | None
    failure_type: str | None
    variables: dict[str, Any]
    inputs: dict[str, Any]
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "StepInstant", "step": self.step, "action": self.action, "id": self.id,
                "status": self.status, "next": self.next_step, "outputs": self.outputs,
                "message": self.message, "failure_type": self.failure_type,
                "variables": self.variables, "inputs": self.inputs, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepInstant:
        return cls(step=data["step"], action=data.get("action", ""), id=data["id"],
                   status=data["status"], next_step=data.get("next"),
                   outputs=data.get("outputs") or {}, message=data.get("message"),
                   failure_type=data.get("failure_type"), variables=data.get("variables") or {},
                   inputs=data.get("inputs") or {}, at=data["at"])


@dataclass(frozen=True, slots=True)
class LoopStarted:
    """An ``aws:loop`` begins its first pass: over ``items`` (Iterators, typed) or, when None,
    while its LoopCondition holds; at most ``max_iterations`` passes."""

    type: ClassVar[str] = "LoopStarted"
    step: str
    id: str
    items: list[Any] | None
    max_iterations: int
    at: str
    inputs: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"type": "LoopStarted", "step": self.step, "id": self.id, "items": self.items,
                "max": self.max_iterations, "at": self.at, "inputs": self.inputs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopStarted:
        return cls(step=data["step"], id=data["id"], items=data.get("items"),
                   max_iterations=data["max"], at=data["at"], inputs=data.get("inputs"))


@dataclass(frozen=True, slots=True)
class LoopNext:
    """The innermost loop goes round again."""

    type: ClassVar[str] = "LoopNext"
    step: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "LoopNext", "step": self.step, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopNext:
        return cls(step=data.get("step", ""), at=data["at"])


@dataclass(frozen=True, slots=True)
class LoopEnded:
    """The innermost loop ends with ``status`` (Success, or Failed when its LoopCondition could
    not be evaluated)."""

    type: ClassVar[str] = "LoopEnded"
    step: str
    status: str
    message: str | None
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "LoopEnded", "step": self.step, "status": self.status,
                "message": self.message, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopEnded:
        return cls(step=data.get("step", ""), status=data["status"], message=data.get("message"),
                   at=data["at"])


@dataclass(frozen=True, slots=True)
class WaitStarted:
    """The execution waits: ``kind`` is ``sleep`` / ``pause`` / ``approve`` (a step execution
    ``id`` begins, as with ``StepStarted``) or ``interactive`` (Interactive mode waits for
    StartStep before ``step``; no step execution, no id). ``until`` is when the timer fires (the
    sleep's end, the step's timeout), None to wait for a signal only."""

    type: ClassVar[str] = "WaitStarted"
    kind: str
    step: str | None
    until: str | None
    at: str
    action: str = ""
    id: str | None = None
    attempt: int | None = 1
    inputs: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    min_approvals: int = 1

    def to_json(self) -> dict[str, Any]:
        if self.kind == "interactive":
            return {"type": "WaitStarted", "kind": self.kind, "step": self.step,
                    "until": self.until, "at": self.at}
        return {"type": "WaitStarted", "step": self.step, "action": self.action, "id": self.id,
                "attempt": self.attempt, "inputs": self.inputs, "at": self.at,
                "parent": self.parent, "kind": self.kind, "until": self.until,
                "min_approvals": self.min_approvals}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaitStarted:
        return cls(kind=data["kind"], step=data.get("step"), until=data.get("until"),
                   at=data["at"], action=data.get("action", ""), id=data.get("id"),
                   attempt=data.get("attempt", 1), inputs=data.get("inputs"),
                   parent=data.get("parent"), min_approvals=int(data.get("min_approvals", 1)))


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The wait's ``until`` has passed."""

    type: ClassVar[str] = "TimerFired"
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "TimerFired", "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimerFired:
        return cls(at=data["at"])


@dataclass(frozen=True, slots=True)
class Signal:
    """A SendAutomationSignal (Approve, Reject, Resume, StartStep, StopStep) or a
    StopAutomationExecution (``Cancel``) taken into the history; ``payload`` in AWS's
    shape (``{"Comment": ["..."]}``). ``identity`` is who sent it (None in histories written
    before identities, and from callers that assert none: then Approvers are not checked)."""

    type: ClassVar[str] = "Signal"
    signal: str
    payload: dict[str, Any]
    at: str
    identity: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"type": "Signal", "signal": self.signal, "payload": self.payload, "at": self.at}
        if self.identity is not None:
            data["identity"] = self.identity
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signal:
        return cls(signal=data["signal"], payload=data.get("payload") or {}, at=data["at"],
                   identity=data.get("identity"))


@dataclass(frozen=True, slots=True)
class Finished:
    """The execution ended with ``status``; ``message`` is its FailureMessage."""

    type: ClassVar[str] = "Finished"
    status: str
    message: str | None
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "Finished", "status": self.status, "message": self.message, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finished:
        return cls(status=data["status"], message=data.get("message"), at=data["at"])


Event = (Started | StepStarted | StepFinished | StepInstant | LoopStarted | LoopNext | LoopEnded
         | WaitStarted | TimerFired | Signal | Finished)

_BY_TYPE: dict[str, Any] = {cls.type: cls for cls in (
    Started, StepStarted, StepFinished, StepInstant, LoopStarted, LoopNext, LoopEnded,
    WaitStarted, TimerFired, Signal, Finished)}


def event_from_json(data: dict[str, Any]) -> Event:
    """The event a JSON object (as ``to_json`` wrote it, or an earlier version) holds.

    Raises ValueError for an unknown ``type``."""
    cls = _BY_TYPE.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    event: Event = cls.from_json(data)
    return event

"""The state of one Automation execution: what its events have made of it so far.

Everything here is plain data that round-trips through JSON; an execution is persisted as its
list of events (``events``) and rebuilt after a crash by replaying them. ``ExecutionState``
holds the execution's status, resolved parameters, variables, step outputs, the
``StepExecution`` records in AWS's shape, the step to run next, the stack of running
``aws:loop`` frames and what the execution is waiting for. ``transitions.apply`` is the only
function that changes a state; times are the events' ISO 8601 strings.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

# Execution and step statuses (AWS's names)
PENDING = "Pending"
IN_PROGRESS = "InProgress"
WAITING = "Waiting"
SUCCESS = "Success"
FAILED = "Failed"
TIMED_OUT = "TimedOut"
CANCELLING = "Cancelling"
CANCELLED = "Cancelled"
TERMINAL = frozenset({SUCCESS, FAILED, TIMED_OUT, CANCELLED})


@dataclass
class StepRecord:
    """One StepExecution: a run of one step (all its attempts), as GetAutomationExecution shows it."""

    step_execution_id: str
    step_name: str
    action: str
    status: str = IN_PROGRESS
    attempts: int = 0
    start: str | None = None
    end: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    failure_message: str | None = None
    failure_type: str | None = None
    on_failure: str = "Abort"
    max_attempts: int = 1
    timeout_seconds: int | None = None
    is_critical: bool = True
    is_end: bool = False
    next_step: str | None = None
    response: Any = None
    parent: dict[str, Any] | None = None
    """For steps inside aws:loop: StepName, StepExecutionId, Iteration, IteratorValue."""


@dataclass
class LoopFrame:
    """A running aws:loop: which pass it is on and what it iterates over."""

    step_name: str
    step_execution_id: str
    iteration: int
    items: list[Any] | None
    max_iterations: int


@dataclass
class Waiting:
    """What the execution waits for: a signal, the clock, or both."""

    kind: str  # "sleep" | "pause" | "approve" | "interactive"
    step_name: str | None
    since: str
    until: str | None = None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    min_approvals: int = 1


@dataclass
class ExecutionState:
    """An Automation execution, rebuilt by applying its events in order."""

    execution_id: str
    document_name: str = ""
    document_version: str = "1"
    mode: str = "Auto"
    status: str = PENDING
    parameters: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[StepRecord] = field(default_factory=list)
    cursor: str | None = None
    loops: list[LoopFrame] = field(default_factory=list)
    waiting: Waiting | None = None
    critical_failure: str | None = None
    """The status (Failed or TimedOut) a critical step's failure leaves for the end."""
    failure_message: str | None = None
    cancel_requested: bool = False
    cancel_path: bool = False
    """True while an onCancel step path runs."""
    start: str | None = None
    end: str | None = None
    seq: int = 0
    started_step_pending: bool = False
    """A StepStarted without its StepFinished: the step must run (again) after a resume."""
    interactive_next: str | None = None

    by_id: dict[str, StepRecord] = field(default_factory=dict, repr=False, compare=False)
    last_by_name: dict[str, StepRecord] = field(default_factory=dict, repr=False, compare=False)

    def add_record(self, record: StepRecord) -> None:
        self.records.append(record)
        self.by_id[record.step_execution_id] = record
        self.last_by_name[record.step_name] = record

    def record(self, step_execution_id: str) -> StepRecord | None:
        return self.by_id.get(step_execution_id)

    def last_record(self, step_name: str) -> StepRecord | None:
        return self.last_by_name.get(step_name)

    def copy(self) -> ExecutionState:
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("by_id")
        data.pop("last_by_name")
        return data

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

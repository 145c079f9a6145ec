"""Run Command rate control: MaxConcurrency, MaxErrors, the sliding window and the command status.

Pure and clock-injected (no I/O, no asyncio): the runner asks a :class:`RateController` which
targets to send next, reports each invocation's terminal StatusDetails back, and reads the
command-level Status/StatusDetails from it. The rules follow AWS (see ``docs/decisions.md``,
"Executors and rate control"):

* ``MaxConcurrency`` matches ``^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`` (default ``50``); a
  percentage of the target count is rounded down, with a minimum of 1.
* ``MaxErrors`` matches ``^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`` (default ``0``); a
  percentage allows ``floor(p × targets)`` errors, and sending stops when one more arrives.
* Failed and Execution Timed Out count as errors; Delivery Timed Out, Undeliverable, Invalid
  Platform and Access Denied do not. Invocations in flight when sending stops finish normally
  (so the error count can exceed MaxErrors); targets not yet sent become ``Terminated``
  (API status ``Failed``). Cancelling marks unsent targets ``Cancelled`` and hands back the ones
  in flight for the runner to kill.
* Ramp-up (optional): 1 target, then 2 more once it is acknowledged, and so on, the window
  growing by two per acknowledged invocation up to MaxConcurrency.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.grammar.errors import ApiError, ExecutionError

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_ERRORS",
    "MAX_CONCURRENCY_PATTERN",
    "MAX_ERRORS_PATTERN",
    "CommandState",
    "CommandStatusDetails",
    "InvocationState",
    "InvocationStatusDetails",
    "MaxConcurrency",
    "MaxErrors",
    "RateController",
    "command_state",
]

MAX_CONCURRENCY_PATTERN = "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"
MAX_ERRORS_PATTERN = "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$"
DEFAULT_MAX_CONCURRENCY = "50"
"""Run Command's default (Automation's is 10, State Manager's 50 with MaxErrors 100%)."""
DEFAULT_MAX_ERRORS = "0"
_MAX_LENGTH = 7


# --- MaxConcurrency and MaxErrors ----------------------------------------------------------


def _parse(value: str | int | None, default: str, pattern: str, field: str) -> tuple[str, int, bool]:
    text = default if value is None else str(value)
    problems = []
    if len(text) < 1:
        problems.append("Member must have length greater than or equal to 1")
    if len(text) > _MAX_LENGTH:
        problems.append(f"Member must have length less than or equal to {_MAX_LENGTH}")
    if not re.match(pattern, text):
        problems.append(f"Member must satisfy regular expression pattern: {pattern}")
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
        details = "; ".join(
            f"Value '{text}' at '{field}' failed to satisfy constraint: {p}" for p in problems
        )
        raise ApiError(count + details, code="ValidationException", path=field)
    percent = text.endswith("%")
    return text, int(text.rstrip("%")), percent


@dataclass(frozen=True)
class MaxConcurrency:
    """A parsed MaxConcurrency: ``value`` targets, or ``value`` percent of them."""

    text: str
    value: int
    percent: bool

    @classmethod
    def parse(cls, value: str | int | None = None, *, field: str = "maxConcurrency") -> MaxConcurrency:
        """Parse AWS's string form; ``None`` gives the default ``50``.

        Raises :class:`ApiError` (``ValidationException``) with AWS's message for a bad value.
        """
        return cls(*_parse(value, DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY_PATTERN, field))

    def resolve(self, target_count: int) -> int:
        """How many invocations may be in flight: a percentage rounds down, minimum 1."""
        if self.percent:
            return max(1, self.value * target_count // 100)
        return self.value


@dataclass(frozen=True)
class MaxErrors:
    """A parsed MaxErrors: ``value`` errors, or ``value`` percent of the targets."""

    text: str
    value: int
    percent: bool

    @classmethod
    def parse(cls, value: str | int | None = None, *, field: str = "maxErrors") -> MaxErrors:
        """Parse AWS's string form; ``None`` gives the default ``0``."""
        return cls(*_parse(value, DEFAULT_MAX_ERRORS, MAX_ERRORS_PATTERN, field))

    def allowed(self, target_count: int) -> int:
        """How many errors are allowed; sending stops at the next one. ``floor(p × targets)``."""
        if self.percent:
            return self.value * target_count // 100
        return self.value


# --- statuses ------------------------------------------------------------------------------


class InvocationStatusDetails(enum.StrEnum):
    """A CommandInvocation's StatusDetails, the console's finer-grained status."""

    PENDING = "Pending"
    IN_PROGRESS = "In Progress"
    DELAYED = "Delayed"
    SUCCESS = "Success"
    DELIVERY_TIMED_OUT = "Delivery Timed Out"
    EXECUTION_TIMED_OUT = "Execution Timed Out"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNDELIVERABLE = "Undeliverable"
    TERMINATED = "Terminated"
    INVALID_PLATFORM = "Invalid Platform"
    ACCESS_DENIED = "Access Denied"

    @property
    def status(self) -> str:
        """The API's CommandInvocationStatus for these details."""
        return _INVOCATION_STATUS[self]

    @property
    def terminal(self) -> bool:
        return self not in (self.PENDING, self.IN_PROGRESS, self.DELAYED)

    @property
    def counts_as_error(self) -> bool:
        """Counted against MaxErrors: Failed and Execution Timed Out only."""
        return self in (self.FAILED, self.EXECUTION_TIMED_OUT)

    @property
    def not_delivered(self) -> bool:
        """Never ran on the node and ignored for Success (unless every invocation is such)."""
        return self in (self.UNDELIVERABLE, self.INVALID_PLATFORM, self.ACCESS_DENIED)


_INVOCATION_STATUS: dict[str, str] = {
    "Pending": "Pending",
    "In Progress": "InProgress",
    "Delayed": "Delayed",
    "Success": "Success",
    "Delivery Timed Out": "TimedOut",
    "Execution Timed Out": "TimedOut",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
    "Undeliverable": "Failed",
    "Terminated": "Failed",
    "Invalid Platform": "Failed",
    "Access Denied": "Failed",
}


class CommandStatusDetails(enum.StrEnum):
    """A Command's StatusDetails."""

    PENDING = "Pending"
    IN_PROGRESS = "In Progress"
    SUCCESS = "Success"
    DELIVERY_TIMED_OUT = "Delivery Timed Out"
    EXECUTION_TIMED_OUT = "Execution Timed Out"
    FAILED = "Failed"
    INCOMPLETE = "Incomplete"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    RATE_EXCEEDED = "Rate Exceeded"
    ACCESS_DENIED = "Access Denied"
    NO_INSTANCES_IN_TAG = "No Instances In Tag"

    @property
    def status(self) -> str:
        """The API's CommandStatus for these details."""
        return _COMMAND_STATUS[self]


_COMMAND_STATUS: dict[str, str] = {
    "Pending": "Pending",
    "In Progress": "InProgress",
    "Success": "Success",
    "Delivery Timed Out": "TimedOut",
    "Execution Timed Out": "TimedOut",
    "Failed": "Failed",
    "Incomplete": "Failed",
    "Cancelling": "Cancelling",
    "Cancelled": "Cancelled",
    "Rate Exceeded": "Failed",
    "Access Denied": "Failed",
    "No Instances In Tag": "Failed",
}

_REPORTABLE = frozenset(
    {
        InvocationStatusDetails.SUCCESS,
        InvocationStatusDetails.FAILED,
        InvocationStatusDetails.EXECUTION_TIMED_OUT,
        InvocationStatusDetails.DELIVERY_TIMED_OUT,
        InvocationStatusDetails.CANCELLED,
        InvocationStatusDetails.UNDELIVERABLE,
        InvocationStatusDetails.INVALID_PLATFORM,
        InvocationStatusDetails.ACCESS_DENIED,
    }
)
"""What a runner may report for an invocation it sent (Terminated is the controller's)."""


@dataclass(frozen=True)
class CommandState:
    """The command-level result and AWS's counters (ListCommands)."""

    status_details: CommandStatusDetails
    target_count: int
    completed_count: int
    error_count: int
    delivery_timed_out_count: int

    @property
    def status(self) -> str:
        return self.status_details.status

    @property
    def finished(self) -> bool:
        return self.status_details not in (
            CommandStatusDetails.PENDING,
            CommandStatusDetails.IN_PROGRESS,
            CommandStatusDetails.CANCELLING,
        )


def command_state(
    invocations: Iterable[InvocationStatusDetails | str],
    *,
    allowed_errors: int,
    cancel_requested: bool = False,
) -> CommandState:
    """The Command's Status/StatusDetails from its invocations' StatusDetails.

    In order: no targets → No Instances In Tag; a cancel → Cancelling, then Cancelled; anything
    not terminal → In Progress (Pending if nothing was sent). Then, with
    ``threshold = max(allowed_errors, 1)`` ("MaxErrors or more invocations"): Failed,
    Execution Timed Out or Delivery Timed Out when that many invocations have that status;
    Failed when sending stopped (some are Terminated); when every invocation is Undeliverable,
    Invalid Platform or Access Denied, Failed (Access Denied if all are); Success when every
    other invocation succeeded; otherwise Incomplete.
    """
    details = [InvocationStatusDetails(d) for d in invocations]
    counts = {d: 0 for d in InvocationStatusDetails}
    for d in details:
        counts[d] += 1
    state = _command_details(details, counts, allowed_errors, cancel_requested)
    return CommandState(
        status_details=state,
        target_count=len(details),
        completed_count=sum(1 for d in details if d.terminal),
        error_count=sum(1 for d in details if d.counts_as_error),
        delivery_timed_out_count=counts[InvocationStatusDetails.DELIVERY_TIMED_OUT],
    )


def _command_details(
    details: list[InvocationStatusDetails],
    counts: dict[InvocationStatusDetails, int],
    allowed_errors: int,
    cancel_requested: bool,
) -> CommandStatusDetails:
    S = InvocationStatusDetails
    if not details:
        return CommandStatusDetails.NO_INSTANCES_IN_TAG
    running = any(not d.terminal for d in details)
    if cancel_requested:
        return CommandStatusDetails.CANCELLING if running else CommandStatusDetails.CANCELLED
    if running:
        if all(d is S.PENDING for d in details):
            return CommandStatusDetails.PENDING
        return CommandStatusDetails.IN_PROGRESS
    threshold = max(allowed_errors, 1)
    if counts[S.FAILED] >= threshold:
        return CommandStatusDetails.FAILED
    if counts[S.EXECUTION_TIMED_OUT] >= threshold:
        return CommandStatusDetails.EXECUTION_TIMED_OUT
    if counts[S.DELIVERY_TIMED_OUT] >= threshold:
        return CommandStatusDetails.DELIVERY_TIMED_OUT
    if counts[S.TERMINATED]:
        return CommandStatusDetails.FAILED
    delivered = [d for d in details if not d.not_delivered]
    if not delivered:
        if all(d is S.ACCESS_DENIED for d in details):
            return CommandStatusDetails.ACCESS_DENIED
        return CommandStatusDetails.FAILED
    if all(d is S.SUCCESS for d in delivered):
        return CommandStatusDetails.SUCCESS
    return CommandStatusDetails.INCOMPLETE


# --- the sliding window --------------------------------------------------------------------


@dataclass(frozen=True)
class InvocationState:
    """One target's invocation as the controller sees it (times are clock values)."""

    target: str
    status_details: InvocationStatusDetails
    requested_at: float | None = None
    finished_at: float | None = None

    @property
    def status(self) -> str:
        return self.status_details.status


class RateController:
    """Decides which targets to send next and tracks the Command's status.

    ``targets`` are node ids in sending order (no duplicates). ``clock`` gives the time (the system
    clock by default; only ``clock.time()`` is read). With ``delivery_timeout_seconds``, targets
    still unsent that long after the controller was created become Delivery Timed Out when
    :meth:`expire` is called. With
    ``ramp_up``, call :meth:`acknowledge` when an invocation has started on its node (a
    completion also acknowledges it).

    Typical loop: ``send(next_targets())``; on each completion ``complete(target, details)``;
    stop when ``finished``; read ``state()``.
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        max_concurrency: str | int | MaxConcurrency | None = None,
        max_errors: str | int | MaxErrors | None = None,
        ramp_up: bool = False,
        delivery_timeout_seconds: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        if len(set(targets)) != len(targets):
            raise ExecutionError("rate control needs distinct targets; a target is listed twice")
        self._concurrency_limit = (
            max_concurrency
            if isinstance(max_concurrency, MaxConcurrency)
            else MaxConcurrency.parse(max_concurrency)
        )
        self._errors_limit = max_errors if isinstance(max_errors, MaxErrors) else MaxErrors.parse(max_errors)
        self._targets = list(targets)
        self._clock: Clock = clock or SystemClock()
        self._created_at = self._clock.time()
        self._ramp_up = ramp_up
        self._delivery_timeout = delivery_timeout_seconds
        self.max_concurrency = self._concurrency_limit.resolve(len(self._targets))
        self.allowed_errors = self._errors_limit.allowed(len(self._targets))
        self._states = {t: InvocationState(t, InvocationStatusDetails.PENDING) for t in self._targets}
        self._unsent = list(self._targets)
        self._in_flight: dict[str, None] = {}
        self._acknowledged: set[str] = set()
        self.error_count = 0
        self.stopped = False
        """Set when the error count passed MaxErrors; nothing more is sent."""
        self.cancel_requested = False

    # -- questions ---------------------------------------------------------------------------

    @property
    def target_count(self) -> int:
        return len(self._targets)

    @property
    def in_flight(self) -> tuple[str, ...]:
        return tuple(self._in_flight)

    @property
    def unsent(self) -> tuple[str, ...]:
        return tuple(self._unsent)

    @property
    def finished(self) -> bool:
        """Nothing is in flight and nothing more will be sent."""
        return not self._in_flight and not self._unsent

    def window(self) -> int:
        """How many invocations may be in flight now."""
        if not self._ramp_up:
            return self.max_concurrency
        return min(self.max_concurrency, 1 + 2 * len(self._acknowledged))

    def invocation(self, target: str) -> InvocationState:
        try:
            return self._states[target]
        except KeyError:
            raise ExecutionError(f"{target!r} is not a target of this command") from None

    def invocations(self) -> list[InvocationState]:
        """Every target's invocation, in target order."""
        return [self._states[t] for t in self._targets]

    def state(self) -> CommandState:
        """The command-level Status/StatusDetails and counters now."""
        return command_state(
            (s.status_details for s in self.invocations()),
            allowed_errors=self.allowed_errors,
            cancel_requested=self.cancel_requested,
        )

    def deadline(self) -> float | None:
        """When :meth:`expire` has work to do (clock value), or ``None``."""
        if self._delivery_timeout is None or not self._unsent:
            return None
        return self._created_at + self._delivery_timeout

    # -- events ------------------------------------------------------------------------------

    def next_targets(self) -> list[str]:
        """The targets to send now; they become In Progress. Empty when the window is full."""
        self.expire()
        if self.stopped or self.cancel_requested:
            return []
        room = self.window() - len(self._in_flight)
        if room <= 0:
            return []
        now = self._clock.time()
        batch, self._unsent = self._unsent[:room], self._unsent[room:]
        for target in batch:
            self._in_flight[target] = None
            self._states[target] = InvocationState(target, InvocationStatusDetails.IN_PROGRESS, now)
        return batch

    def acknowledge(self, target: str) -> None:
        """The invocation reached its node (grows the ramp-up window)."""
        self.invocation(target)  # raises for a stranger
        self._acknowledged.add(target)

    def complete(self, target: str, status_details: InvocationStatusDetails | str) -> None:
        """Record a sent invocation's terminal StatusDetails."""
        try:
            details = InvocationStatusDetails(status_details)
        except ValueError:
            raise ExecutionError(f"{status_details!r} is not an invocation StatusDetails") from None
        if details not in _REPORTABLE:
            raise ExecutionError(f"an invocation cannot be reported as {details.value!r}")
        if target not in self._in_flight:
            current = self.invocation(target).status_details
            raise ExecutionError(f"{target!r} is not in flight (it is {current.value!r})")
        del self._in_flight[target]
        self._acknowledged.add(target)
        previous = self._states[target]
        self._states[target] = InvocationState(target, details, previous.requested_at, self._clock.time())
        if details.counts_as_error:
            self.error_count += 1
            if self.error_count > self.allowed_errors and not self.stopped:
                self.stopped = True
                self._close_unsent(InvocationStatusDetails.TERMINATED)

    def cancel(self) -> list[str]:
        """CancelCommand: unsent targets become Cancelled; returns those in flight to kill.

        The runner reports each of those with :meth:`complete` (``Cancelled`` once killed).
        """
        self.cancel_requested = True
        self._close_unsent(InvocationStatusDetails.CANCELLED)
        return list(self._in_flight)

    def expire(self) -> list[str]:
        """Mark targets still unsent after the delivery timeout Delivery Timed Out."""
        deadline = self.deadline()
        if deadline is None or self._clock.time() < deadline:
            return []
        expired = list(self._unsent)
        self._close_unsent(InvocationStatusDetails.DELIVERY_TIMED_OUT)
        return expired

    def _close_unsent(self, details: InvocationStatusDetails) -> None:
        now = self._clock.time()
        for target in self._unsent:
            self._states[target] = InvocationState(target, details, None, now)
        self._unsent = []

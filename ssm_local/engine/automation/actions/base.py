"""The interface between the Automation runner and action handlers: the one module to read.

A handler (``AutomationAction``) is an async callable ``handler(ctx: ActionContext) ->
ActionResult``. The runner gives it the step's inputs with every ``{{ ... }}`` already
substituted, a clock, a way to build AWS clients (so the same runbook runs against real AWS,
LocalStack or moto's server), a cancel event and, for the two actions that drive ssm-local's own
services, narrow views of them: a ``CommandSender`` (aws:runCommand) and an
``AutomationStarter`` (aws:executeAutomation). The handler returns data and never raises for a
failure of the step itself: a failure is an ``ActionResult`` with status ``Failed`` and a
message. ``response`` is what the step's declared ``outputs`` Selectors are evaluated against
(the boto3 response for API actions, ``{"Payload": value}`` for aws:executeScript); ``outputs``
are the action's predefined outputs (``ImageId``, ``CommandId``...).

Handlers are injected as a table (``actions: Mapping[str, AutomationAction]`` on the runner,
``AutomationService`` and ``Engine``); ``ssm_local.engine.automation.actions.BUILTIN_ACTIONS``
holds the 15 built-in ones. Actions that wait for a signal or the clock (aws:sleep, aws:pause,
aws:approve) and the control-flow actions (aws:branch, aws:loop, aws:updateVariable) are handled
by the interpreter itself, not through this interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ssm_local.engine.clock import Clock

__all__ = [
    "ActionContext",
    "ActionResult",
    "ActionStatus",
    "AutomationAction",
    "AutomationStarter",
    "ClientFactory",
    "CommandSender",
    "SentCommand",
    "StartedAutomation",
    "cancelled",
    "missing_input",
    "unset",
]

ActionStatus = Literal["Success", "Failed", "TimedOut", "Cancelled"]


ClientFactory = Callable[[str], Any]
"""``clients("ec2")`` → a boto3 client configured for the execution (endpoint, region)."""


# --- what handlers may call of ssm-local's own services --------------------------------------


class SentCommand(Protocol):
    """A command that SendCommand accepted (``services.commands.CommandHandle`` is one)."""

    def __await__(self) -> Generator[Any, None, dict[str, Any]]:
        """Wait until the command ends; its ``Command`` shape."""
        ...

    def cancel(self) -> None:
        """CancelCommand for every invocation still running or not yet sent."""
        ...

    def result(self) -> dict[str, Any]:
        """``{"Command": ..., "CommandInvocations": [...]}`` in AWS's shapes (blocking: it reads
        the store)."""
        ...


class CommandSender(Protocol):
    """What aws:runCommand needs of Run Command: SendCommand (``Engine`` is one).

    ``send_command`` checks the request and raises an ``SsmLocalError`` with AWS's code
    (``InvalidDocument``, ``InvalidParameters``, ``InvalidInstanceId``...) for a bad one; the
    command then runs in the background. It blocks (it reads and writes the store), so the action
    calls it in a thread.
    """

    def send_command(self, document: str, *, parameters: Mapping[str, Any] | None,
                     instance_ids: Sequence[str] | None,
                     targets: Sequence[Mapping[str, Any]] | None,
                     document_version: str | None, max_concurrency: str | int | None,
                     max_errors: str | int | None, timeout_seconds: int | None,
                     comment: str) -> SentCommand:
        ...


class StartedAutomation(Protocol):
    """A child execution that StartAutomationExecution accepted (``AutomationHandle`` is one)."""

    @property
    def execution_id(self) -> str:
        ...

    async def run(self) -> dict[str, Any]:
        """Run it to its end in this task; GetAutomationExecution's ``AutomationExecution``."""
        ...


class AutomationStarter(Protocol):
    """What aws:executeAutomation needs of Automation: start a child and stop it
    (``AutomationService`` is one).

    ``start`` raises an ``SsmLocalError`` with AWS's code (``InvalidDocument``,
    ``InvalidAutomationExecutionParametersException``...) for a bad runbook or parameters.
    """

    def start(self, document: str, parameters: Mapping[str, Any] | None = None, *,
              document_version: str | None, parent_execution_id: str | None,
              aws_endpoint_url: str | None) -> StartedAutomation:
        ...

    def stop(self, execution_id: str) -> None:
        """StopAutomationExecution (Type Cancel)."""
        ...


# --- the contract ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionContext:
    """What a handler gets for one attempt of one step."""

    execution_id: str
    step_name: str
    action: str
    inputs: Mapping[str, Any]
    clients: ClientFactory
    clock: Clock
    timeout_seconds: float | None = None
    """The step's ``timeoutSeconds``, or None. The runner enforces it too (the step ends
    ``TimedOut``); waiting actions use it as their own deadline to say what they waited for."""
    attempt: int = 1
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the step is cancelled or timed out: stop waiting, return ``Cancelled``."""
    log: Callable[[str], None] = lambda _text: None
    """Where the step's log goes (printed script output, progress notes); dropped by default."""
    region: str = "us-east-1"
    account_id: str = "123456789012"
    attachments_dir: str | None = None
    aws_endpoint_url: str | None = None
    """The endpoint the execution's AWS calls go to (``--aws-endpoint-url``), or None for AWS.
    Scripts and child executions use it too."""
    commands: CommandSender | None = None
    """Run Command, for aws:runCommand; None outside an ``Engine`` (the action then fails)."""
    automations: AutomationStarter | None = None
    """Child executions, for aws:executeAutomation; None when the service was given none."""


@dataclass(frozen=True)
class ActionResult:
    """How one attempt of a step ended."""

    status: ActionStatus
    outputs: Mapping[str, Any] = field(default_factory=dict)
    response: Any = None
    failure_message: str | None = None
    failure_type: str | None = None
    """AWS's FailureDetails.FailureType: ``Verification``, ``Unknown``..."""

    @classmethod
    def success(cls, outputs: Mapping[str, Any] | None = None, response: Any = None
                ) -> ActionResult:
        return cls("Success", dict(outputs or {}), response)

    @classmethod
    def failed(cls, message: str, *, failure_type: str = "Unknown",
               outputs: Mapping[str, Any] | None = None, response: Any = None) -> ActionResult:
        return cls("Failed", dict(outputs or {}), response, message, failure_type)


class AutomationAction(Protocol):
    """A handler: ``await handler(ctx)`` runs one attempt of a step and says how it ended.

    It must end ``Cancelled`` soon after ``ctx.cancel`` is set (at once if it is set on entry),
    wait only on ``ctx.clock``, and fail (not raise) on a missing required input, naming it.
    An exception it raises anyway fails the step with the exception's type and message.
    """

    def __call__(self, ctx: ActionContext, /) -> Awaitable[ActionResult]:
        ...


# --- small helpers shared by handlers ----------------------------------------------------------


def unset(value: Any) -> bool:
    """An input that the step does not really give: absent (None), ``""`` or ``[]``."""
    return value is None or value == "" or value == []


def missing_input(ctx: ActionContext, *names: str) -> ActionResult | None:
    """``Failed`` (Verification) naming the first of the required ``names`` that is unset,
    or None when the step gives them all: ``aws:runCommand needs the input DocumentName``."""
    for name in names:
        if unset(ctx.inputs.get(name)):
            return ActionResult.failed(f"{ctx.action} needs the input {name}",
                                       failure_type="Verification")
    return None


def cancelled(ctx: ActionContext) -> ActionResult:
    """The result of a step cancelled before its action did anything."""
    return ActionResult("Cancelled", failure_message=f"{ctx.action} was cancelled")

"""The interface between the Automation runner and action handlers, plus the handler registry.

A handler is an async function ``handler(ctx: ActionContext) -> ActionResult``. The runner gives
it the step's inputs with every ``{{ ... }}`` already substituted, a clock, a way to build AWS
clients (so the same runbook runs against real AWS, LocalStack or moto's server) and a cancel
event; the handler returns data, never raises for a failure of the step itself: a failure is an
``ActionResult`` with status ``Failed`` and a message. ``response`` is what the step's declared
``outputs`` Selectors are evaluated against (the boto3 response for API actions,
``{"Payload": value}`` for aws:executeScript); ``outputs`` are the action's predefined outputs
(``ImageId``, ``CommandId``...). Actions that wait for a signal or the clock (aws:sleep,
aws:pause, aws:approve) and the control-flow actions (aws:branch, aws:loop,
aws:updateVariable) are handled by the interpreter itself, not through this interface.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ssm_local.engine.clock import Clock

ActionStatus = Literal["Success", "Failed", "TimedOut", "Cancelled"]


ClientFactory = Callable[[str], Any]
"""``clients("ec2")`` → a boto3 client configured for the execution (endpoint, region)."""


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
    attempt: int = 1
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    log: Callable[[str], None] = lambda _text: None
    """Where the step's log goes (printed script output, progress notes); dropped by default."""
    region: str = "us-east-1"
    account_id: str = "123456789012"
    attachments_dir: str | None = None
    aws_endpoint_url: str | None = None
    """The endpoint the execution's AWS calls go to (``--aws-endpoint-url``), or None for AWS.
    Scripts and child executions use it too."""
    services: Any = None
    """The engine's services (Run Command, the document registry, child automations), or None."""


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


AutomationAction = Callable[[ActionContext], Awaitable[ActionResult]]

_MODULES: dict[str, str] = {}
"""Action name → module of this package exposing ``handler``; filled by ``register``."""


_HANDLERS: dict[str, AutomationAction] = {}
"""Handlers registered as functions (custom actions of an embedding service, tests)."""


def register(action: str, module: str) -> None:
    _MODULES[action] = module


def register_handler(action: str, handler: AutomationAction | None) -> None:
    """Run ``action`` with ``handler`` in this process (None removes it): for custom actions
    and dry runs. A registered handler takes precedence over the built-in module."""
    if handler is None:
        _HANDLERS.pop(action, None)
    else:
        _HANDLERS[action] = handler


def automation_action(action: str) -> AutomationAction | None:
    """The handler for ``action``, or None when ssm-local does not run it."""
    if action in _HANDLERS:
        return _HANDLERS[action]
    module = _MODULES.get(action)
    if module is None:
        return None
    handler: AutomationAction = importlib.import_module(module).handler
    return handler


def supported_actions() -> list[str]:
    return sorted(_MODULES)


for _action, _module in {
    "aws:executeScript": "ssm_local.engine.automation.actions.execute_script",
    "aws:executeAwsApi": "ssm_local.engine.automation.actions.execute_aws_api",
    "aws:waitForAwsResourceProperty": "ssm_local.engine.automation.actions.wait_for_aws_resource_property",
    "aws:assertAwsResourceProperty": "ssm_local.engine.automation.actions.assert_aws_resource_property",
    "aws:changeInstanceState": "ssm_local.engine.automation.actions.change_instance_state",
    "aws:createTags": "ssm_local.engine.automation.actions.create_tags",
    "aws:createImage": "ssm_local.engine.automation.actions.create_image",
    "aws:deleteImage": "ssm_local.engine.automation.actions.delete_image",
    "aws:runInstances": "ssm_local.engine.automation.actions.run_instances",
    "aws:copyImage": "ssm_local.engine.automation.actions.copy_image",
    "aws:createStack": "ssm_local.engine.automation.actions.create_stack",
    "aws:deleteStack": "ssm_local.engine.automation.actions.delete_stack",
    "aws:invokeLambdaFunction": "ssm_local.engine.automation.actions.invoke_lambda_function",
    "aws:runCommand": "ssm_local.engine.automation.actions.run_command",
    "aws:executeAutomation": "ssm_local.engine.automation.actions.execute_automation",
}.items():
    register(_action, _module)


__all__ = [
    "ActionContext",
    "ActionResult",
    "ActionStatus",
    "AutomationAction",
    "ClientFactory",
    "automation_action",
    "register",
    "register_handler",
    "supported_actions",
]

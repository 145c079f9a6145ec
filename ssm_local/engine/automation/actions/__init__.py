"""Automation actions: the handler interface (``base``), one module per built-in action, the table.

``base`` holds the contract between the runner and a handler (``ActionContext``,
``ActionResult``, ``AutomationAction``, and the ``CommandSender`` / ``AutomationStarter``
Protocols for the two actions that drive ssm-local's own services); the other modules each
implement one AWS action (aws:executeScript, aws:executeAwsApi, aws:runCommand...) as
``handler``. ``BUILTIN_ACTIONS`` maps each AWS action name to its handler. It is the default table
of the runner, ``AutomationService`` and ``Engine``; a caller that adds or replaces actions passes
``actions={**BUILTIN_ACTIONS, "aws:myAction": handler}``. ``BUILTIN_ACTIONS`` imports an action's
module only when its handler is read (a step uses it, or a caller copies the table), because
several of them import boto3, which takes a while.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ssm_local.engine.automation.actions.base import (
    ActionContext,
    ActionResult,
    ActionStatus,
    AutomationAction,
    AutomationStarter,
    ClientFactory,
    CommandSender,
    SentCommand,
    StartedAutomation,
    cancelled,
    missing_input,
    unset,
)


class BuiltinActions(Mapping[str, AutomationAction]):
    """Action name → the ``handler`` of its module in this package, imported on first lookup.

    Listing the names and testing membership (``"aws:createImage" in BUILTIN_ACTIONS``, what
    ``validate --strict`` does) import nothing; reading a value imports that action's module.
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)

    def __getitem__(self, action: str) -> AutomationAction:
        module = importlib.import_module(f"{__name__}.{self._modules[action]}")
        handler: AutomationAction = module.handler
        return handler

    def __contains__(self, action: object) -> bool:
        return action in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __repr__(self) -> str:
        return f"BuiltinActions({sorted(self._modules)})"


BUILTIN_ACTIONS: Mapping[str, AutomationAction] = BuiltinActions({
    "aws:executeScript": "execute_script",
    "aws:executeAwsApi": "execute_aws_api",
    "aws:waitForAwsResourceProperty": "wait_for_aws_resource_property",
    "aws:assertAwsResourceProperty": "assert_aws_resource_property",
    "aws:changeInstanceState": "change_instance_state",
    "aws:createTags": "create_tags",
    "aws:createImage": "create_image",
    "aws:deleteImage": "delete_image",
    "aws:runInstances": "run_instances",
    "aws:copyImage": "copy_image",
    "aws:createStack": "create_stack",
    "aws:deleteStack": "delete_stack",
    "aws:invokeLambdaFunction": "invoke_lambda_function",
    "aws:runCommand": "run_command",
    "aws:executeAutomation": "execute_automation",
})
"""The 15 actions ssm-local runs through a handler: the default table of the runner, the
Automation service and ``Engine``."""


__all__ = [
    "BUILTIN_ACTIONS",
    "ActionContext",
    "ActionResult",
    "ActionStatus",
    "AutomationAction",
    "AutomationStarter",
    "BuiltinActions",
    "ClientFactory",
    "CommandSender",
    "SentCommand",
    "StartedAutomation",
    "cancelled",
    "missing_input",
    "unset",
]

"""Automation actions: the handler interface (``base``) and one module per built-in action.

``base`` holds the contract between the runner and a handler (``ActionContext``,
``ActionResult``, ``AutomationAction``); the other modules each implement one AWS action
(aws:executeScript, aws:executeAwsApi, aws:runCommand...) as ``handler``.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions.base import (
    ActionContext,
    ActionResult,
    ActionStatus,
    AutomationAction,
    ClientFactory,
    automation_action,
    register,
    register_handler,
    supported_actions,
)

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

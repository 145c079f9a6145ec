"""Action handlers: one module per Command plugin (and, later, per Automation action).

``command_plugin(name)`` returns the async handler for a Command plugin, or None for a plugin
ssm-local does not run (the interpreter then fails the step saying so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssm_local.engine.command.interpreter import StepContext
    from ssm_local.engine.command.results import PluginResult

CommandPlugin = Callable[["StepContext"], Awaitable["PluginResult"]]

SUPPORTED_COMMAND_PLUGINS = (
    "aws:downloadContent",
    "aws:runDocument",
    "aws:runPowerShellScript",
    "aws:runShellScript",
)


def command_plugin(name: str) -> CommandPlugin | None:
    """The handler for Command plugin ``name``; None when ssm-local does not run it."""
    if name == "aws:runShellScript":
        from ssm_local.engine.command.plugins.run_shell_script import run_shell_script

        return run_shell_script
    if name in ("aws:runPowerShellScript", "aws:runScript"):  # the agent's legacy alias
        from ssm_local.engine.command.plugins.run_powershell_script import run_powershell_script

        return run_powershell_script
    if name == "aws:runDocument":
        from ssm_local.engine.command.plugins.run_document import run_document

        return run_document
    if name == "aws:downloadContent":
        from ssm_local.engine.command.plugins.download_content import download_content

        return download_content
    return None


__all__ = ["SUPPORTED_COMMAND_PLUGINS", "CommandPlugin", "command_plugin"]

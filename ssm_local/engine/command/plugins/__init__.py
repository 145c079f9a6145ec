"""Command plugins: one module per plugin, the contract in ``base``, the built-in table here.

``BUILTIN_PLUGINS`` maps a plugin name (the step's ``action``) to its handler; it is the default
table of ``run_invocation(..., plugins=...)``, ``CommandService(plugins=...)`` and
``Engine(plugins=...)``. A plugin that is not in the table fails its step with ``plugin aws:X is
not supported by ssm-local``. To add or replace a plugin, pass a table of your own, for example
``{**BUILTIN_PLUGINS, "aws:configurePackage": my_handler}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ssm_local.engine.command.plugins.base import CommandPlugin
from ssm_local.engine.command.plugins.download_content import download_content
from ssm_local.engine.command.plugins.run_document import run_document
from ssm_local.engine.command.plugins.run_powershell_script import run_powershell_script
from ssm_local.engine.command.plugins.run_shell_script import run_shell_script

BUILTIN_PLUGINS: Mapping[str, CommandPlugin] = MappingProxyType({
    "aws:downloadContent": download_content,
    "aws:runDocument": run_document,
    "aws:runPowerShellScript": run_powershell_script,
    "aws:runScript": run_powershell_script,  # the agent's legacy alias of aws:runPowerShellScript
    "aws:runShellScript": run_shell_script,
})
"""The plugins ssm-local runs, by name (read-only)."""

__all__ = ["BUILTIN_PLUGINS", "CommandPlugin"]

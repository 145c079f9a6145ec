"""Command documents: the per-node interpreter, its plugins and their results.

``run_invocation`` (``interpreter``) runs one document on one node with a table of plugins
(``plugins.BUILTIN_PLUGINS`` by default); the plugin contract is ``plugins.base``; ``results``
holds the per-plugin and per-invocation results in AWS's terms.
"""

from __future__ import annotations

from ssm_local.engine.command.interpreter import run_invocation
from ssm_local.engine.command.plugins import BUILTIN_PLUGINS
from ssm_local.engine.command.plugins.base import CommandPlugin, NodeContext, StepContext
from ssm_local.engine.command.results import InvocationResult, PluginResult

__all__ = [
    "BUILTIN_PLUGINS",
    "CommandPlugin",
    "InvocationResult",
    "NodeContext",
    "PluginResult",
    "StepContext",
    "run_invocation",
]

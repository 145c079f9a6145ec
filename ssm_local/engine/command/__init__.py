"""Command documents: the per-node interpreter and its results (see ``interpreter`` and ``results``)."""

from __future__ import annotations

from ssm_local.engine.command.interpreter import NodeContext, StepContext, run_invocation
from ssm_local.engine.command.results import InvocationResult, PluginResult

__all__ = ["InvocationResult", "NodeContext", "PluginResult", "StepContext", "run_invocation"]

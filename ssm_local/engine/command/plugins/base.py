"""The Command plugin contract: what a plugin is given (``StepContext``) and what it returns.

A Command plugin is an async function ``plugin(ctx: StepContext) -> PluginResult``
(``CommandPlugin``). The interpreter (``ssm_local.engine.command.interpreter.run_invocation``) looks
plugins up by name in an injected table (``BUILTIN_PLUGINS`` in ``ssm_local.engine.command.plugins``
by default), renders the step's inputs, applies the platform rules and the control flow, and calls
the plugin with one ``StepContext``. The plugin reaches the node only through
``ctx.node.executor``, honours ``ctx.node.cancel`` and ``ctx.node.deadline``, and reports failures
as data (a ``PluginResult`` with Status ``Failed``, ``TimedOut`` or ``Cancelled``), never as
exceptions. A plugin that runs another document (aws:runDocument) calls ``ctx.run_document``,
which runs it on the same node with the same plugin table, one level deeper.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssm_local.documents.model import Document, Step
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.command.results import (
    CANCELLED,
    FAILED,
    SUCCESS,
    TIMED_OUT,
    InvocationResult,
    PluginResult,
)
from ssm_local.engine.executors.base import Executor, ProcessOutcome, ProcessResult
from ssm_local.engine.substitution import ParameterReader

__all__ = [
    "CANCELLED",
    "FAILED",
    "SUCCESS",
    "TIMED_OUT",
    "CommandPlugin",
    "DocumentResolver",
    "NestedRunner",
    "NodeContext",
    "OutputSink",
    "PluginResult",
    "StepContext",
    "interrupted",
    "time_left",
    "work_dir_guard",
]

OutputSink = Callable[[str, str, bytes], None]
"""``sink(step_name, stream, chunk)``: live output of the node's steps (``stream`` is
``"stdout"`` or ``"stderr"``)."""

DocumentResolver = Callable[[str], Document]
"""Finds a document by ``name`` or ``name:version`` for aws:runDocument and aws:downloadContent;
raises ``DocumentError`` (InvalidDocument) when there is none."""

NestedRunner = Callable[[Document, Mapping[str, Any]], Awaitable[InvocationResult]]
"""``run_document(document, parameters)``: runs a loaded Command document with resolved
parameters on the same node, one nesting level deeper, and returns its aggregate result."""


@dataclass
class NodeContext:
    """Everything about the node and the command that a plugin needs."""

    node_id: str
    executor: Executor
    command_id: str
    platform: str = "Linux"
    region: str = "us-east-1"
    work_dir: str = "/tmp/ssm-local"
    """The orchestration directory on the node; downloads go to ``<work_dir>/downloads``."""
    work_root: str | None = None
    """The directory (``work_dir`` or one of its parents) from which every directory down to
    ``work_dir`` must be private to the node's user (created 0700, owned, checked; see
    ``ssm_local.engine.executors.private``); ``None`` means ``work_dir`` itself."""
    resolve_document: DocumentResolver | None = None
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    on_output: OutputSink | None = None
    clock: Clock = field(default_factory=SystemClock)
    deadline: float | None = None
    """``loop.time()`` (seconds) after which the invocation is out of time (the overall timeout)."""
    parameter_store: ParameterReader | None = None
    """Resolves ``{{ssm:name}}`` in step inputs; without it such a step fails."""


@dataclass(frozen=True)
class StepContext:
    """One step about to run: its rendered inputs and where it runs.

    ``inputs`` are the step's inputs with every ``{{ parameter }}`` substituted and the control
    inputs (onFailure, onSuccess, finallyStep) removed; ``environment`` holds the ``SSM_<name>``
    variables of ``interpolationType: ENV_VAR`` parameters; ``depth`` is the aws:runDocument
    nesting level (0 for the document that was sent).
    """

    node: NodeContext
    document: Document
    step: Step
    inputs: dict[str, Any]
    parameters: Mapping[str, Any]
    environment: dict[str, str]
    depth: int
    run_document: NestedRunner


CommandPlugin = Callable[[StepContext], Awaitable[PluginResult]]
"""A Command plugin: ``await plugin(ctx)`` runs one step and returns its ``PluginResult``."""


def work_dir_guard(node: NodeContext, directory: str) -> tuple[str, dict[str, str]]:
    """Script lines, and the environment they read, that create or check every directory from
    ``node.work_root`` down to ``directory`` (``work_dir`` or below it) as private to the node's
    user, or print why one is refused and exit 1. Prepend them to a script that uses the
    directory; see ``ssm_local.engine.executors.private``."""
    from ssm_local.engine.executors.private import private_directory_script

    environment = {"SSM_LOCAL_WORK_ROOT": node.work_root or node.work_dir,
                   "SSM_LOCAL_WORK_DIR": directory}
    return private_directory_script("SSM_LOCAL_WORK_ROOT", "SSM_LOCAL_WORK_DIR"), environment


def time_left(node: NodeContext, seconds: float) -> float:
    """``seconds``, cut to what is left before ``node.deadline`` (at least 1 ms): the timeout to
    give the executor for one request of a step."""
    if node.deadline is None:
        return seconds
    return max(min(seconds, node.deadline - asyncio.get_running_loop().time()), 0.001)


def interrupted(result: ProcessResult) -> tuple[str, str] | None:
    """``(Status, StatusDetails)`` of a step whose executor run was cancelled (``Cancelled``) or
    timed out (``TimedOut`` / ``Execution Timed Out``); None when the run was not interrupted."""
    if result.outcome is ProcessOutcome.CANCELLED:
        return CANCELLED, "Cancelled"
    if result.outcome is ProcessOutcome.TIMED_OUT:
        return TIMED_OUT, "Execution Timed Out"
    return None

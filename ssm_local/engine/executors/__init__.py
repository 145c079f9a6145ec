"""Executors run one invocation of a script on one node: ``local``, ``ssh``, ``mock``, plugins.

See :mod:`ssm_local.engine.executors.base` for the interface (:class:`Executor`, :class:`InvocationRequest`,
:class:`ProcessResult`) and :mod:`ssm_local.engine.executors.registry` for lookup by name. The runner is the
only code that calls executors.
"""

from __future__ import annotations

from .base import (
    KILLED_EXIT_CODE,
    NOT_RUN_EXIT_CODE,
    Executor,
    InvocationRequest,
    OutputCallback,
    ProcessOutcome,
    ProcessResult,
)
from .local import LocalExecutor
from .mock import MockExecutor, MockHandler, MockReturn
from .registry import (
    BUILTIN_EXECUTORS,
    ENTRY_POINT_GROUP,
    ExecutorFactory,
    ExecutorRegistry,
    create_executor,
    executor_names,
)
from .ssh import SshConnectionPool, SshExecutor, SshTarget

__all__ = [
    "BUILTIN_EXECUTORS",
    "ENTRY_POINT_GROUP",
    "KILLED_EXIT_CODE",
    "NOT_RUN_EXIT_CODE",
    "Executor",
    "ExecutorFactory",
    "ExecutorRegistry",
    "InvocationRequest",
    "LocalExecutor",
    "MockExecutor",
    "MockHandler",
    "MockReturn",
    "OutputCallback",
    "ProcessOutcome",
    "ProcessResult",
    "SshConnectionPool",
    "SshExecutor",
    "SshTarget",
    "create_executor",
    "executor_names",
]

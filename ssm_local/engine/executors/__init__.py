"""Executors run one invocation of a script on one node: ``local``, ``ssh``, ``mock``, plugins.

This package is the public surface: the interface (``Executor``, one ``run(request,
on_output=, cancel=)`` method; ``InvocationRequest`` in, ``ProcessResult`` out), the built-in
executors (``LocalExecutor``, ``SshExecutor``, ``MockExecutor`` for dry runs), and
``ExecutorRegistry``, which makes executors by name from the built-ins and the
``ssm_local.executors`` entry-point group. The Run Command fan-out is the only code in ssm-local
that calls executors.
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

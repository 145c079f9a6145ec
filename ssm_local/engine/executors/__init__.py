"""Executors run one invocation of a script on one node: ``local``, ``ssh``, ``mock``, plugins.

This package is the public surface: the interface (``Executor``, one ``run(request,
on_output=, cancel=)`` method; ``InvocationRequest`` in, ``ProcessResult`` out), the built-in
executors (``LocalExecutor``, ``SshExecutor``, ``MockExecutor`` for dry runs), and
``ExecutorRegistry``, which makes executors by name from the built-ins and the
``ssm_local.executors`` entry-point group. The Run Command fan-out is the only code in ssm-local
that calls executors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .ssh import SshConnectionPool, SshExecutor, SshTarget

_SSH_NAMES = frozenset({"SshConnectionPool", "SshExecutor", "SshTarget"})
"""Loaded on first use: ``.ssh`` imports asyncssh, which a run on local nodes never needs."""

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


def __getattr__(name: str) -> Any:
    if name not in _SSH_NAMES:
        raise AttributeError(f"module 'ssm_local.engine.executors' has no attribute {name!r}")
    from . import ssh

    value = getattr(ssh, name)
    globals()[name] = value
    return value

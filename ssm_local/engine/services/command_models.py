"""Run Command's shared values: the error class, a prepared command, progress counters, limits.

``CommandError`` is every refusal of a Run Command request (its ``code`` is AWS's: InvalidParameters
by default, InvalidDocument, InvalidCommandId, InvocationDoesNotExist, InvalidPluginName,
InvalidFilterKey, InvalidFilterValue, InvalidNextToken, ValidationException, InvalidTarget).
``PreparedCommand`` is a command that passed every check and sits Pending in the store;
``Progress`` counts its invocations while it runs. The table handles and the epoch/ISO helpers
are shared by the service (``commands``), the fan-out (``command_fanout``), the persistence
batcher (``command_persister``) and the read views (``command_views``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ssm_local.engine.command.results import PENDING
from ssm_local.engine.services.nodes import Node
from ssm_local.engine.services.resolution import ResolvedDocument
from ssm_local.engine.store.command_tables import CommandInvocationRow, CommandPluginRow, CommandRow
from ssm_local.grammar.errors import ApiError

DEFAULT_TIMEOUT_SECONDS = 3600
"""TimeoutSeconds reported for a command sent without one."""
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 30, 2_592_000
MAX_COMMENT_CHARS = 100

COMMANDS = CommandRow.__table__  # type: ignore[attr-defined]
INVOCATIONS = CommandInvocationRow.__table__  # type: ignore[attr-defined]
PLUGINS = CommandPluginRow.__table__  # type: ignore[attr-defined]

OutputListener = Callable[[str, str, str, bytes], None]
"""``listener(instance_id, step_name, stream, chunk)``: live output of every invocation."""


class CommandError(ApiError):
    """A SendCommand, CancelCommand or read request that AWS would refuse."""

    code = "InvalidParameters"


@dataclass
class Progress:
    """Counters of a running command, for progress displays."""

    total: int
    in_flight: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    status: str = PENDING

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.cancelled


ProgressListener = Callable[[Progress], None]
"""``listener(progress)``: called whenever the counters of a running command change."""


@dataclass
class PreparedCommand:
    """A command that passed every check and is in the store, Pending, ready to run."""

    command_id: str
    resolved: ResolvedDocument
    parameters: dict[str, Any]
    nodes: list[Node]
    max_concurrency: str
    max_errors: str
    timeout_seconds: int | None
    requested_at: float
    progress: Progress
    cancel: asyncio.Event | None = None
    node_cancel: dict[str, asyncio.Event] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None



__all__ = [
    "COMMANDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "INVOCATIONS",
    "MAX_COMMENT_CHARS",
    "MAX_TIMEOUT_SECONDS",
    "MIN_TIMEOUT_SECONDS",
    "PLUGINS",
    "CommandError",
    "OutputListener",
    "PreparedCommand",
    "Progress",
    "ProgressListener",
]

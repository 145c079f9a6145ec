"""The executor interface: one invocation of a script on one node, with typed requests and results.

An executor is the only piece of ssm-local that starts processes. It takes an
:class:`InvocationRequest` (script text or an argv, the interpreter, working directory,
environment and timeout), runs it on its node, streams output through an optional callback and
returns a :class:`ProcessResult`. Every failure that belongs to the run (a non-zero exit, a
timeout, a cancellation, a node that could not be reached, a working directory that does not
exist) is reported in the result, never raised: the runner above turns results into SSM
statuses. Cancellation works two ways: setting the ``cancel`` event passed to ``run`` kills the
process group and returns a result marked cancelled, and cancelling the asyncio task running
``run`` kills it too and re-raises ``CancelledError``.
"""

from __future__ import annotations

import asyncio
import enum
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from ssm_local.grammar.errors import ExecutorError

__all__ = [
    "CAPTURE_BYTES",
    "KILLED_EXIT_CODE",
    "NOT_RUN_EXIT_CODE",
    "Executor",
    "HeadBuffer",
    "InvocationRequest",
    "OutputCallback",
    "ProcessOutcome",
    "ProcessResult",
    "exit_code_for_signal",
    "exit_code_from_returncode",
    "shebang_command",
    "utc_now",
    "wait_for_end",
]

OutputCallback = Callable[[str, bytes], None]
"""``on_output(stream, chunk)``: ``stream`` is ``"stdout"`` or ``"stderr"``; chunks arrive in order."""

NOT_RUN_EXIT_CODE = -1
"""The exit code of a process that never started (AWS's ResponseCode for "not run")."""

KILLED_EXIT_CODE = 128 + signal.SIGKILL
"""137: the code a process killed with SIGKILL reports, as the SSM Agent sees it on Linux."""

CAPTURE_BYTES = 128 * 1024
"""Bytes of each stream an executor keeps in its :class:`ProcessResult` by default: room for the
API's longest view (24,000 characters of stdout, up to 4 bytes each) and no more, so memory stays
flat whatever a script prints. The whole output reaches ``on_output``."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the default clock of the executors)."""
    return datetime.now(UTC)


def exit_code_for_signal(signum: int) -> int:
    """The shell's exit code for a process killed by ``signum``: 128 + the signal number."""
    return 128 + signum


def exit_code_from_returncode(returncode: int | None) -> int:
    """A process's return code as the SSM agent reports it: a negative code (killed by signal
    N) becomes 128 + N, and no code at all (never reaped after a kill) is 137."""
    if returncode is None:
        return KILLED_EXIT_CODE
    if returncode < 0:
        return exit_code_for_signal(-returncode)
    return returncode


class ProcessOutcome(enum.StrEnum):
    """How one invocation ended, before any SSM interpretation of its exit code."""

    EXITED = "Exited"
    """The process ran and exited (or was killed by a signal it did not get from us)."""
    TIMED_OUT = "TimedOut"
    """The request's timeout passed; the whole process group was killed."""
    CANCELLED = "Cancelled"
    """The run was cancelled; the whole process group was killed."""
    UNREACHABLE = "Unreachable"
    """The node could not be reached (connection refused, host key rejected...); nothing ran."""
    ERROR = "Error"
    """The node was reached but the process could not be started or its result was lost."""


@dataclass(frozen=True)
class InvocationRequest:
    """What to run: a script (written to a file, run as ``interpreter... <file>``) or an argv.

    Exactly one of ``script`` and ``argv`` is given. ``executable`` asks for the SSM Agent's
    launch of ``_script.sh``: the file is written with mode 0700 and started as ``sh -c <file>``
    (``interpreter`` names the shell), so the kernel honours its ``#!`` line and a script without
    one runs under ``sh`` (a missing ``#!`` interpreter fails with the shell's message and 127).
    Without ``executable`` the file is only read, by ``interpreter... <file>``. ``environment``
    is added to the node's environment (names must be shell identifiers). ``timeout_seconds``
    of ``None`` means no timeout. ``script_filename`` is the name the script file gets on the
    node (the SSM Agent uses ``_script.sh``; PowerShell needs a ``.ps1`` name).
    ``invocation_id`` is a label for logs. ``capture_bytes`` is how many bytes of each stream
    the result keeps (the first ones; ``None`` keeps all); every chunk still goes to ``on_output``.
    """

    script: str | None = None
    argv: tuple[str, ...] | None = None
    interpreter: tuple[str, ...] = ("sh",)
    working_directory: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float | None = None
    script_filename: str = "_script.sh"
    invocation_id: str | None = None
    executable: bool = False
    capture_bytes: int | None = CAPTURE_BYTES

    def __post_init__(self) -> None:
        if self.capture_bytes is not None and self.capture_bytes < 0:
            raise ExecutorError(f"capture_bytes must be 0 or more, got {self.capture_bytes!r}")
        if (self.script is None) == (self.argv is None):
            raise ExecutorError("an invocation request needs exactly one of script and argv")
        if self.argv is not None:
            object.__setattr__(self, "argv", tuple(self.argv))
            if not self.argv:
                raise ExecutorError("an invocation request's argv must not be empty")
        object.__setattr__(self, "interpreter", tuple(self.interpreter))
        if self.script is not None and not self.interpreter:
            raise ExecutorError("an invocation request with a script needs an interpreter")
        if self.timeout_seconds is not None and not self.timeout_seconds > 0:
            raise ExecutorError(f"timeout_seconds must be greater than 0, got {self.timeout_seconds!r}")
        if "/" in self.script_filename or self.script_filename in ("", ".", ".."):
            raise ExecutorError(f"script_filename must be a plain file name: {self.script_filename!r}")
        env = dict(self.environment)
        for name, value in env.items():
            if not _ENV_NAME.match(name):
                raise ExecutorError(f"environment variable name {name!r} is not a valid name")
            if not isinstance(value, str) or "\0" in value:
                raise ExecutorError(f"environment variable {name} must be a string without NUL")
        object.__setattr__(self, "environment", MappingProxyType(env))


def shebang_command(script: str) -> tuple[str, ...] | None:
    """The interpreter the kernel would start for ``script``, from its ``#!`` line, or ``None``.

    Linux's rule (binfmt_script): the text must begin with ``#!``; after optional blanks the
    interpreter path runs to the next blank, and the rest of the line, blanks trimmed, is one
    optional argument. A ``#!`` naming nothing is no ``#!`` line (the shell runs the file).
    ``("/usr/bin/env", "python3")`` for ``#!/usr/bin/env python3``.
    """
    if not script.startswith("#!"):
        return None
    line = script[2:].split("\n", 1)[0].strip(" \t")
    if not line:
        return None
    parts = line.replace("\t", " ").split(" ", 1)
    argument = parts[1].strip(" \t") if len(parts) > 1 else ""
    return (parts[0], argument) if argument else (parts[0],)


@dataclass(frozen=True)
class ProcessResult:
    """What happened to one invocation: outcome, exit code, full output and timings.

    ``exit_code`` is the process's exit status; a process killed by signal N reports 128 + N
    (137 after a timeout or a cancellation), and one that never started reports -1 (also a run
    cancelled before it started). ``stdout`` and ``stderr`` are the output as bytes, at most the
    request's ``capture_bytes`` of each (the first ones; AWS's truncation is applied above this
    layer); ``stdout_size`` and ``stderr_size`` count every byte the process wrote (by default
    the length of what is kept). ``error`` explains an ``UNREACHABLE`` or ``ERROR`` outcome, or
    a cancellation before the start.
    """

    outcome: ProcessOutcome
    exit_code: int
    stdout: bytes
    stderr: bytes
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    stdout_size: int = -1
    stderr_size: int = -1

    def __post_init__(self) -> None:
        if self.stdout_size < len(self.stdout):
            object.__setattr__(self, "stdout_size", len(self.stdout))
        if self.stderr_size < len(self.stderr):
            object.__setattr__(self, "stderr_size", len(self.stderr))

    @property
    def truncated(self) -> bool:
        """Some output was not kept (the process wrote more than ``capture_bytes``)."""
        return self.stdout_size > len(self.stdout) or self.stderr_size > len(self.stderr)

    @property
    def timed_out(self) -> bool:
        return self.outcome is ProcessOutcome.TIMED_OUT

    @property
    def cancelled(self) -> bool:
        return self.outcome is ProcessOutcome.CANCELLED

    @property
    def reached(self) -> bool:
        """False when the node could not be reached at all."""
        return self.outcome is not ProcessOutcome.UNREACHABLE

    @property
    def ok(self) -> bool:
        """The process exited with code 0."""
        return self.outcome is ProcessOutcome.EXITED and self.exit_code == 0

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def stdout_text(self) -> str:
        """``stdout`` decoded as UTF-8, undecodable bytes replaced."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    @classmethod
    def failure(
        cls,
        outcome: ProcessOutcome,
        error: str,
        *,
        started_at: datetime,
        finished_at: datetime | None = None,
        stdout: bytes = b"",
        stderr: bytes = b"",
    ) -> ProcessResult:
        """A result for a run that never produced an exit status (``UNREACHABLE``/``ERROR``)."""
        return cls(
            outcome=outcome,
            exit_code=NOT_RUN_EXIT_CODE,
            stdout=stdout,
            stderr=stderr,
            started_at=started_at,
            finished_at=finished_at or utc_now(),
            error=error,
        )


class HeadBuffer:
    """The first ``limit`` bytes of a stream (all of them when ``limit`` is None) and the count
    of every byte seen: what an executor keeps of an output stream while it reads it in chunks."""

    __slots__ = ("data", "limit", "size")

    def __init__(self, limit: int | None) -> None:
        self.data = bytearray()
        self.limit = limit
        self.size = 0

    def append(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is None:
            self.data += chunk
            return
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def __bytes__(self) -> bytes:
        return bytes(self.data)


@runtime_checkable
class Executor(Protocol):
    """Runs one invocation at a time per call; safe to call concurrently for different requests.

    ``run`` never raises for a failure of the run itself; it returns a :class:`ProcessResult`.
    Setting ``cancel`` kills the process group (or closes the SSH channel after killing the
    remote group) and returns a ``CANCELLED`` result; cancelling the task does the same cleanup
    and re-raises ``asyncio.CancelledError``. ``aclose`` releases connections.
    """

    async def run(
        self,
        request: InvocationRequest,
        on_output: OutputCallback | None = None,
        *,
        cancel: asyncio.Event | None = None,
    ) -> ProcessResult: ...

    async def aclose(self) -> None: ...


async def wait_for_end(
    done: asyncio.Future[Any],
    timeout_seconds: float | None,
    cancel: asyncio.Event | None,
) -> ProcessOutcome | None:
    """Wait until ``done`` completes, the timeout passes or ``cancel`` is set.

    Returns ``None`` when ``done`` completed first, else ``TIMED_OUT`` or ``CANCELLED``.
    Shared by the executors so that all three race the same way.
    """
    waiters: set[asyncio.Future[Any]] = {done}
    cancel_task: asyncio.Future[Any] | None = None
    if cancel is not None:
        if cancel.is_set():
            return ProcessOutcome.CANCELLED
        cancel_task = asyncio.ensure_future(cancel.wait())
        waiters.add(cancel_task)
    try:
        finished, _ = await asyncio.wait(
            waiters, timeout=timeout_seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if cancel_task is not None and not cancel_task.done():
            cancel_task.cancel()
            await asyncio.gather(cancel_task, return_exceptions=True)
    if done in finished:
        return None
    if cancel_task is not None and cancel_task in finished:
        return ProcessOutcome.CANCELLED
    return ProcessOutcome.TIMED_OUT

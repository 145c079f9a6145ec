"""The ``mock`` executor: a handler function stands in for the node, for tests and dry runs.

``MockExecutor(handler)`` calls ``handler(request)`` for every invocation. The handler returns a
:class:`ProcessResult`, an ``int`` exit code, or ``None`` (exit code 0), directly or as an
awaitable; an async handler is subject to the request's timeout and to cancellation exactly like
a real process. A handler that raises :class:`ExecutorError` plays a node that cannot be reached
(an ``UNREACHABLE`` result); any other exception becomes an ``ERROR`` result naming it, so that
failures stay data. The returned output is passed to ``on_output`` as one chunk per stream.
Every request is recorded in ``requests``. Without a handler every invocation succeeds with no
output: a dry run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from ssm_local.grammar.errors import ExecutorError

from .base import (
    KILLED_EXIT_CODE,
    InvocationRequest,
    OutputCallback,
    ProcessOutcome,
    ProcessResult,
    utc_now,
    wait_for_end,
)

__all__ = ["MockExecutor", "MockHandler", "MockReturn"]

MockReturn = ProcessResult | int | None
"""What a handler gives back: a full result, an exit code, or ``None`` for exit code 0."""

MockHandler = Callable[[InvocationRequest], MockReturn | Awaitable[MockReturn]]
"""``handler(request)``, plain or async."""


class MockExecutor:
    """An executor whose node is a Python function: a dry run of documents with no process.

    ``MockExecutor(handler)`` calls ``handler(request: InvocationRequest)`` once per invocation
    (``request.script`` is the rendered script, or ``request.argv`` the command line; see
    ``InvocationRequest``). The handler returns a ``ProcessResult``, an ``int`` exit code, or
    ``None`` for exit code 0, directly or as an awaitable; an async handler is timed out and
    cancelled like a real process. Raising ``ExecutorError`` plays an unreachable node; any other
    exception becomes an ``ERROR`` result naming it. Every request is kept in ``requests``.
    ``MockExecutor()`` with no handler succeeds at everything with no output.
    """

    name = "mock"

    def __init__(self, handler: MockHandler | None = None) -> None:
        self._handler = handler
        self.requests: list[InvocationRequest] = []

    async def __aenter__(self) -> MockExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to release."""

    async def run(
        self,
        request: InvocationRequest,
        on_output: OutputCallback | None = None,
        *,
        cancel: asyncio.Event | None = None,
    ) -> ProcessResult:
        self.requests.append(request)
        started_at = utc_now()
        if cancel is not None and cancel.is_set():
            return ProcessResult.failure(
                ProcessOutcome.CANCELLED, "cancelled before it started", started_at=started_at
            )
        try:
            value = self._handler(request) if self._handler is not None else None
        except ExecutorError as exc:
            return ProcessResult.failure(ProcessOutcome.UNREACHABLE, exc.message, started_at=started_at)
        except Exception as exc:
            return ProcessResult.failure(ProcessOutcome.ERROR, _describe(exc), started_at=started_at)
        if inspect.isawaitable(value):
            task: asyncio.Future[Any] = asyncio.ensure_future(value)
            try:
                ended = await wait_for_end(task, request.timeout_seconds, cancel)
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            if ended is not None:
                return ProcessResult(
                    outcome=ended,
                    exit_code=KILLED_EXIT_CODE,
                    stdout=b"",
                    stderr=b"",
                    started_at=started_at,
                    finished_at=utc_now(),
                )
            try:
                value = task.result()
            except ExecutorError as exc:
                return ProcessResult.failure(ProcessOutcome.UNREACHABLE, exc.message, started_at=started_at)
            except Exception as exc:
                return ProcessResult.failure(ProcessOutcome.ERROR, _describe(exc), started_at=started_at)
        result = _as_result(value, started_at)
        if on_output is not None:
            if result.stdout:
                on_output("stdout", result.stdout)
            if result.stderr:
                on_output("stderr", result.stderr)
        return _captured(result, request.capture_bytes)


def _captured(result: ProcessResult, capture_bytes: int | None) -> ProcessResult:
    """``result`` keeping the first ``capture_bytes`` of each stream, as a real executor does."""
    if capture_bytes is None or max(len(result.stdout), len(result.stderr)) <= capture_bytes:
        return result
    return dataclasses.replace(result, stdout=result.stdout[:capture_bytes],
                               stderr=result.stderr[:capture_bytes])


def _as_result(value: object, started_at: datetime) -> ProcessResult:
    if isinstance(value, ProcessResult):
        return value
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return ProcessResult(
            outcome=ProcessOutcome.EXITED,
            exit_code=int(value or 0),
            stdout=b"",
            stderr=b"",
            started_at=started_at,
            finished_at=utc_now(),
        )
    return ProcessResult.failure(
        ProcessOutcome.ERROR,
        f"the mock handler returned {type(value).__name__}, not a ProcessResult, int or None",
        started_at=started_at,
    )


def _describe(exc: Exception) -> str:
    return f"the mock handler raised {type(exc).__name__}: {exc}"

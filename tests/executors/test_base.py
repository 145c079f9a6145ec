"""The request and result types, and the mock executor's handler rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from ssm_local.engine.executors import (
    InvocationRequest,
    MockExecutor,
    ProcessOutcome,
    ProcessResult,
)
from ssm_local.engine.executors.base import shebang_command, utc_now
from ssm_local.grammar.errors import ExecutorError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "an invocation request needs exactly one of script and argv"),
        ({"script": "x", "argv": ("x",)}, "an invocation request needs exactly one of script and argv"),
        ({"argv": ()}, "an invocation request's argv must not be empty"),
        ({"script": "x", "interpreter": ()}, "an invocation request with a script needs an interpreter"),
        ({"script": "x", "timeout_seconds": 0}, "timeout_seconds must be greater than 0, got 0"),
        ({"script": "x", "script_filename": "a/b.sh"}, "script_filename must be a plain file name: 'a/b.sh'"),
        (
            {"script": "x", "environment": {"A-B": "1"}},
            "environment variable name 'A-B' is not a valid name",
        ),
        (
            {"script": "x", "environment": {"A": "nul\0"}},
            "environment variable A must be a string without NUL",
        ),
    ],
)
def test_bad_requests(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ExecutorError) as caught:
        InvocationRequest(**kwargs)
    assert caught.value.message == message


def test_requests_are_frozen_and_copy_their_inputs() -> None:
    env = {"A": "1"}
    request = InvocationRequest(argv=["echo", "hi"], environment=env)  # type: ignore[arg-type]
    env["A"] = "2"
    assert request.argv == ("echo", "hi")
    assert request.environment["A"] == "1"
    with pytest.raises(TypeError):
        request.environment["A"] = "3"  # type: ignore[index]


def test_result_properties() -> None:
    start = utc_now()
    result = ProcessResult(
        ProcessOutcome.EXITED, 0, b"caf\xc3\xa9 \xff", b"", start, start + timedelta(seconds=1.5)
    )
    assert result.ok and result.reached and not result.timed_out and not result.cancelled
    assert result.duration == 1.5
    assert result.stdout_text == "caf\u00e9 \ufffd"
    failure = ProcessResult.failure(ProcessOutcome.UNREACHABLE, "down", started_at=start)
    assert (failure.exit_code, failure.ok, failure.reached, failure.error) == (-1, False, False, "down")


@pytest.mark.parametrize(
    ("answer", "outcome", "exit_code", "error"),
    [
        (None, ProcessOutcome.EXITED, 0, None),
        (3, ProcessOutcome.EXITED, 3, None),
        (
            "three",
            ProcessOutcome.ERROR,
            -1,
            "the mock handler returned str, not a ProcessResult, int or None",
        ),
        (ValueError("boom"), ProcessOutcome.ERROR, -1, "the mock handler raised ValueError: boom"),
        (ExecutorError("node down"), ProcessOutcome.UNREACHABLE, -1, "node down"),
    ],
)
@pytest.mark.parametrize("is_async", [False, True])
def test_mock_handler_answers(
    answer: Any, outcome: ProcessOutcome, exit_code: int, error: str | None, is_async: bool
) -> None:
    def sync_handler(request: InvocationRequest) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def async_handler(request: InvocationRequest) -> Any:
        await asyncio.sleep(0)
        return sync_handler(request)

    executor = MockExecutor(async_handler if is_async else sync_handler)
    request = InvocationRequest(script="anything")
    result = asyncio.run(executor.run(request))
    assert (result.outcome, result.exit_code, result.error) == (outcome, exit_code, error)
    assert executor.requests == [request]


def test_mock_without_handler_is_a_dry_run() -> None:
    chunks: list[tuple[str, bytes]] = []
    result = asyncio.run(
        MockExecutor().run(InvocationRequest(script="rm -rf /"), lambda s, c: chunks.append((s, c)))
    )
    assert result.ok and result.stdout == b"" and chunks == []


@pytest.mark.parametrize(
    ("script", "command"),
    [
        ("#!/bin/bash\necho", ("/bin/bash",)),
        ("#! /usr/bin/env python3\n", ("/usr/bin/env", "python3")),
        ("#!/usr/bin/env  -S  bash -e \t\nx", ("/usr/bin/env", "-S  bash -e")),
        ("#!\t/bin/sh", ("/bin/sh",)),
        ("#!/bin/bash\r\n", ("/bin/bash\r",)),
        ("#!\n", None),
        ("echo hi", None),
        (" #!/bin/bash", None),
        ("", None),
    ],
)
def test_shebang_command_reads_the_line_as_linux_does(script: str, command: tuple[str, ...] | None) -> None:
    assert shebang_command(script) == command

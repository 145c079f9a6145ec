"""One contract for every executor: the same tests run against mock, local and ssh.

The ``mock`` backend's node is :class:`FakeNode`, a handler that answers the handful of scripts
used here the way ``sh`` would, so that the same assertions hold for all three. Tests about real
processes (no process left behind after a timeout or a cancellation, the private working
directory) apply to ``local`` and ``ssh`` only. No test waits more than about a second for a
timeout.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine.executors import (
    Executor,
    InvocationRequest,
    LocalExecutor,
    MockExecutor,
    ProcessOutcome,
    ProcessResult,
    SshExecutor,
)
from ssm_local.engine.executors.base import CAPTURE_BYTES, utc_now
from ssm_local.grammar.errors import ExecutorError

from .conftest import SshdInfo

MB = 1024 * 1024


# --- the fake node behind the mock backend -------------------------------------------------


@dataclass
class FakeNode:
    """Answers the contract's scripts like ``sh`` would, without starting a process."""

    started: asyncio.Event | None = None
    unreachable: bool = False
    scripts: dict[str, Callable[[InvocationRequest], Any]] = field(default_factory=dict)

    def __call__(self, request: InvocationRequest) -> Any:
        if self.started is not None:
            self.started.set()
        if self.unreachable:
            raise ExecutorError("could not connect to mi-00000000000000000: connection refused")
        if request.working_directory and not os.path.isdir(request.working_directory):
            return _result(error=f"working directory {request.working_directory!r} does not exist")
        if request.argv is not None:
            if request.argv[0] == "printf":
                return _result(stdout=_printf(request.argv[1], request.argv[2:]))
            return _result(error=f"{request.argv[0]!r} was not found on the node")
        if request.interpreter[0] != "sh":
            return _result(error=f"{request.interpreter[0]!r} was not found on the node")
        assert request.script is not None
        for prefix, answer in self.scripts.items():
            if request.script.startswith(prefix):
                return answer(request)
        raise AssertionError(f"FakeNode does not know the script {request.script!r}")


def _printf(fmt: str, args: tuple[str, ...]) -> bytes:
    return "".join(fmt.replace("%s", arg) for arg in args).encode()


def _result(
    exit_code: int = 0, stdout: bytes = b"", stderr: bytes = b"", error: str | None = None
) -> ProcessResult:
    now = utc_now()
    if error is not None:
        return ProcessResult.failure(ProcessOutcome.ERROR, error, started_at=now)
    return ProcessResult(ProcessOutcome.EXITED, exit_code, stdout, stderr, now, now)


async def _forever(request: InvocationRequest) -> ProcessResult:
    await asyncio.sleep(1000)
    raise AssertionError("not reached")


def fake_scripts() -> dict[str, Callable[[InvocationRequest], Any]]:
    return {
        "exit ": lambda r: _result(int(r.script.split()[1])),
        "printf 'h\u00e9llo": lambda r: _result(
            0, "h\u00e9llo w\u00f6rld \u2713\n".encode(), "\u00e9rr\n".encode()
        ),
        "kill -TERM $$": lambda r: _result(143),
        "echo out; echo err >&2": lambda r: _result(0, b"out\n", b"err\n"),
        "printf '%s' \"$SSM_VALUE\"": lambda r: _result(0, r.environment["SSM_VALUE"].encode()),
        "pwd": lambda r: _result(0, f"{r.working_directory}\n".encode()),
        "(head -c": lambda r: _result(0, b"o" * MB, b"e" * MB),
        "echo started;": _forever,
    }


# --- backends ------------------------------------------------------------------------------


@dataclass
class Backend:
    kind: str
    make: Callable[[], Executor]
    make_unreachable: Callable[[], Executor] | None
    fake: FakeNode | None = None

    @property
    def real_processes(self) -> bool:
        return self.kind != "mock"

    async def wait_started(self, chunks: list[tuple[str, bytes]]) -> None:
        """Until the script has printed ``started`` (or the fake node was called)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.fake is not None and self.fake.started and self.fake.started.is_set():
                return
            if b"started" in b"".join(chunk for stream, chunk in chunks if stream == "stdout"):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the script did not start within 10 s")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["mock", "local", "ssh"])
def backend(request: pytest.FixtureRequest) -> Backend:
    kind = request.param
    if kind == "mock":
        fake = FakeNode(scripts=fake_scripts())

        def make_mock() -> Executor:
            fake.started = asyncio.Event()
            return MockExecutor(fake)

        return Backend(kind, make_mock, lambda: MockExecutor(FakeNode(unreachable=True)), fake=fake)
    if kind == "local":
        return Backend(kind, LocalExecutor, None)
    info: SshdInfo = request.getfixturevalue("sshd")
    options = info.executor_options()
    return Backend(
        kind,
        lambda: SshExecutor(**options),
        lambda: SshExecutor(**{**options, "port": _closed_port(), "connect_timeout_seconds": 5}),
    )


def run_with(
    backend: Backend,
    body: Callable[[Executor], Awaitable[Any]],
) -> Any:
    async def main() -> Any:
        executor = backend.make()
        try:
            return await body(executor)
        finally:
            await executor.aclose()

    return asyncio.run(main())


def run_one(backend: Backend, request: InvocationRequest, **kwargs: Any) -> ProcessResult:
    return run_with(backend, lambda executor: executor.run(request, **kwargs))  # type: ignore[no-any-return]


def left_behind(marker: str) -> list[str]:
    """Processes whose command line contains ``marker``, after giving kills 2 s to land."""
    deadline = time.monotonic() + 2
    while True:
        found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
        lines = [line for line in found.splitlines() if "pgrep" not in line]
        if not lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def sleeper_script(marker: str) -> str:
    """Prints ``started``, leaves a background grandchild, then blocks; ``marker`` is unique."""
    return f"echo started; sleep {marker} & sh -c 'sleep {marker}' & sleep {marker}"


def unique_marker() -> str:
    return f"1000.{secrets.randbelow(10**8):08d}"


# --- the contract --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 2, 3, 168, 169, 194, 255])
def test_exit_codes(backend: Backend, code: int) -> None:
    result = run_one(backend, InvocationRequest(script=f"exit {code}"))
    assert result.outcome is ProcessOutcome.EXITED
    assert result.exit_code == code
    assert result.ok == (code == 0)
    assert result.error is None


def test_killed_by_a_signal_reports_128_plus_the_signal(backend: Backend) -> None:
    result = run_one(backend, InvocationRequest(script="kill -TERM $$"))
    assert (result.outcome, result.exit_code) == (ProcessOutcome.EXITED, 143)


def test_stdout_and_stderr_are_captured_separately_and_streamed(backend: Backend) -> None:
    chunks: list[tuple[str, bytes]] = []
    result = run_one(
        backend,
        InvocationRequest(script="echo out; echo err >&2"),
        on_output=lambda stream, chunk: chunks.append((stream, chunk)),
    )
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")
    assert b"".join(c for s, c in chunks if s == "stdout") == b"out\n"
    assert b"".join(c for s, c in chunks if s == "stderr") == b"err\n"
    assert result.started_at <= result.finished_at


def test_unicode_output(backend: Backend) -> None:
    script = "printf 'h\u00e9llo w\u00f6rld \u2713\\n'; printf '\u00e9rr\\n' >&2"
    result = run_one(backend, InvocationRequest(script=script))
    assert result.stdout_text == "h\u00e9llo w\u00f6rld \u2713\n"
    assert result.stderr_text == "\u00e9rr\n"


def test_a_megabyte_on_both_streams_does_not_deadlock(backend: Backend) -> None:
    script = f"(head -c {MB} /dev/zero | tr '\\0' e >&2) & head -c {MB} /dev/zero | tr '\\0' o; wait"
    chunks: list[tuple[str, bytes]] = []
    started = time.monotonic()
    result = run_one(
        backend,
        InvocationRequest(script=script, timeout_seconds=30),
        on_output=lambda stream, chunk: chunks.append((stream, chunk)),
    )
    assert result.outcome is ProcessOutcome.EXITED, result.error
    # The result keeps the first CAPTURE_BYTES of each stream and counts the rest; every chunk
    # reaches on_output.
    assert (result.stdout, result.stderr) == (b"o" * CAPTURE_BYTES, b"e" * CAPTURE_BYTES)
    assert (result.stdout_size, result.stderr_size) == (MB, MB) and result.truncated
    assert b"".join(c for s, c in chunks if s == "stdout") == b"o" * MB
    assert b"".join(c for s, c in chunks if s == "stderr") == b"e" * MB
    assert time.monotonic() - started < 15


def test_capture_bytes_none_keeps_the_whole_output(backend: Backend) -> None:
    if not backend.real_processes:
        pytest.skip("the fake node knows no such script")
    script = f"head -c {MB} /dev/zero | tr '\\0' o"
    result = run_one(backend, InvocationRequest(script=script, timeout_seconds=30, capture_bytes=None))
    assert result.stdout == b"o" * MB and result.stdout_size == MB and not result.truncated


def test_capture_bytes_keeps_the_first_bytes(backend: Backend) -> None:
    if not backend.real_processes:
        pytest.skip("the fake node knows no such script")
    result = run_one(backend, InvocationRequest(script="printf 0123456789; printf abcdef >&2",
                                                capture_bytes=4))
    assert (result.stdout, result.stderr) == (b"0123", b"abcd")
    assert (result.stdout_size, result.stderr_size) == (10, 6)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "two words",
        'it\'s "quoted" $HOME `id` \\ ;|&',
        "\u00fcnic\u00f8de \u2713",
        "line1\nline2",
        "",
    ],
)
def test_environment_variables_reach_the_script_verbatim(backend: Backend, value: str) -> None:
    request = InvocationRequest(script="printf '%s' \"$SSM_VALUE\"", environment={"SSM_VALUE": value})
    result = run_one(backend, request)
    assert result.ok, result
    assert result.stdout.decode() == value


def test_working_directory(backend: Backend, tmp_path: Path) -> None:
    directory = tmp_path / "work dir \u00e9"
    directory.mkdir()
    result = run_one(backend, InvocationRequest(script="pwd", working_directory=str(directory)))
    assert result.ok, result
    assert os.path.realpath(result.stdout_text.strip()) == os.path.realpath(directory)


def test_a_missing_working_directory_is_an_error_result(backend: Backend, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    result = run_one(backend, InvocationRequest(script="pwd", working_directory=missing))
    assert result.outcome is ProcessOutcome.ERROR
    assert result.exit_code == -1
    assert result.error is not None and "does not exist" in result.error and missing in result.error
    assert result.stderr == b""


def test_a_missing_interpreter_is_an_error_result(backend: Backend) -> None:
    request = InvocationRequest(script="exit 0", interpreter=("ssm-local-no-such-shell",))
    result = run_one(backend, request)
    assert result.outcome is ProcessOutcome.ERROR
    assert result.error == "'ssm-local-no-such-shell' was not found on the node"


def test_argv_runs_without_a_shell(backend: Backend) -> None:
    result = run_one(backend, InvocationRequest(argv=("printf", "%s|", "a b", "$c")))
    assert result.ok, result
    assert result.stdout == b"a b|$c|"


def test_timeout_kills_the_whole_process_group(backend: Backend) -> None:
    marker = unique_marker()
    started = time.monotonic()
    result = run_one(backend, InvocationRequest(script=sleeper_script(marker), timeout_seconds=1))
    elapsed = time.monotonic() - started
    assert result.outcome is ProcessOutcome.TIMED_OUT
    assert result.timed_out and not result.cancelled
    assert result.exit_code == 137
    assert elapsed < 5
    if backend.real_processes:
        assert result.stdout == b"started\n"
        assert left_behind(marker) == []


def test_cancel_event_kills_and_marks_cancelled(backend: Backend) -> None:
    marker = unique_marker()

    async def body(executor: Executor) -> ProcessResult:
        cancel = asyncio.Event()
        chunks: list[tuple[str, bytes]] = []
        task = asyncio.ensure_future(
            executor.run(
                InvocationRequest(script=sleeper_script(marker), timeout_seconds=60),
                lambda stream, chunk: chunks.append((stream, chunk)),
                cancel=cancel,
            )
        )
        await backend.wait_started(chunks)
        cancel.set()
        return await asyncio.wait_for(task, 10)

    result = run_with(backend, body)
    assert result.outcome is ProcessOutcome.CANCELLED
    assert result.cancelled and not result.timed_out
    if backend.real_processes:
        assert left_behind(marker) == []


def test_an_event_set_before_the_run_cancels_at_once(backend: Backend) -> None:
    async def body(executor: Executor) -> ProcessResult:
        cancel = asyncio.Event()
        cancel.set()
        return await executor.run(
            InvocationRequest(script=sleeper_script(unique_marker()), timeout_seconds=60),
            cancel=cancel,
        )

    result = run_with(backend, body)
    assert (result.outcome, result.exit_code) == (ProcessOutcome.CANCELLED, -1)
    assert result.error == "cancelled before it started"
    if backend.fake is not None:
        assert backend.fake.started is not None and not backend.fake.started.is_set()


def test_an_on_output_callback_that_raises_stops_the_run_and_propagates(backend: Backend) -> None:
    marker = unique_marker()

    def explode(stream: str, chunk: bytes) -> None:
        raise RuntimeError("callback bug")

    async def body(executor: Executor) -> ProcessResult:
        return await asyncio.wait_for(
            executor.run(InvocationRequest(script=sleeper_script(marker), timeout_seconds=60), explode),
            10,
        )

    if backend.fake is not None:
        backend.fake.scripts["echo started;"] = lambda r: _result(0, b"started\n")
    with pytest.raises(RuntimeError, match="callback bug"):
        run_with(backend, body)
    if backend.real_processes:
        assert left_behind(marker) == []


def test_cancelling_the_task_kills_and_reraises(backend: Backend) -> None:
    marker = unique_marker()

    async def body(executor: Executor) -> str:
        chunks: list[tuple[str, bytes]] = []
        task = asyncio.ensure_future(
            executor.run(
                InvocationRequest(script=sleeper_script(marker), timeout_seconds=60),
                lambda stream, chunk: chunks.append((stream, chunk)),
            )
        )
        await backend.wait_started(chunks)
        task.cancel()
        try:
            await asyncio.wait_for(task, 10)
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    assert run_with(backend, body) == "cancelled"
    if backend.real_processes:
        assert left_behind(marker) == []


def test_an_unreachable_node_is_a_result_not_an_exception(backend: Backend) -> None:
    if backend.make_unreachable is None:
        pytest.skip("the local node is always reachable")
    make = backend.make_unreachable

    async def main() -> ProcessResult:
        executor = make()
        try:
            return await executor.run(InvocationRequest(script="exit 0"))
        finally:
            await executor.aclose()

    result = asyncio.run(main())
    assert result.outcome is ProcessOutcome.UNREACHABLE
    assert not result.reached and not result.ok
    assert result.exit_code == -1
    assert result.error is not None and "connection refused" in result.error


def test_concurrent_runs_on_one_executor(backend: Backend) -> None:
    async def body(executor: Executor) -> list[ProcessResult]:
        return list(
            await asyncio.gather(*(executor.run(InvocationRequest(script=f"exit {i}")) for i in range(12)))
        )

    results = run_with(backend, body)
    assert [r.exit_code for r in results] == list(range(12))


def test_the_default_working_directory_is_private_and_removed(backend: Backend) -> None:
    if not backend.real_processes:
        pytest.skip("the mock node has no file system")
    result = run_one(backend, InvocationRequest(script="pwd"))
    assert result.ok, result
    directory = result.stdout_text.strip()
    assert os.path.basename(directory).startswith("ssm-local-")
    assert not os.path.exists(directory)


def test_the_executors_satisfy_the_protocol(backend: Backend) -> None:
    async def body(executor: Executor) -> bool:
        return isinstance(executor, Executor)

    assert run_with(backend, body)

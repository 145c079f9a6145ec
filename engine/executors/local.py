"""The ``local`` executor: runs an invocation on this machine as an asyncio subprocess.

Like the SSM Agent's ``aws:runShellScript``, a script is written to ``_script.sh`` in a fresh
private directory and run as ``sh <file>`` there, with stdin from ``/dev/null``. The process
starts in a new session (``start_new_session=True``), so it leads its own process group; on a
timeout or a cancellation the whole group gets SIGKILL, which takes background children such as
``sleep 1000 &`` with it. Processes that leave the group on purpose (``setsid``, daemons) are out
of reach, as they are for the agent. stdout and stderr are read concurrently in chunks, so a
process writing megabytes to both never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from datetime import datetime

from .base import (
    KILLED_EXIT_CODE,
    InvocationRequest,
    OutputCallback,
    ProcessOutcome,
    ProcessResult,
    exit_code_for_signal,
    utc_now,
    wait_for_end,
)

__all__ = ["LocalExecutor"]

_CHUNK = 64 * 1024


class LocalExecutor:
    """Run invocations on this machine, each in its own process group.

    Each invocation gets a private directory (mode 0700) holding the script; it is also the
    working directory when the request names none, as the agent's orchestration directory is,
    and it is removed afterwards. ``environment`` is the base environment the request's
    variables are added to (default: this process's environment). ``temp_dir`` is where those
    directories are created (default: ``/dev/shm`` when usable, else the system temporary
    directory). ``kill_grace_seconds`` bounds how long the executor waits for output pipes to
    close after killing a process group.
    """

    name = "local"

    def __init__(
        self,
        *,
        environment: Mapping[str, str] | None = None,
        temp_dir: str | None = None,
        kill_grace_seconds: float = 2.0,
    ) -> None:
        self._environment = dict(os.environ if environment is None else environment)
        self._temp_dir = temp_dir if temp_dir is not None else _default_temp_dir()
        self._kill_grace_seconds = kill_grace_seconds

    async def __aenter__(self) -> LocalExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to release: every run cleans up after itself."""

    async def run(
        self,
        request: InvocationRequest,
        on_output: OutputCallback | None = None,
        *,
        cancel: asyncio.Event | None = None,
    ) -> ProcessResult:
        started_at = utc_now()
        if cancel is not None and cancel.is_set():
            return ProcessResult.failure(
                ProcessOutcome.CANCELLED, "cancelled before it started", started_at=started_at
            )
        cwd = request.working_directory
        if cwd is not None and not os.path.isdir(cwd):
            return ProcessResult.failure(
                ProcessOutcome.ERROR,
                f"working directory {cwd!r} does not exist on the node",
                started_at=started_at,
            )
        try:
            script_dir = tempfile.mkdtemp(prefix="ssm-local-", dir=self._temp_dir)
        except OSError as exc:
            return ProcessResult.failure(
                ProcessOutcome.ERROR,
                f"could not create a script directory in {self._temp_dir or tempfile.gettempdir()}:"
                f" {exc.strerror or exc}",
                started_at=started_at,
            )
        try:
            if request.script is not None:
                path = os.path.join(script_dir, request.script_filename)
                with open(path, "w", encoding="utf-8", newline="") as handle:
                    handle.write(request.script)
                argv = [*request.interpreter, path]
            else:
                assert request.argv is not None
                argv = list(request.argv)
            env = {**self._environment, **request.environment}
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=script_dir if cwd is None else cwd,
                    env=env,
                    start_new_session=True,
                )
            except FileNotFoundError:
                return ProcessResult.failure(
                    ProcessOutcome.ERROR, f"{argv[0]!r} was not found on the node", started_at=started_at
                )
            except OSError as exc:
                return ProcessResult.failure(
                    ProcessOutcome.ERROR,
                    f"could not start {argv[0]!r}: {exc.strerror or exc}",
                    started_at=started_at,
                )
            return await self._supervise(proc, request, on_output, cancel, started_at)
        finally:
            shutil.rmtree(script_dir, ignore_errors=True)

    async def _supervise(
        self,
        proc: asyncio.subprocess.Process,
        request: InvocationRequest,
        on_output: OutputCallback | None,
        cancel: asyncio.Event | None,
        started_at: datetime,
    ) -> ProcessResult:
        stdout, stderr = bytearray(), bytearray()
        assert proc.stdout is not None and proc.stderr is not None
        tasks = [
            asyncio.ensure_future(proc.wait()),
            asyncio.ensure_future(_pump(proc.stdout, "stdout", stdout, on_output)),
            asyncio.ensure_future(_pump(proc.stderr, "stderr", stderr, on_output)),
        ]
        completion = asyncio.gather(*tasks)
        ended: ProcessOutcome | None = None
        try:
            ended = await wait_for_end(completion, request.timeout_seconds, cancel)
            if ended is None:
                completion.result()  # re-raises an exception from an on_output callback
        finally:
            if ended is not None or proc.returncode is None or not completion.done():
                _kill_group(proc.pid)
            # Give the killed group a moment to exit and close its pipes, then stop waiting:
            # a process that left the group (setsid) may hold them open for ever.
            if not all(task.done() for task in tasks):
                await asyncio.wait(tasks, timeout=self._kill_grace_seconds)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(completion, return_exceptions=True)
            transport = getattr(proc, "_transport", None)
            if transport is not None:
                transport.close()
        code = proc.returncode
        if code is None:
            exit_code = KILLED_EXIT_CODE
        elif code < 0:
            exit_code = exit_code_for_signal(-code)
        else:
            exit_code = code
        return ProcessResult(
            outcome=ended or ProcessOutcome.EXITED,
            exit_code=exit_code,
            stdout=bytes(stdout),
            stderr=bytes(stderr),
            started_at=started_at,
            finished_at=utc_now(),
        )


async def _pump(
    stream: asyncio.StreamReader, name: str, sink: bytearray, on_output: OutputCallback | None
) -> None:
    while chunk := await stream.read(_CHUNK):
        sink += chunk
        if on_output is not None:
            on_output(name, chunk)


def _default_temp_dir() -> str | None:
    """``/dev/shm`` where it is usable (no disk I/O per invocation), else the system default.

    The script is read by the interpreter, never executed directly, so a ``noexec`` mount
    does not matter.
    """
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

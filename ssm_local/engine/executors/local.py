"""The ``local`` executor: runs an invocation on this machine, watched from the event loop.

Like the SSM Agent's ``aws:runShellScript``, a script is written to ``_script.sh`` in a fresh
private directory and run there with stdin from ``/dev/null``. An ``executable`` request is
launched the agent's way, ``sh -c <file>``: the file has mode 0700, the kernel honours its ``#!``
line, and a script without one runs as ``sh <file>`` (started directly: what ``sh`` itself does
when the kernel refuses such a file). In a ``noexec`` temporary directory the kernel would refuse
every script, so there the ``#!`` interpreter is started as the kernel would start it. The process
starts in a new session (``start_new_session=True``), so it leads its own process group; on a
timeout or a cancellation the whole group gets SIGKILL, which takes background children such as
``sleep 1000 &`` with it. Processes that leave the group on purpose (``setsid``, daemons) are out
of reach, as they are for the agent.

The process is started with ``subprocess.Popen`` and then watched by the event loop itself:
both pipes are read as they become readable, in chunks of up to 1 MiB (so a process writing
megabytes to both never blocks on a full pipe, and ``on_output`` gets the chunks in order), and
the exit is noticed through a pidfd (Linux 5.3 and later; elsewhere a thread waits for it). The
process is reaped
only after its output has ended, so a kill always reaches its group. docs/decisions.md explains
why this, and not asyncio's subprocess transports or a thread per invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from .base import (
    HeadBuffer,
    InvocationRequest,
    OutputCallback,
    ProcessOutcome,
    ProcessResult,
    exit_code_from_returncode,
    shebang_command,
    utc_now,
    wait_for_end,
)
from .private import check_private_directory

__all__ = ["LocalExecutor"]

_CHUNK = 1024 * 1024
_PIPE_SIZE = 1024 * 1024
"""Output pipes are grown to 1 MiB (Linux ``F_SETPIPE_SZ``; the unprivileged maximum by default)
and read up to 1 MiB at a time: a script printing hundreds of megabytes wakes the loop 16 times
less often than with the default 64 KiB pipe. Memory stays bounded by ``capture_bytes``."""


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
        base = os.environ if environment is None else environment
        # Encoded once: subprocess passes bytes through instead of encoding every variable again.
        self._environment = {os.fsencode(k): os.fsencode(v) for k, v in base.items()}
        self._temp_dir = temp_dir if temp_dir is not None else _default_temp_dir()
        self._noexec = _is_noexec(self._temp_dir or tempfile.gettempdir())
        self._kill_grace_seconds = kill_grace_seconds
        self._executables = _Executables()

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
        script_path = None
        try:
            refused = check_private_directory(script_dir)
            if refused is not None:
                return ProcessResult.failure(ProcessOutcome.ERROR, refused, started_at=started_at)
            if request.script is not None:
                script_path = os.path.join(script_dir, request.script_filename)
                _write_new_file(script_path, request.script.encode("utf-8"),
                                0o700 if request.executable else 0o666)
                argv = (_agent_launch(request, script_path, self._noexec) if request.executable
                        else [*request.interpreter, script_path])
            else:
                assert request.argv is not None
                argv = list(request.argv)
            env = self._environment
            if request.environment:
                env = {**env, **{os.fsencode(k): os.fsencode(v)
                                 for k, v in request.environment.items()}}
            try:
                proc = await _spawn(self._start, argv, env, script_dir if cwd is None else cwd)
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
            _remove_directory(script_dir, script_path)

    def _start(self, argv: list[str], env: Mapping[bytes, bytes], cwd: str) -> subprocess.Popen[bytes]:
        executable = self._executables.find(argv[0], env)
        try:
            return _popen(argv, executable, env, cwd)
        except OSError:
            if executable is None:
                raise
        # Moved or removed since it was found: search the PATH as if it never had been.
        self._executables.forget(argv[0], env)
        return _popen(argv, None, env, cwd)

    async def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        request: InvocationRequest,
        on_output: OutputCallback | None,
        cancel: asyncio.Event | None,
        started_at: datetime,
    ) -> ProcessResult:
        watch = _Watch(asyncio.get_running_loop(), proc, on_output, request.capture_bytes)
        ended: ProcessOutcome | None = None
        try:
            ended = await wait_for_end(watch.settled, request.timeout_seconds, cancel)
        finally:
            try:
                if not watch.finished:
                    # A timeout, a cancellation, a failing callback or a cancelled task: kill
                    # the group and give it a moment to close its pipes, then stop waiting: a
                    # process that left the group (setsid) may hold them open for ever.
                    watch.kill()
                    await asyncio.wait({watch.ended}, timeout=self._kill_grace_seconds)
            finally:
                if not watch.finished:
                    watch.close()
                code = watch.reap()
        if watch.callback_error is not None:
            raise watch.callback_error
        exit_code = exit_code_from_returncode(code)
        return ProcessResult(
            outcome=ended or ProcessOutcome.EXITED,
            exit_code=exit_code,
            stdout=bytes(watch.stdout),
            stderr=bytes(watch.stderr),
            started_at=started_at,
            finished_at=utc_now(),
            stdout_size=watch.stdout.size,
            stderr_size=watch.stderr.size,
        )


_SPAWN_THREADS = 8
"""Threads that start processes: ``fork_exec`` releases the GIL, so a wave of invocations starts
in parallel, off the event loop, as a thread-pool floor does (a serial start on the loop made
each wave of MaxConcurrency invocations wait for the last one's start)."""
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


async def _spawn(start: Callable[[list[str], Mapping[bytes, bytes], str], subprocess.Popen[bytes]],
                 argv: list[str], env: Mapping[bytes, bytes], cwd: str) -> subprocess.Popen[bytes]:
    """``start(argv, env, cwd)`` in a spawning thread. A caller cancelled while the process starts
    does not leave it behind: its group is killed and it is reaped once started."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(_SPAWN_THREADS, thread_name_prefix="ssm-local-spawn")
    started = asyncio.get_running_loop().run_in_executor(_spawner, start, argv, env, cwd)
    try:
        return await asyncio.shield(started)
    except asyncio.CancelledError:
        started.add_done_callback(_kill_unsupervised)
        raise


def _kill_unsupervised(started: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    if started.cancelled() or started.exception() is not None:
        return
    proc = started.result()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    threading.Thread(target=proc.wait, name="ssm-local-reap", daemon=True).start()


def _popen(
    argv: list[str], executable: str | None, env: Mapping[bytes, bytes], cwd: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        bufsize=0,
        executable=executable,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )


class _Watch:
    """One running process as the event loop sees it: two pipes to drain and an exit to notice.

    ``ended`` completes when the process has exited and both pipes are closed; ``settled`` also
    completes when ``on_output`` raises. The process is not reaped before ``reap``, so its
    process id, and the group it leads, cannot be reused while ``kill`` may still aim at them.
    Each pipe is read in chunks of at most 64 KiB; only the first ``capture_bytes`` of each
    stream are kept (``HeadBuffer``), so memory stays flat whatever the process prints.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        proc: subprocess.Popen[bytes],
        on_output: OutputCallback | None,
        capture_bytes: int | None,
    ) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.loop = loop
        self.proc = proc
        self.on_output = on_output
        self.ended: asyncio.Future[None] = loop.create_future()
        self.settled: asyncio.Future[None] = loop.create_future()
        self.stdout, self.stderr = HeadBuffer(capture_bytes), HeadBuffer(capture_bytes)
        self.callback_error: BaseException | None = None
        self.exited = False
        self._open: dict[int, tuple[str, HeadBuffer]] = {
            proc.stdout.fileno(): ("stdout", self.stdout),
            proc.stderr.fileno(): ("stderr", self.stderr),
        }
        for fd in self._open:
            with contextlib.suppress(AttributeError, OSError):  # not Linux, or over the maximum
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            loop.add_reader(fd, self._readable, fd)
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # not Linux 5.3+: a thread waits for the exit instead
            threading.Thread(target=self._wait_in_thread, name="ssm-local-wait", daemon=True).start()
        else:
            loop.add_reader(self._pidfd, self._exit)

    @property
    def finished(self) -> bool:
        return self.ended.done()

    def _readable(self, fd: int) -> None:
        name, sink = self._open[fd]
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            self.loop.remove_reader(fd)
            del self._open[fd]
            self._check()
            return
        sink.append(chunk)
        if self.on_output is not None and self.callback_error is None:
            try:
                self.on_output(name, chunk)
            except BaseException as exc:  # stop the run; it is re-raised after the cleanup
                self.callback_error = exc
                self._settle()

    def _exit(self) -> None:
        if self._pidfd is not None:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self.exited = True
        self._check()

    def _wait_in_thread(self) -> None:
        if hasattr(os, "waitid"):  # exited, not reaped: the group stays reserved for kill()
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
        else:
            self.proc.wait()
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self.loop.call_soon_threadsafe(self._exit)

    def _check(self) -> None:
        if self.exited and not self._open and not self.ended.done():
            self.ended.set_result(None)
            self._settle()

    def _settle(self) -> None:
        if not self.settled.done():
            self.settled.set_result(None)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop reading: something outside the group may hold the pipes open."""
        for fd in list(self._open):
            self.loop.remove_reader(fd)
        self._open.clear()
        if not self.exited:
            # Killed, yet not gone (an uninterruptible sleep): reap it whenever it ends.
            if self._pidfd is not None:
                self.loop.remove_reader(self._pidfd)
                os.close(self._pidfd)
                self._pidfd = None
            threading.Thread(target=self.proc.wait, name="ssm-local-reap", daemon=True).start()

    def reap(self) -> int | None:
        """Close the pipes and collect the exit status (None if the process has not ended)."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.exited:
            return self.proc.wait()
        return self.proc.returncode


class _Executables:
    """Where the interpreters are: looked up on the PATH once per executor, not in every child.

    Given a bare name, ``subprocess`` searches the PATH in the new process, one ``execve`` per
    directory until one works; with a long PATH (pyenv, cargo...) that search is a good part of
    what starting ``sh`` costs. Here the name is looked up in the same order (the first
    executable regular file), per PATH value, and the process is started with that path; argv is
    unchanged. A PATH with a relative directory is left to the child's own search, since that
    depends on the working directory. A path that fails to start is forgotten and the start
    retried with the plain search, so a moved interpreter is found again; a new one placed
    earlier on the PATH is noticed by the next executor (the service makes one per command).
    """

    def __init__(self) -> None:
        self._found: dict[tuple[str, bytes | None], str] = {}

    def find(self, name: str, env: Mapping[bytes, bytes]) -> str | None:
        if "/" in name:
            return None
        key = (name, env.get(b"PATH"))
        found = self._found.get(key)
        if found is None:
            path = os.defpath if key[1] is None else os.fsdecode(key[1])
            found = _search_path(name, path)
            if found is not None:
                self._found[key] = found
        return found

    def forget(self, name: str, env: Mapping[bytes, bytes]) -> None:
        self._found.pop((name, env.get(b"PATH")), None)


def _search_path(name: str, path: str) -> str | None:
    for directory in path.split(os.pathsep):
        if not os.path.isabs(directory):
            return None
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _agent_launch(request: InvocationRequest, path: str, noexec: bool) -> list[str]:
    """The argv that starts an ``executable`` request's script file the SSM Agent's way.

    ``sh -c <file> ''`` as the agent runs it (the empty ``$0`` is the agent's, and prefixes the
    shell's own messages); a script without ``#!`` is started as ``sh <file>`` directly, the
    same run with one ``exec`` fewer. In a ``noexec`` directory the ``#!`` interpreter is
    started by ``sh`` with the file as its last argument, as the kernel would start it.
    """
    assert request.script is not None
    command = shebang_command(request.script)
    if command is None:
        return [*request.interpreter, path]
    if noexec:
        return [*request.interpreter, "-c", '"$@"', "", *command, path]
    return [*request.interpreter, "-c", shlex.quote(path), ""]


def _is_noexec(directory: str) -> bool:
    """True when ``directory`` is on a file system mounted ``noexec`` (false when unknown)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_NOEXEC)
    except (OSError, AttributeError):
        return False


def _write_new_file(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _remove_directory(directory: str, script: str | None) -> None:
    """Remove the private directory: two calls when it holds only the script, else rmtree."""
    try:
        if script is not None:
            os.unlink(script)
        os.rmdir(directory)
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)


def _default_temp_dir() -> str | None:
    """``/dev/shm`` where it is usable (no disk I/O per invocation), else the system default.

    Usable means writable and not mounted ``noexec`` (as it is in many containers), since
    scripts with a ``#!`` line are executed from there.
    """
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) and not _is_noexec(shm):
        return shm
    return None

"""The ``ssh`` executor: runs an invocation on a remote node over SSH with asyncssh.

One connection per node is opened on first use and reused for later invocations (a
:class:`SshConnectionPool` can be shared between executors). Host keys are checked against a
known_hosts file (``~/.ssh/known_hosts`` unless another is given); ``accept_new_host_keys``
trusts and records the key of a host that has no entry yet, like OpenSSH's
``StrictHostKeyChecking=accept-new``, and still refuses a changed key.

Each invocation opens one session channel running a small POSIX ``sh`` wrapper. The wrapper
reads a setup snippet (working directory, environment, interpreter) and the script from the
channel's stdin into a private directory, runs the script as ``sh <file>`` (an ``executable``
request with a ``#!`` line as the agent does, ``sh -c <file>`` on a 0700 file, see
:class:`~.base.InvocationRequest`) and waits for it.
Meanwhile a watcher in the wrapper keeps reading stdin: when the client sends EOF or the
channel goes away (timeout, cancel, lost connection), the watcher kills the whole remote process
group (``kill -KILL 0``; sshd makes every session its own group), grandchildren included. If the
group is still alive after a grace period, a second channel kills it by the process group id the
wrapper recorded, and the channel is closed. Connection and protocol failures are turned into
``UNREACHABLE``/``ERROR`` results here; no asyncssh exception leaves this module from ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import asyncssh

from ssm_local.grammar.errors import ExecutorError

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

__all__ = ["SshConnectionPool", "SshExecutor", "SshTarget"]

_SETUP_FAILED_STATUS = 255


@dataclass(frozen=True)
class SshTarget:
    """Where and how to connect: one node.

    ``client_keys`` are private key files; when empty, asyncssh's defaults apply (the SSH agent
    and ``~/.ssh/id_*``). ``known_hosts`` is the known_hosts file (default
    ``~/.ssh/known_hosts``). ``max_sessions`` caps concurrent invocations on the connection
    (OpenSSH's ``MaxSessions`` defaults to 10; one is kept free for the kill channel).
    """

    host: str
    port: int = 22
    username: str | None = None
    client_keys: tuple[str, ...] = ()
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    connect_timeout_seconds: float = 10.0
    max_sessions: int = 8

    def __post_init__(self) -> None:
        if not self.host:
            raise ExecutorError("an SSH target needs a host")
        if not 0 < int(self.port) < 65536:
            raise ExecutorError(f"SSH port must be between 1 and 65535, got {self.port!r}")
        object.__setattr__(self, "port", int(self.port))
        if isinstance(self.client_keys, str):
            object.__setattr__(self, "client_keys", (self.client_keys,))
        object.__setattr__(self, "client_keys", tuple(str(k) for k in self.client_keys))
        if self.known_hosts is not None:
            object.__setattr__(self, "known_hosts", str(self.known_hosts))
        if self.max_sessions < 1:
            raise ExecutorError(f"max_sessions must be at least 1, got {self.max_sessions!r}")

    @property
    def known_hosts_path(self) -> Path:
        if self.known_hosts is not None:
            return Path(self.known_hosts).expanduser()
        return Path("~", ".ssh", "known_hosts").expanduser()

    @property
    def display(self) -> str:
        """``user@host:port`` for messages."""
        user = f"{self.username}@" if self.username else ""
        return f"{user}{self.host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The host as known_hosts writes it: ``host`` on port 22, ``[host]:port`` otherwise."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


class _HostKeyPolicy(asyncssh.SSHClient):
    """Decides on host keys that are not already trusted by the known_hosts file."""

    def __init__(self, target: SshTarget, known_hosts: asyncssh.SSHKnownHosts) -> None:
        self._target = target
        self._known_hosts = known_hosts
        self.changed_key = False
        self.new_key: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        matched = asyncssh.match_known_hosts(self._known_hosts, host, addr, port if port != 22 else None)
        trusted_keys, trusted_ca_keys = matched[0], matched[1]
        if trusted_keys or trusted_ca_keys:
            self.changed_key = True
            return False
        if self._target.accept_new_host_keys:
            self.new_key = key
            return True
        return False


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    connection: asyncssh.SSHClientConnection | None = None
    sessions: asyncio.Semaphore | None = None


class SshConnectionPool:
    """One reusable SSH connection per :class:`SshTarget`, opened on first use.

    ``opened`` counts the connections opened so far (reuse keeps it at one per node).
    """

    def __init__(self) -> None:
        self._entries: dict[SshTarget, _Entry] = {}
        self.opened = 0

    async def acquire(self, target: SshTarget) -> tuple[asyncssh.SSHClientConnection, asyncio.Semaphore]:
        """The open connection to ``target`` (connecting if needed) and its session limit.

        Raises :class:`ExecutorError` when the node cannot be reached.
        """
        entry = self._entries.setdefault(target, _Entry())
        async with entry.lock:
            if entry.connection is None or entry.connection.is_closed():
                entry.connection = await _connect(target)
                self.opened += 1
            if entry.sessions is None:
                entry.sessions = asyncio.Semaphore(target.max_sessions)
            return entry.connection, entry.sessions

    async def discard(self, target: SshTarget, connection: asyncssh.SSHClientConnection) -> None:
        """Forget a connection that failed, so that the next ``acquire`` reconnects."""
        entry = self._entries.get(target)
        if entry is not None and entry.connection is connection:
            entry.connection = None
        connection.close()
        await _quietly(connection.wait_closed())

    async def aclose(self) -> None:
        """Close every connection."""
        for entry in self._entries.values():
            if entry.connection is not None:
                entry.connection.close()
                await _quietly(entry.connection.wait_closed())
                entry.connection = None
        self._entries.clear()


async def _connect(target: SshTarget) -> asyncssh.SSHClientConnection:
    path = target.known_hosts_path
    try:
        known_hosts = (
            asyncssh.read_known_hosts(str(path)) if path.is_file() else asyncssh.import_known_hosts("")
        )
    except (OSError, ValueError) as exc:
        raise ExecutorError(f"could not read known_hosts file {path}: {exc}") from exc
    policy = _HostKeyPolicy(target, known_hosts)
    options: dict[str, Any] = {}
    if target.username is not None:
        options["username"] = target.username
    if target.client_keys:
        options["client_keys"] = list(target.client_keys)
        options["agent_path"] = None
    try:
        connection = await asyncssh.connect(
            target.host,
            port=target.port,
            known_hosts=known_hosts,
            client_factory=lambda: policy,
            connect_timeout=target.connect_timeout_seconds,
            **options,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        if policy.changed_key:
            raise ExecutorError(
                f"the host key of {target.display} does not match the one in known_hosts file "
                f"{path}; if the host was legitimately re-keyed, remove its old entry "
                f"(ssh-keygen -R '{target.known_hosts_name}' -f {path})"
            ) from exc
        raise ExecutorError(
            f"the host key of {target.display} is not in known_hosts file {path}; add it "
            f"(ssh-keyscan -p {target.port} {target.host} >> {path}) or accept new host keys "
            "explicitly"
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise ExecutorError(f"could not log in to {target.display}: permission denied (public key)") from exc
    except asyncssh.DisconnectError as exc:
        raise ExecutorError(f"could not connect to {target.display}: {exc.reason}") from exc
    except asyncssh.KeyImportError as exc:
        raise ExecutorError(f"could not load the SSH key for {target.display}: {exc}") from exc
    except TimeoutError as exc:
        raise ExecutorError(
            f"could not connect to {target.display}: timed out after {target.connect_timeout_seconds:g} s"
        ) from exc
    except socket.gaierror as exc:
        raise ExecutorError(
            f"could not connect to {target.display}: could not resolve {target.host!r} "
            f"({exc.strerror or exc})"
        ) from exc
    except OSError as exc:
        if exc.filename:
            raise ExecutorError(
                f"could not connect to {target.display}: could not read {exc.filename}: {_reason(exc)}"
            ) from exc
        raise ExecutorError(f"could not connect to {target.display}: {_reason(exc)}") from exc
    except asyncssh.Error as exc:
        raise ExecutorError(f"could not connect to {target.display}: {exc}") from exc
    if policy.new_key is not None:
        _remember_host_key(path, target, policy.new_key)
    return connection


def _remember_host_key(path: Path, target: SshTarget, key: asyncssh.SSHKey) -> None:
    line = f"{target.known_hosts_name} {key.export_public_key().decode('ascii').strip()}\n"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(path, "a", encoding="ascii") as handle:
            handle.write(line)
    except OSError as exc:
        raise ExecutorError(f"could not record the host key of {target.display} in {path}: {exc}") from exc


class _Session(asyncssh.SSHClientSession[bytes]):
    """Collects one channel's output (the first ``capture_bytes`` of each stream, and how many
    bytes came) and tells when it closed.

    An exception from ``on_output`` is kept in ``callback_error`` and closes the channel (which
    kills the remote group); ``run`` re-raises it, as the local executor does.
    """

    def __init__(self, on_output: OutputCallback | None, setup_prefix: bytes,
                 capture_bytes: int | None) -> None:
        self.stdout = HeadBuffer(capture_bytes)
        self.stderr = HeadBuffer(capture_bytes)
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.callback_error: Exception | None = None
        self._on_output = on_output
        self._setup_prefix = setup_prefix
        self._channel: asyncssh.SSHClientChannel[bytes] | None = None

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self._channel = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            first = not self.stderr.size
            self.stderr.append(data)
            if not (first and data.startswith(self._setup_prefix)):
                self._emit("stderr", data)
        else:
            self.stdout.append(data)
            self._emit("stdout", data)

    def _emit(self, stream: str, data: bytes) -> None:
        if self._on_output is None:
            return
        try:
            self._on_output(stream, data)
        except Exception as exc:
            self.callback_error = exc
            self._on_output = None
            if self._channel is not None:
                self._channel.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


class SshExecutor:
    """Run invocations on one node over SSH.

    Pass an :class:`SshTarget`, or its fields as keywords (``SshExecutor(host="10.0.0.5",
    username="ec2-user", client_keys=["~/.ssh/id_ed25519"])``). ``pool`` shares connections
    between executors; by default the executor has its own. ``kill_grace_seconds`` is how long
    to wait for the remote group to die before the fallback kill channel and closing.
    ``temp_dir`` is the remote directory for script files (default ``$TMPDIR`` or ``/tmp``);
    each invocation's private directory there is also its working directory when the request
    names none, and is removed afterwards.
    """

    name = "ssh"

    def __init__(
        self,
        target: SshTarget | None = None,
        *,
        pool: SshConnectionPool | None = None,
        kill_grace_seconds: float = 2.0,
        temp_dir: str | None = None,
        **target_options: Any,
    ) -> None:
        if target is None:
            try:
                target = SshTarget(**target_options)
            except TypeError as exc:
                raise ExecutorError(f"invalid SSH executor options: {exc}") from exc
        elif target_options:
            raise ExecutorError("pass either an SshTarget or its fields, not both")
        self.target = target
        self.pool = pool if pool is not None else SshConnectionPool()
        self._owns_pool = pool is None
        self._kill_grace_seconds = kill_grace_seconds
        self._temp_dir = temp_dir

    async def __aenter__(self) -> SshExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (only when the executor owns its pool)."""
        if self._owns_pool:
            await self.pool.aclose()

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
        for attempt in (1, 2):
            try:
                connection, sessions = await self.pool.acquire(self.target)
            except ExecutorError as exc:
                return ProcessResult.failure(ProcessOutcome.UNREACHABLE, exc.message, started_at=started_at)
            async with sessions:
                token = secrets.token_hex(12)
                prefix = f"ssm-local-{token}: ".encode()
                try:
                    channel, session = await connection.create_session(
                        _session_factory(on_output, prefix, request.capture_bytes),
                        _remote_command(token, request, self._temp_dir),
                        encoding=None,
                    )
                except asyncssh.ChannelOpenError as exc:
                    return ProcessResult.failure(
                        ProcessOutcome.ERROR,
                        f"{self.target.display} refused a session: {_reason(exc)}",
                        started_at=started_at,
                    )
                except (asyncssh.Error, OSError) as exc:
                    await self.pool.discard(self.target, connection)
                    if attempt == 1:
                        continue  # a connection that died while idle: reconnect once
                    return ProcessResult.failure(
                        ProcessOutcome.UNREACHABLE,
                        f"could not start a session on {self.target.display}: {_reason(exc)}",
                        started_at=started_at,
                    )
                return await self._supervise(
                    connection, channel, cast(_Session, session), token, request, cancel, started_at
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _supervise(
        self,
        connection: asyncssh.SSHClientConnection,
        channel: asyncssh.SSHClientChannel[bytes],
        session: _Session,
        token: str,
        request: InvocationRequest,
        cancel: asyncio.Event | None,
        started_at: datetime,
    ) -> ProcessResult:
        ended: ProcessOutcome | None = None
        try:
            channel.write(_payload(request))
            ended = await wait_for_end(session.closed, request.timeout_seconds, cancel)
            if ended is not None:
                await self._stop(connection, channel, session, token)
        finally:
            if not session.closed.done():
                # The task was cancelled (or failed): closing the channel closes the remote
                # stdin, and the wrapper's watcher kills the process group.
                channel.close()
        if session.callback_error is not None:
            raise session.callback_error
        lost = session.closed.result() if session.closed.done() else None
        returncode = channel.get_returncode()
        prefix = f"ssm-local-{token}: ".encode()
        if ended is None and returncode == _SETUP_FAILED_STATUS and session.stderr.data.startswith(prefix):
            message = bytes(session.stderr.data[len(prefix) :]).decode("utf-8", "replace").strip()
            return ProcessResult.failure(ProcessOutcome.ERROR, message, started_at=started_at)
        if ended is None and returncode is None:
            await self.pool.discard(self.target, connection)
            reason = f": {_reason(lost)}" if lost is not None else ""
            return ProcessResult.failure(
                ProcessOutcome.ERROR,
                f"the connection to {self.target.display} was lost before the command finished{reason}",
                started_at=started_at,
                stdout=bytes(session.stdout),
                stderr=bytes(session.stderr),
            )
        exit_code = exit_code_from_returncode(returncode)
        return ProcessResult(
            outcome=ended or ProcessOutcome.EXITED,
            exit_code=exit_code,
            stdout=bytes(session.stdout),
            stderr=bytes(session.stderr),
            started_at=started_at,
            finished_at=utc_now(),
            stdout_size=session.stdout.size,
            stderr_size=session.stderr.size,
        )

    async def _stop(
        self,
        connection: asyncssh.SSHClientConnection,
        channel: asyncssh.SSHClientChannel[bytes],
        session: _Session,
        token: str,
    ) -> None:
        """Kill the remote process group: EOF to the watcher, then a kill channel, then close."""
        with contextlib.suppress(asyncssh.Error, OSError):
            channel.write_eof()
        await _wait_closed(session, self._kill_grace_seconds)
        if session.closed.done():
            return
        directory = _remote_directory(token, self._temp_dir)
        kill = (
            f'pg=$(cat "{directory}/pgid" 2>/dev/null) && [ -n "$pg" ] && '
            f'kill -KILL -- "-$pg"; rm -rf "{directory}"'
        )
        with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
            await asyncio.wait_for(
                connection.run(f"sh -c {shlex.quote(kill)}", check=False),
                self._kill_grace_seconds,
            )
        channel.close()
        await _wait_closed(session, self._kill_grace_seconds)


def _session_factory(on_output: OutputCallback | None, prefix: bytes,
                     capture_bytes: int | None) -> Any:
    return lambda: _Session(on_output, prefix, capture_bytes)


async def _wait_closed(session: _Session, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(session.closed), seconds)


async def _quietly(awaitable: Any) -> None:
    with contextlib.suppress(asyncssh.Error, OSError):
        await awaitable


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncssh.ChannelOpenError | asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError):
        if exc.errno:
            return os.strerror(exc.errno).lower()
        return str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


# --- the remote side -------------------------------------------------------------------------
#
# The command line carries only the wrapper below (no single quotes, one line, so that any login
# shell passes it to ``sh -c`` unchanged), a random token and two byte counts. Everything that
# comes from the request travels on stdin: first a setup snippet that the wrapper sources, then
# the script.

_WRAPPER = (
    'umask 077; d="{directory}"; '
    'g() {{ printf "ssm-local-{token}: %s\\n" "$1" >&2; exit {failed}; }}; f() {{ rm -rf "$d"; g "$1"; }}; '
    'mkdir -m 700 "$d" 2>/dev/null || g "could not create the script directory $d on the node"; '
    '[ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || g "refusing to use $d: not a directory of this user"; '
    'head -c {setup_size} > "$d/setup" || f "could not write the script to $d on the node"; '
    '. "$d/setup"; '
    'head -c {script_size} > "$d/{script_name}" || f "could not write the script to $d"; '
    "exec 3<&0; "
    '( cat <&3 >/dev/null 2>&1; rm -rf "$d"; kill -KILL 0 ) </dev/null >/dev/null 2>&1 & w=$!; '
    '"$@" </dev/null 3<&- & p=$!; '
    'wait $p; rc=$?; kill $w 2>/dev/null; rm -rf "$d"; exit $rc'
)


def _remote_directory(token: str, temp_dir: str | None) -> str:
    base = temp_dir if temp_dir is not None else "${TMPDIR:-/tmp}"
    return f"{base}/ssm-local-{token}"


def _remote_command(token: str, request: InvocationRequest, temp_dir: str | None) -> str:
    if temp_dir is not None and any(c in temp_dir for c in "'\"\\`$\n"):
        raise ExecutorError(f"the remote temp_dir {temp_dir!r} contains shell metacharacters")
    setup, script = _setup_and_script(request)
    script_name = request.script_filename if request.script is not None else "_unused"
    if any(c in script_name for c in "'\"\\`$ \n"):
        raise ExecutorError(f"script_filename {script_name!r} contains shell metacharacters")
    wrapper = _WRAPPER.format(
        directory=_remote_directory(token, temp_dir),
        token=token,
        failed=_SETUP_FAILED_STATUS,
        setup_size=len(setup),
        script_size=len(script),
        script_name=script_name,
    )
    return f"sh -c '{wrapper}'"


def _agent_launch(shell: list[str], command: tuple[str, ...], script_name: str) -> list[str]:
    """Setup lines that start a script with a ``#!`` line the SSM Agent's way, ``sh -c <file> ''``.

    The file is created empty with mode 0700 before the wrapper writes the script into it. When
    the directory's mount refuses to execute it (``noexec``: ``test -x`` fails), the ``#!``
    interpreter is started by ``sh`` with the file as its last argument, as the kernel would.
    A directory name the inner shell would split is passed as ``$0`` instead of as the text.
    """
    shell_words = " ".join(shlex.quote(arg) for arg in shell)
    file = '"$d/' + script_name + '"'
    fallback = " ".join(shlex.quote(arg) for arg in command)
    return [
        f': > {file} && chmod 700 {file} || f "could not write the script to $d on the node"',
        f"if [ -x {file} ]; then case $d in "
        f"*[!A-Za-z0-9_./-]*) set -- {shell_words} -c '\"$0\"' {file};; "
        f"*) set -- {shell_words} -c {file} '';; esac; "
        f"else set -- {shell_words} -c '\"$@\"' '' {fallback} {file}; fi",
    ]


def _payload(request: InvocationRequest) -> bytes:
    setup, script = _setup_and_script(request)
    return setup + script


def _setup_and_script(request: InvocationRequest) -> tuple[bytes, bytes]:
    lines: list[str] = []
    wd = request.working_directory
    if wd is not None:
        quoted = shlex.quote(wd)
        message = shlex.quote(f"working directory {wd!r} does not exist on the node")
        lines.append(f"cd -- {quoted} 2>/dev/null || f {message}")
    else:
        lines.append('cd "$d"')
    for name, value in request.environment.items():
        lines.append(f"export {name}={shlex.quote(value)}")
    if request.script is not None:
        program = request.interpreter[0]
        argv = [*request.interpreter]
        tail = ' "$d/' + request.script_filename + '"'
        command = shebang_command(request.script) if request.executable else None
    else:
        assert request.argv is not None
        program = request.argv[0]
        argv = [*request.argv]
        tail = ""
        command = None
    missing = shlex.quote(f"{program!r} was not found on the node")
    lines.append(f"command -v {shlex.quote(program)} >/dev/null 2>&1 || f {missing}")
    if command is None:
        lines.append("set -- " + " ".join(shlex.quote(arg) for arg in argv) + tail)
    else:
        lines.extend(_agent_launch(argv, command, request.script_filename))
    # The process group id, for the fallback kill channel.
    lines.append(
        "pg=; if [ -r /proc/$$/stat ]; then read -r _ _ _ _ pg _ < /proc/$$/stat; fi; "
        '[ -n "$pg" ] || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d " "); '
        'echo "$pg" > "$d/pgid"'
    )
    setup = ("\n".join(lines) + "\n").encode("utf-8")
    script = request.script.encode("utf-8") if request.script is not None else b""
    return setup, script

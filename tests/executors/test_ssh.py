"""SSH-specific behaviour against real sshd servers: host keys, logins, connection reuse, nodes.

The executor contract itself is in ``test_contract.py``; this file covers what only the ``ssh``
executor has: known_hosts checking and ``accept_new_host_keys``, connection reuse and sharing,
reconnecting, several nodes, the fallback kill channel and a connection lost mid-run.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ssm_local.engine.executors import (
    InvocationRequest,
    ProcessOutcome,
    ProcessResult,
    SshConnectionPool,
    SshExecutor,
    SshTarget,
)
from ssm_local.grammar.errors import ExecutorError

from .conftest import SshdInfo
from .test_contract import left_behind, sleeper_script, unique_marker


def run(executor: SshExecutor, request: InvocationRequest, **kwargs: Any) -> ProcessResult:
    async def main() -> ProcessResult:
        try:
            return await executor.run(request, **kwargs)
        finally:
            await executor.aclose()

    return asyncio.run(main())


def options(info: SshdInfo, **changes: Any) -> dict[str, Any]:
    return {**info.executor_options(), **changes}


def test_an_unknown_host_key_is_refused_by_default(sshd: SshdInfo, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    result = run(SshExecutor(**options(sshd, known_hosts=str(known_hosts))), InvocationRequest(script="true"))
    assert result.outcome is ProcessOutcome.UNREACHABLE
    assert result.error == (
        f"the host key of root@127.0.0.1:{sshd.port} is not in known_hosts file {known_hosts}; "
        f"add it (ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known_hosts}) or accept new host "
        "keys explicitly"
    ).replace("root@", f"{sshd.user}@")
    assert not known_hosts.exists()


def test_accept_new_host_keys_records_the_key(sshd: SshdInfo, tmp_path: Path) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    accepting = SshExecutor(**options(sshd, known_hosts=str(known_hosts), accept_new_host_keys=True))
    assert run(accepting, InvocationRequest(script="true")).ok
    assert known_hosts.read_text().split()[:3] == [
        f"[127.0.0.1]:{sshd.port}",
        *sshd.host_public_key.split()[:2],
    ]
    # Recorded once; a strict executor now trusts it.
    strict = SshExecutor(**options(sshd, known_hosts=str(known_hosts)))
    assert run(strict, InvocationRequest(script="true")).ok
    assert len(known_hosts.read_text().splitlines()) == 1


@pytest.mark.parametrize("accept_new", [False, True])
def test_a_changed_host_key_is_refused_even_when_accepting_new_keys(
    sshd: SshdInfo, tmp_path: Path, accept_new: bool
) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {other.with_suffix('.pub').read_text()}")
    before = known_hosts.read_text()
    executor = SshExecutor(**options(sshd, known_hosts=str(known_hosts), accept_new_host_keys=accept_new))
    result = run(executor, InvocationRequest(script="true"))
    assert result.outcome is ProcessOutcome.UNREACHABLE
    assert result.error is not None
    assert "does not match the one in known_hosts file" in result.error
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in result.error
    assert known_hosts.read_text() == before


def test_a_key_the_server_does_not_authorise_is_permission_denied(sshd: SshdInfo, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    result = run(SshExecutor(**options(sshd, client_keys=(str(stranger),))), InvocationRequest(script="true"))
    assert result.outcome is ProcessOutcome.UNREACHABLE
    assert (
        result.error
        == f"could not log in to {sshd.user}@127.0.0.1:{sshd.port}: permission denied (public key)"
    )


def test_a_missing_key_file_is_unreachable_with_the_reason(sshd: SshdInfo, tmp_path: Path) -> None:
    result = run(
        SshExecutor(**options(sshd, client_keys=(str(tmp_path / "nope"),))), InvocationRequest(script="true")
    )
    assert result.outcome is ProcessOutcome.UNREACHABLE
    assert result.error is not None and "no such file or directory" in result.error


def test_one_connection_is_reused_and_can_be_shared(sshd: SshdInfo) -> None:
    async def main() -> tuple[int, int]:
        own = SshExecutor(**options(sshd))
        try:
            for _ in range(3):
                assert (await own.run(InvocationRequest(script="true"))).ok
        finally:
            await own.aclose()
        pool = SshConnectionPool()
        target = SshTarget(**options(sshd))
        first, second = SshExecutor(target, pool=pool), SshExecutor(target, pool=pool)
        results = await asyncio.gather(
            first.run(InvocationRequest(script="true")), second.run(InvocationRequest(script="true"))
        )
        assert all(r.ok for r in results)
        await first.aclose()  # does not own the pool: the connection stays open
        assert (await second.run(InvocationRequest(script="true"))).ok
        await pool.aclose()
        return own.pool.opened, pool.opened

    assert asyncio.run(main()) == (1, 1)


def test_a_dead_connection_is_replaced(sshd: SshdInfo) -> None:
    async def main() -> int:
        executor = SshExecutor(**options(sshd))
        try:
            assert (await executor.run(InvocationRequest(script="true"))).ok
            connection, _ = await executor.pool.acquire(executor.target)
            connection.close()
            await connection.wait_closed()
            assert (await executor.run(InvocationRequest(script="echo again"))).stdout == b"again\n"
            return executor.pool.opened
        finally:
            await executor.aclose()

    assert asyncio.run(main()) == 2


def test_several_nodes(sshd_factory: Callable[[], SshdInfo]) -> None:
    nodes = [sshd_factory(), sshd_factory()]
    assert nodes[0].port != nodes[1].port

    async def main() -> list[ProcessResult]:
        executors = [SshExecutor(**n.executor_options()) for n in nodes]
        try:
            return list(
                await asyncio.gather(
                    *(e.run(InvocationRequest(script=f"echo node{i}")) for i, e in enumerate(executors))
                )
            )
        finally:
            for e in executors:
                await e.aclose()

    assert [r.stdout for r in asyncio.run(main())] == [b"node0\n", b"node1\n"]


def test_the_fallback_kill_channel_kills_the_group(sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the EOF the watcher never fires; the second channel must kill by process group.
    monkeypatch.setattr(asyncssh.SSHClientChannel, "write_eof", lambda self: None)
    marker = unique_marker()
    started = time.monotonic()
    result = run(
        SshExecutor(**options(sshd), kill_grace_seconds=0.3),
        InvocationRequest(script=sleeper_script(marker), timeout_seconds=0.5),
    )
    assert result.outcome is ProcessOutcome.TIMED_OUT
    assert time.monotonic() - started < 5
    assert left_behind(marker) == []


def test_a_connection_lost_mid_run_is_an_error_result(sshd: SshdInfo) -> None:
    marker = unique_marker()
    # The script kills the sshd process serving its session, which drops the connection.
    script = f"sleep {marker} & kill -KILL $(ps -o ppid= -p $PPID); sleep {marker}"
    result = run(SshExecutor(**options(sshd)), InvocationRequest(script=script, timeout_seconds=20))
    assert result.outcome is ProcessOutcome.ERROR
    assert result.error is not None and "was lost before the command finished" in result.error
    assert left_behind(marker) == []


def test_an_unusable_remote_temp_dir_is_an_error_result(sshd: SshdInfo) -> None:
    result = run(SshExecutor(**options(sshd), temp_dir="/nonexistent/dir"), InvocationRequest(script="true"))
    assert result.outcome is ProcessOutcome.ERROR
    assert re.fullmatch(
        r"could not create the script directory /nonexistent/dir/ssm-local-[0-9a-f]{24} on the node",
        result.error or "",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": ""}, "an SSH target needs a host"),
        ({"port": 0}, "SSH port must be between 1 and 65535, got 0"),
        ({"max_sessions": 0}, "max_sessions must be at least 1, got 0"),
        (
            {"colour": "blue"},
            "invalid SSH executor options: SshTarget.__init__() got an unexpected keyword argument 'colour'",
        ),
    ],
)
def test_bad_options_raise_executor_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ExecutorError) as caught:
        SshExecutor(**{"host": "127.0.0.1", **changes})
    assert caught.value.message == message

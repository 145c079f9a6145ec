"""A real OpenSSH ``sshd`` for the executor tests: one or several on 127.0.0.1, unprivileged.

``sshd_factory()`` starts an ``sshd`` on a free port with its own generated host key, a
generated user key authorised through its own ``AuthorizedKeysFile``, ``UsePAM no``,
``StrictModes no`` and the pid file in a temporary directory, running in the foreground
(``-D -e``). It waits until the server answers with its SSH banner and returns a
:class:`SshdInfo` (host, port, user, key path, known_hosts path). Servers live for the test
session; several calls give several nodes. The current user logs in, root included
(``PermitRootLogin prohibit-password``). Without ``sshd`` the SSH tests are skipped, except
under ``CI=true``, where they fail.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SshdInfo:
    """How to reach one running test sshd."""

    host: str
    port: int
    user: str
    key_path: Path
    known_hosts_path: Path
    host_public_key: str
    pid: int

    def executor_options(self) -> dict[str, object]:
        """Keyword options for ``SshExecutor`` / ``SshTarget``."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "client_keys": (str(self.key_path),),
            "known_hosts": str(self.known_hosts_path),
        }


def find_sshd() -> str | None:
    found = shutil.which("sshd")
    if found:
        return found
    return next((path for path in SSHD_CANDIDATES if os.access(path, os.X_OK)), None)


def require_sshd() -> str:
    sshd = find_sshd()
    if sshd is None:
        message = (
            "OpenSSH sshd is not installed (apt-get install openssh-server); "
            "the SSH executor tests need a real sshd"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sshd


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ssm-local-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text(encoding="ascii").strip()


def _banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


class SshdServers:
    """Starts test sshd instances and stops them all at the end."""

    def __init__(self, base: Path, sshd: str) -> None:
        self._base = base
        self._sshd = sshd
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> SshdInfo:
        if os.geteuid() == 0:
            # The privilege-separation directory sshd insists on when started by root.
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        for _ in range(3):  # a free port can be taken between probing and binding
            info = self._start_once()
            if info is not None:
                return info
        raise RuntimeError("could not start a test sshd after 3 attempts")

    def _start_once(self) -> SshdInfo | None:
        directory = self._base / f"sshd-{len(self._procs)}-{os.urandom(3).hex()}"
        directory.mkdir(mode=0o700)
        host_key = directory / "host_ed25519"
        user_key = directory / "user_ed25519"
        host_public = _keygen(host_key)
        user_public = _keygen(user_key)
        authorized = directory / "authorized_keys"
        authorized.write_text(user_public + "\n", encoding="ascii")
        port = _free_port()
        known_hosts = directory / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n", encoding="ascii")
        config = directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "UsePAM no",
                    "StrictModes no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "MaxSessions 32",
                    "MaxStartups 200",
                    "LogLevel ERROR",
                    "",
                ]
            ),
            encoding="ascii",
        )
        log = open(directory / "sshd.log", "wb")  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen(
            [self._sshd, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._procs.append(proc)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                output = (directory / "sshd.log").read_text(errors="replace")
                if "Address already in use" in output or "Bind to port" in output:
                    return None
                raise RuntimeError(f"sshd exited with {proc.returncode}: {output}")
            if _banner(port):
                return SshdInfo(
                    host="127.0.0.1",
                    port=port,
                    user=getpass.getuser(),
                    key_path=user_key,
                    known_hosts_path=known_hosts,
                    host_public_key=host_public,
                    pid=proc.pid,
                )
            time.sleep(0.02)
        proc.kill()
        raise RuntimeError(f"sshd did not accept connections on port {port} within 10 s")

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], SshdInfo]]:
    """Call it to start one more sshd (one more node)."""
    sshd = require_sshd()
    servers = SshdServers(tmp_path_factory.mktemp("sshd"), sshd)
    try:
        yield servers.start
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def sshd(sshd_factory: Callable[[], SshdInfo]) -> SshdInfo:
    """One sshd shared by the session's tests."""
    return sshd_factory()

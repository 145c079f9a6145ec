"""A sandbox node for running fault-injection documents from the corpus safely: a LocalExecutor
whose PATH holds only harmless real tools, stubs that log their arguments and exit 0 for the
tools that change a machine (package managers, iptables, tc, stress-ng, sleep...), and an ``sh``
that drops root to ``nobody`` and runs the script with bash in POSIX mode (Amazon Linux's
``sh``, the platform these documents are written for), so that nothing they do can reach the
machine running the tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ssm_local.engine.executors import LocalExecutor

REAL_TOOLS = (
    "awk", "basename", "cat", "cut", "date", "dirname", "echo", "env", "expr", "false", "grep",
    "head", "hostname", "id", "ls", "mkdir", "mktemp", "printf", "ps", "pwd", "sed", "seq",
    "sort", "tail", "tee", "test", "touch", "tr", "true", "uname", "uniq", "wc", "which",
    "whoami", "xargs", "bash", "rm", "chmod", "chown", "printenv",
)
STUBS = (
    "amazon-linux-extras", "apt", "apt-get", "at", "atd", "atq", "atrm", "curl", "dd", "dig",
    "dnf", "fallocate", "ip", "ip6tables", "iptables", "iptables-save", "kill", "killall",
    "nohup", "pkill", "python", "python3", "route", "service", "sleep", "stress-ng",
    "systemctl", "tc", "wget", "yum", "zypper",
)
SH_WRAPPER = """#!/bin/bash
# sh -c ...: the SSH executor's own wrapper, which runs as the login user; pass it through.
# sh -c <file> '': the agent's launch of a script with a #! line; it runs in the sandbox.
if [ "$1" = "-c" ] && [ ! -f "$2" ]; then exec /bin/sh "$@"; fi
if [ "$1" = "-c" ]; then shift; fi
# Copy the script where nobody can read it, then run it as nobody with bash in POSIX mode,
# with only the sandbox's tools on the PATH (a login shell may have put others in front).
export PATH=$(/usr/bin/dirname "$0")
d=$(/usr/bin/mktemp -d /tmp/ssm-local-sandbox-XXXXXX)
/usr/bin/cp "$1" "$d/_script.sh"
/usr/bin/chmod 755 "$d"
cd "$d" || exit 2
/usr/bin/chmod 755 "$d/_script.sh"
IFS= read -r first < "$d/_script.sh"
case $first in
  '#!'*) /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "$d/_script.sh" ;;
  *) /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/bash --posix "$d/_script.sh" ;;
esac
rc=$?
/usr/bin/rm -rf "$d"
exit $rc
"""
STUB = """#!/bin/sh
echo "[sandbox] $(basename "$0") $*" >&2
exit 0
"""
SUDO = """#!/bin/sh
echo "[sandbox] sudo $*" >&2
exec "$@"
"""
PGREP = """#!/bin/sh
echo "[sandbox] pgrep $*" >&2
exit 1
"""


def make_sandbox(directory: Path) -> LocalExecutor:
    """An executor whose scripts run in the sandbox described above; tools go in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for tool in REAL_TOOLS:
        found = shutil.which(tool)
        if found and not (directory / tool).exists():
            (directory / tool).symlink_to(found)
    for name, text in [("sh", SH_WRAPPER), ("sudo", SUDO), ("pgrep", PGREP),
                       *((stub, STUB) for stub in STUBS)]:
        path = directory / name
        path.write_text(text, encoding="ascii")
        path.chmod(0o755)
    environment = {"PATH": str(directory), "HOME": "/tmp", "LANG": "C.UTF-8"}
    return LocalExecutor(environment=environment)


def sandbox_available() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None and shutil.which("bash") is not None

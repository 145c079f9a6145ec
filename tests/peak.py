"""Peak memory of one ``ssm-local`` process, measured in a fresh child.

Linux carries a process's peak RSS across ``exec``, so a child started straight from a big
pytest process reports pytest's peak. ``run_measured`` starts a small wrapper that forks the CLI
(a fresh peak), waits for it with ``wait4`` and reports its ``ru_maxrss`` on its last stderr line.
"""

from __future__ import annotations

import subprocess
import sys

_MEASURED = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.executable, [sys.executable, '-m', 'ssm_local.engine.cli', *sys.argv[1:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "sys.stderr.write(f'\\nMAXRSS {usage.ru_maxrss}\\n')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(args: list[str], env: dict[str, str], *, timeout: float = 300
                 ) -> tuple[int, int, str]:
    """Run ``ssm-local ARGS``; returns (exit code, peak RSS in bytes, standard error)."""
    done = subprocess.run([sys.executable, "-c", _MEASURED, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, timeout=timeout)
    text, _, last = done.stderr.decode("utf-8", "replace").rstrip("\n").rpartition("\nMAXRSS ")
    return done.returncode, int(last) * 1024, text

"""Benchmark: a step printing 200 MB through ``ssm-local run`` against ``cat`` of the same bytes into a file.

Run ``python benchmarks/output.py``. Each round first runs the floor, ``cat`` of a 200 MB file
into another file, then ``ssm-local run AWS-RunShellScript`` with a step that prints the same
file (``cat FILE``), in a fresh SSM_LOCAL_HOME with ``SSM_LOCAL_OUTPUT_LIMIT`` at 256 MiB, so the
whole output goes through the executor's pipe, the spool file and the store's views; the CLI's
own live copy of the output goes to /dev/null. It prints the median wall times, the throughput
ratio (floor time / ssm-local time) and the peak RSS of each ssm-local run (``wait4``'s
``ru_maxrss``), next to that of a run printing one line. The same step also runs in a warm
``Engine`` in this process (``send_command`` + ``wait``: the executor's pipe, the spool file and
the store), which leaves out the CLI's start-up. Targets: throughput >= 50% of the
floor, peak memory flat (within 20 MB of the one-line run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} exited with {proc.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ssm-local-bench-output-"))
    try:
        source = work / "source"
        with open(source, "wb") as f:
            block = (b"0123456789abcdef" * 4095 + b"0123456789abcde\n")
            for _ in range(args.megabytes * MB // len(block)):
                f.write(block)
        size = source.stat().st_size
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SSM_LOCAL_OUTPUT_LIMIT": str(256 * MB)}
        env.pop("SSM_LOCAL_DB", None)
        cli = [sys.executable, "-m", "ssm_local.engine.cli", "run", "AWS-RunShellScript", "-p"]

        def ssm_local(command: str) -> tuple[float, int]:
            home = work / "home"
            shutil.rmtree(home, ignore_errors=True)
            return timed([*cli, f"commands={command}"], {**env, "SSM_LOCAL_HOME": str(home)})

        sys.path.insert(0, str(ROOT))
        from ssm_local.engine import Engine

        floors, runs, clis, peaks = [], [], [], []
        baseline_rss = ssm_local("echo one line")[1]
        with Engine(home=work / "engine", environ={"SSM_LOCAL_OUTPUT_LIMIT": str(256 * MB)}) as engine:
            engine.send_command("AWS-RunShellScript", parameters={"commands": ["true"]}).wait(60)
            for _ in range(args.rounds):
                floors.append(timed(["sh", "-c", f"cat {source} > {work / 'copy'}"])[0])
                started = time.perf_counter()
                handle = engine.send_command("AWS-RunShellScript",
                                             parameters={"commands": [f"cat {source}"]})
                handle.wait(600)
                runs.append(time.perf_counter() - started)
                seconds, peak = ssm_local(f"cat {source}")
                clis.append(seconds)
                peaks.append(peak)
        floor, ours, cli = statistics.median(floors), statistics.median(runs), statistics.median(clis)
        print(f"output: {size / MB:.0f} MB, {args.rounds} rounds (medians)")
        print(f"  floor  cat > file        {floor:7.3f} s  {size / MB / floor:8.0f} MB/s")
        print(f"  ssm-local, warm engine   {ours:7.3f} s  {size / MB / ours:8.0f} MB/s "
              f"(send_command + wait: pipe, spool, store)")
        print(f"  ssm-local run (CLI)      {cli:7.3f} s  {size / MB / cli:8.0f} MB/s "
              f"(with start-up and the live copy to /dev/null)")
        print(f"  throughput ratio         {floor / ours:7.1%} of the floor in the engine, "
              f"{floor / cli:.1%} through the CLI (target >= 50%)")
        print(f"  peak RSS one line        {baseline_rss / MB:7.1f} MB")
        print(f"  peak RSS {size / MB:.0f} MB output   {max(peaks) / MB:7.1f} MB "
              f"(target: within 20 MB of one line)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

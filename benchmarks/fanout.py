"""Benchmark: Run Command fan-out against a subprocess floor and Ansible, plus the cost over SSH. Run
``python benchmarks/fanout.py``. In interleaved rounds it times ssm-local running ``true`` through
AWS-RunShellScript on 200 ``--local`` nodes with MaxConcurrency 50 through the service
(``Engine.send_command``: document, parameters, targets, rate control, and every Command,
CommandInvocation and plugin result persisted in a SQLite store); the floor,
``ThreadPoolExecutor(50)`` running ``true`` 200 times with ``subprocess.run``; and ansible-core's
``ansible all -m raw -a true -f 50`` on 200 ``ansible_connection=local`` hosts (inventory generated
in a temporary directory; ``pip install ansible-core``, the ``bench`` extra). It prints each median
wall time and the ratios (targets: at most 2x the floor, at least 10x faster than Ansible). Then it
starts one OpenSSH ``sshd`` the way the test fixture does (``tests/executors/conftest.py``) and
sends ``true`` to 100 SSH nodes that all point at it (one shared connection) with MaxConcurrency 20,
printing the cost per invocation.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ssm_local.engine import Engine  # noqa: E402

TARGET = [{"Key": "tag:bench", "Values": ["fanout"]}]


def median_of(rounds: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    times = [measure() for _ in range(rounds)]
    return statistics.median(times), times


def ssm_local_round(engine: Engine, concurrency: int, targets: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["true"]},
                                 targets=targets, max_concurrency=str(concurrency))
    command = handle.wait()
    elapsed = time.perf_counter() - started
    if command["Status"] != "Success":
        raise SystemExit(f"the ssm-local command did not succeed: {command['StatusDetails']}")
    return elapsed


def floor_round(nodes: int, concurrency: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: subprocess.run(["true"], check=False), range(nodes)))
    elapsed = time.perf_counter() - started
    assert all(r.returncode == 0 for r in results)
    return elapsed


def ansible_round(workdir: Path, nodes: int, concurrency: int) -> float:
    ansible = shutil.which("ansible")
    assert ansible is not None
    inventory = workdir / "inventory.ini"
    if not inventory.exists():
        hosts = "\n".join(f"h{i:03d}" for i in range(nodes))
        inventory.write_text(
            f"[all]\n{hosts}\n\n[all:vars]\nansible_connection=local\n"
            f"ansible_python_interpreter={sys.executable}\n", encoding="ascii")
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"), "ANSIBLE_HOME": str(workdir / "home"),
           "ANSIBLE_GATHERING": "explicit", "ANSIBLE_RETRY_FILES_ENABLED": "False"}
    started = time.perf_counter()
    done = subprocess.run([ansible, "all", "-i", str(inventory), "-m", "raw", "-a", "true",
                           "-f", str(concurrency)], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit("ansible failed:\n" + done.stdout.decode()[-2000:] + done.stderr.decode()[-2000:])
    return elapsed


def ssh_benchmark(home: Path, invocations: int, concurrency: int, rounds: int) -> None:
    try:
        from tests.executors.conftest import SshdServers, find_sshd
    except ImportError as exc:  # pytest is in the test extra
        print(f"SSH: skipped ({exc})")
        return
    sshd = find_sshd()
    if sshd is None:
        print("SSH: skipped (OpenSSH sshd is not installed: apt-get install openssh-server)")
        return
    servers = SshdServers(home / "sshd", sshd)
    (home / "sshd").mkdir(parents=True)
    try:
        info = servers.start()
        with Engine(f"sqlite:///{home / 'ssh.db'}", home=home / "ssh-home", environ={}) as engine:
            address = f"{info.user}@{info.host}:{info.port}"
            for i in range(invocations):
                engine.nodes.add_ssh(f"ssh-{i:03d}", address, key_path=str(info.key_path),
                                     known_hosts=str(info.known_hosts_path), tags={"bench": "ssh"})
            targets = [{"Key": "tag:bench", "Values": ["ssh"]}]
            one = [{"Key": "InstanceIds", "Values": [engine.nodes.get("ssh-000").node_id]}]
            single, _ = median_of(rounds, lambda: ssm_local_round(engine, 1, one))
            wall, times = median_of(rounds, lambda: ssm_local_round(engine, concurrency, targets))
        print(f"SSH, one sshd: {invocations} invocations, MaxConcurrency {concurrency}: "
              f"{wall:.3f} s (rounds {', '.join(f'{t:.3f}' for t in times)}), "
              f"{wall / invocations * 1000:.1f} ms per invocation; a single invocation "
              f"(connect, run, persist): {single * 1000:.1f} ms")
    finally:
        servers.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--ssh-invocations", type=int, default=100)
    parser.add_argument("--ssh-concurrency", type=int, default=20)
    parser.add_argument("--skip-ansible", action="store_true")
    parser.add_argument("--skip-ssh", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ssm-local-bench-") as tmp:
        home = Path(tmp)
        has_ansible = not args.skip_ansible and shutil.which("ansible") is not None
        work = home / "ansible"
        work.mkdir()
        ours_times: list[float] = []
        floor_times: list[float] = []
        ansible_times: list[float] = []
        with Engine(f"sqlite:///{home / 'store.db'}", home=home / "home", environ={}) as engine:
            for i in range(args.nodes):
                engine.nodes.add_local(f"bench-{i:03d}", tags={"bench": "fanout"})
            ssm_local_round(engine, args.concurrency, TARGET)  # warm-up: imports, caches
            floor_round(args.nodes, args.concurrency)
            # Interleaved, so that a change in the machine's load hits every contender alike.
            for _ in range(args.rounds):
                ours_times.append(ssm_local_round(engine, args.concurrency, TARGET))
                floor_times.append(floor_round(args.nodes, args.concurrency))
                if has_ansible:
                    ansible_times.append(ansible_round(work, args.nodes, args.concurrency))
        ours, floor = statistics.median(ours_times), statistics.median(floor_times)
        ratios = [o / f for o, f in zip(ours_times, floor_times, strict=True)]
        print(f"{args.nodes} nodes, MaxConcurrency {args.concurrency}, median of {args.rounds} "
              "interleaved rounds")
        print(f"  ssm-local (AWS-RunShellScript, persisted): {ours:.3f} s  "
              f"(rounds {', '.join(f'{t:.3f}' for t in ours_times)})")
        print(f"  floor (ThreadPoolExecutor + subprocess):    {floor:.3f} s  "
              f"(rounds {', '.join(f'{t:.3f}' for t in floor_times)})")
        print(f"  ssm-local / floor: {ours / floor:.2f}x (median of the per-round ratios "
              f"{statistics.median(ratios):.2f}x; target <= 2x)")
        if has_ansible:
            ansible = statistics.median(ansible_times)
            print(f"  ansible-core raw -f {args.concurrency}:          {ansible:.3f} s  "
                  f"(rounds {', '.join(f'{t:.3f}' for t in ansible_times)})")
            print(f"  ansible / ssm-local: {ansible / ours:.1f}x faster (target >= 10x); "
                  f"ansible / floor: {ansible / floor:.1f}x")
        elif not args.skip_ansible:
            print("  ansible: skipped (pip install ansible-core, or the 'bench' extra)")
        if not args.skip_ssh:
            ssh_benchmark(home, args.ssh_invocations, args.ssh_concurrency, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

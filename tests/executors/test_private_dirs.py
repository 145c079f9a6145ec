"""A second local user races for the orchestration directory, on a local node and an SSH node.

The work root (``/tmp/ssm-local-<user>`` on an SSH node) has a predictable name in the sticky,
world-writable ``/tmp``. Here a real second OS user (made with ``useradd``, so the tests need root;
under ``CI=true`` they run as root and must not skip) creates it first, as a directory full of
their own files, as a symbolic link to such a directory, or inside a directory whose mode lets them
in, and a download-then-run document (``aws:downloadContent`` of a document, then
``aws:runDocument`` of the downloaded directory) runs against the node. The attacker's document
must never run and the steps must fail naming the directory. A last case races: the attacker
keeps trying to take the directory while the document runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine.command import InvocationResult, NodeContext, run_invocation
from ssm_local.engine.executors import Executor, LocalExecutor
from ssm_local.engine.executors.ssh import SshExecutor
from ssm_local.engine.services.resolution import resolve_document

from .conftest import SshdInfo

NODE_ID = "mi-0123456789abcdef0"
COMMAND_ID = "11111111-2222-3333-4444-555555555555"

DOWNLOAD_THEN_RUN = documents.load(json.dumps({
    "schemaVersion": "2.2", "description": "download a document, then run it", "mainSteps": [
        {"action": "aws:downloadContent", "name": "fetch",
         "inputs": {"sourceType": "SSMDocument", "sourceInfo": {"name": "AWS-RunShellScript"},
                    "destinationPath": "doc"}},
        {"action": "aws:runDocument", "name": "run",
         "inputs": {"documentType": "LocalPath", "documentPath": "doc",
                    "documentParameters": {"commands": ["echo good"]}}},
    ]}), source="download-then-run")


def _evil_document(marker: Path) -> str:
    return json.dumps({"schemaVersion": "2.2", "description": "evil",
                       "parameters": {"commands": {"type": "StringList"}},
                       "mainSteps": [{"action": "aws:runShellScript", "name": "evil",
                                      "inputs": {"runCommand": [f"touch {marker}"]}}]})


@pytest.fixture(scope="module")
def attacker() -> Iterator[pwd.struct_passwd]:
    """A second OS user, made for these tests and removed afterwards."""
    if os.geteuid() != 0:
        message = "the local-attacker tests create a second OS user (useradd): run them as root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"ssmlatk{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def as_user(user: pwd.struct_passwd, script: str) -> None:
    subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                    "sh", "-c", script], check=True, cwd="/")


@pytest.fixture(scope="module")
def ssh_node(sshd_factory: Callable[[], SshdInfo]) -> SshdInfo:
    return sshd_factory()


@pytest.fixture(params=["local", "ssh"])
def node_executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    if request.param == "local":
        yield LocalExecutor()
        return
    executor = SshExecutor(**request.getfixturevalue("ssh_node").executor_options())
    try:
        yield executor
    finally:
        asyncio.run(executor.aclose())


@pytest.fixture
def work_root() -> Iterator[Path]:
    """A work root with a predictable name in ``/tmp``, as ``/tmp/ssm-local-<user>`` is."""
    root = Path(f"/tmp/ssm-local-test-{secrets.token_hex(4)}")
    try:
        yield root
    finally:
        if root.is_symlink():
            root.unlink()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(f"{root}-elsewhere", ignore_errors=True)


def run(executor: Executor, root: Path) -> InvocationResult:
    async def go() -> InvocationResult:
        context = NodeContext(
            node_id=NODE_ID, executor=executor, command_id=COMMAND_ID,
            work_dir=f"{root}/orchestration/{NODE_ID}/{COMMAND_ID}", work_root=str(root),
            resolve_document=lambda name: resolve_document(name).document)
        try:
            return await run_invocation(DOWNLOAD_THEN_RUN, {}, context)
        finally:
            if isinstance(executor, SshExecutor):
                await executor.aclose()
    return asyncio.run(go())


def plant(attacker: pwd.struct_passwd, tree: Path, marker: Path) -> str:
    """Shell text that fills ``tree`` with the attacker's document, all open to everyone."""
    downloads = tree / "orchestration" / NODE_ID / COMMAND_ID / "downloads" / "doc"
    return (f"mkdir -p {downloads} && printf '%s' '{_evil_document(marker)}' > {downloads}/0-evil.json"
            f" && chmod -R a+rwX {tree}")


def outputs(result: InvocationResult) -> list[tuple[str, str]]:
    return [(p.status, p.stderr) for p in result.plugins]


@pytest.mark.parametrize("trap", ["directory", "symlink", "open-mode"])
def test_a_directory_taken_by_another_user_is_refused_and_nothing_runs(
        attacker: pwd.struct_passwd, node_executor: Executor, work_root: Path, tmp_path: Path,
        trap: str) -> None:
    marker = tmp_path / "attacker-ran"
    if trap == "directory":
        as_user(attacker, plant(attacker, work_root, marker))
        refused = f"ssm-local: refusing to use {work_root}: it is owned by uid {attacker.pw_uid}"
    elif trap == "symlink":
        elsewhere = Path(f"{work_root}-elsewhere")
        as_user(attacker, plant(attacker, elsewhere, marker) + f" && ln -s {elsewhere} {work_root}")
        refused = f"ssm-local: refusing to use {work_root}: it is a symbolic link"
    else:  # ours, but left open: the attacker put their tree inside it
        work_root.mkdir(mode=0o777)
        work_root.chmod(0o777)
        as_user(attacker, plant(attacker, work_root, marker).replace(f"chmod -R a+rwX {work_root}",
                                                                     "true"))
        refused = f"ssm-local: refusing to use {work_root}: its mode is drwxrwxrwx, not drwx------"
    result = run(node_executor, work_root)
    assert not marker.exists(), "the attacker's document ran"
    assert result.status == "Failed"
    (fetch, run_step) = outputs(result)
    assert fetch[0] == "Failed" and fetch[1].startswith(refused), fetch
    assert run_step[0] == "Failed" and refused in run_step[1], run_step


def test_a_fresh_directory_is_made_private_and_used(node_executor: Executor, work_root: Path) -> None:
    result = run(node_executor, work_root)
    assert result.status == "Success", outputs(result)
    assert result.plugins[1].stdout == "good\n"
    for directory in (work_root, work_root / "orchestration", work_root / "orchestration" / NODE_ID):
        info = directory.lstat()
        assert (info.st_mode & 0o7777, info.st_uid) == (0o700, os.getuid()), directory


def test_an_attacker_racing_for_the_directory_never_gets_a_document_run(
        attacker: pwd.struct_passwd, node_executor: Executor, work_root: Path,
        tmp_path: Path) -> None:
    marker = tmp_path / "attacker-ran"
    # Keeps trying to take the root, or to plant inside it, until told to stop.
    stop = Path(f"{work_root}-stop")
    loop = (f"while [ ! -e {stop} ]; do ( {plant(attacker, work_root, marker)} ) 2>/dev/null; "
            f"rm -rf {work_root} 2>/dev/null; done")
    racer = subprocess.Popen(["setpriv", f"--reuid={attacker.pw_uid}", f"--regid={attacker.pw_gid}",
                              "--clear-groups", "sh", "-c", loop], cwd="/")
    try:
        results: list[Any] = [run(node_executor, work_root) for _ in range(5)]
    finally:
        stop.touch()
        racer.wait(timeout=30)
        stop.unlink()
    assert not marker.exists(), "the attacker's document ran"
    for result in results:
        if result.status == "Success":
            assert result.plugins[1].stdout == "good\n"
        else:
            stderr = result.plugins[0].stderr
            assert stderr.startswith("ssm-local: ") and str(work_root) in stderr, outputs(result)

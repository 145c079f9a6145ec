"""``aws:downloadContent`` with a ``file://`` source reads the node's file, on the node, and never
ssm-local's own state (its home, key ring and store), whichever node the command goes to."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine import Engine
from ssm_local.engine.command import NodeContext, run_invocation
from ssm_local.engine.executors import InvocationRequest, MockExecutor
from ssm_local.engine.services.nodes import Node

Run = Callable[..., dict[str, Any]]


def _download(source: Path | str, destination: Path) -> dict[str, Any]:
    url = "file://" + source if isinstance(source, str) else source.as_uri()
    return {"schemaVersion": "2.2", "description": "file url", "mainSteps": [
        {"action": "aws:downloadContent", "name": "fetch",
         "inputs": {"sourceType": "HTTP", "sourceInfo": {"url": url},
                    "destinationPath": str(destination)}}]}


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest, engine: Engine) -> list[str]:
    """The node the command goes to: this machine, or the test sshd (which is this machine too)."""
    if request.param == "local":
        return [engine.nodes.ensure_self().node_id]
    node: Node = request.getfixturevalue("ssh_node")
    return [node.node_id]


@pytest.mark.parametrize("state", ["keyring.json", "store.db", "store.db-wal", "dotdot", "link"])
def test_ssm_local_own_state_is_never_read(engine: Engine, run: Run, write_doc: Callable[..., str],
                                           tmp_path: Path, target: list[str], state: str) -> None:
    engine.parameters.put_parameter("/secret", "s3cr3t", type="SecureString")
    home = tmp_path / "home"
    source = {"keyring.json": home / "keyring.json", "store.db": tmp_path / "store.db",
              "store.db-wal": tmp_path / "store.db-wal", "link": tmp_path / "innocent",
              "dotdot": f"{home}/../home/./keyring.json"}
    if state == "link":
        (tmp_path / "innocent").symlink_to(home / "keyring.json")
    destination = tmp_path / "stolen"
    result = run(write_doc(_download(source[state], destination)), instance_ids=target)
    (invocation,) = result["CommandInvocations"]
    (plugin,) = invocation["CommandPlugins"]
    assert (invocation["Status"], plugin["Status"]) == ("Failed", "Failed")
    assert f"aws:downloadContent refuses to read {source[state]}: it is ssm-local's own state" \
        in plugin["Output"]
    assert not destination.exists()


def test_a_file_url_is_copied_on_the_node(run: Run, write_doc: Callable[..., str], tmp_path: Path,
                                          target: list[str]) -> None:
    source = tmp_path / "data name.txt"
    source.write_bytes(b"node bytes\n\x00\xff")
    destination = tmp_path / "out" / "copy.bin"
    result = run(write_doc(_download(source, destination)), instance_ids=target)
    assert result["CommandInvocations"][0]["Status"] == "Success"
    assert destination.read_bytes() == b"node bytes\n\x00\xff"


def test_the_controller_never_reads_a_file_url(tmp_path: Path) -> None:
    """The node is a mock: the controller's copy of the file must not travel in the request."""
    secret = tmp_path / "controller-only.txt"
    secret.write_text("controller secret\n", encoding="utf-8")
    executor = MockExecutor()
    document = documents.load(json.dumps(_download(secret, tmp_path / "copy")), source="file-url")
    context = NodeContext(node_id="mi-0123456789abcdef0", executor=executor, command_id="c-1",
                          work_dir=str(tmp_path / "work"))
    result = asyncio.run(run_invocation(document, {}, context))
    assert result.status == "Success"
    (request,) = executor.requests
    assert isinstance(request, InvocationRequest) and request.script is not None
    sent = request.script + json.dumps(dict(request.environment))
    assert "controller secret" not in sent
    assert base64.b64encode(secret.read_bytes()).decode() not in sent
    assert request.environment["SSM_LOCAL_SOURCE"] == str(secret)


def test_a_file_url_naming_another_host_is_refused(run: Run, write_doc: Callable[..., str],
                                                   tmp_path: Path) -> None:
    document = _download(Path("/etc/hostname"), tmp_path / "x")
    document["mainSteps"][0]["inputs"]["sourceInfo"]["url"] = "file://elsewhere/etc/hostname"
    result = run(write_doc(document))
    (plugin,) = result["CommandInvocations"][0]["CommandPlugins"]
    assert plugin["Status"] == "Failed"
    assert "a file:// URL names a path on the node itself, not on another host" in plugin["Output"]

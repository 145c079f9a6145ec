"""Fixtures for the Run Command tests: an ``Engine`` on a SQLite store in a temporary home, local
nodes, SSH nodes on the real test sshd (from ``tests/executors/conftest.py``), an executor plugin
installed for real (``executor_plugin.py``), and a helper that sends a document and waits for it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services.nodes import Node
from tests.engine.commands.executor_plugin import installed_plugin
from tests.executors.conftest import SshdInfo, sshd, sshd_factory

__all__ = ["engine", "installed_plugin", "local_nodes", "run", "ssh_node", "sshd", "sshd_factory",
           "write_doc"]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An ``Engine`` on an empty SQLite store with a private home."""
    with Engine(f"sqlite:///{tmp_path / 'store.db'}", home=tmp_path / "home", environ={},
                cache_ttl=0) as eng:
        yield eng


@pytest.fixture
def local_nodes(engine: Engine) -> Callable[..., list[Node]]:
    """``local_nodes(n, **tags)``: n extra local nodes named local-0.. with the given tags."""

    def make(count: int, prefix: str = "local", **tags: str) -> list[Node]:
        return [engine.nodes.add_local(f"{prefix}-{i}", tags=tags) for i in range(count)]

    return make


@pytest.fixture
def ssh_node(engine: Engine, sshd: SshdInfo) -> Node:
    """A node on the shared test sshd."""
    return engine.nodes.add_ssh(
        "sshd", f"{sshd.user}@{sshd.host}:{sshd.port}", key_path=str(sshd.key_path),
        known_hosts=str(sshd.known_hosts_path), tags={"via": "ssh"})


@pytest.fixture
def write_doc(tmp_path: Path) -> Callable[[Any, str], str]:
    """``write_doc(content, name)``: write a document (a dict as JSON, or text) and return its path."""

    def write(content: Any, name: str = "doc.json") -> str:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content),
                        encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def run(engine: Engine) -> Callable[..., dict[str, Any]]:
    """``run(document, **request)``: send, wait, and return ``{"Command", "CommandInvocations"}``."""

    def send(document: str, **request: Any) -> dict[str, Any]:
        handle = engine.send_command(document, **request)
        handle.wait(120)
        return handle.result()

    return send

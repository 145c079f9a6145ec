"""A node names its executor: an executor plugin installed for real (a ``*.dist-info`` with an
``ssm_local.executors`` entry point on ``sys.path``) serves a node end to end through
``Engine.send_command``; ``mock`` serves one too; unknown executors are refused when a node is
added and leave an invocation Undeliverable when the plugin has gone since; ``Engine(executor_factory=)``
dry-runs a whole document through ``MockExecutor``; stores made before nodes named their executor
get ``local``/``ssh`` (migration 4), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa

from ssm_local.engine import Engine
from ssm_local.engine.executors import ENTRY_POINT_GROUP, InvocationRequest, MockExecutor, ProcessResult
from ssm_local.engine.executors.base import ProcessOutcome, utc_now
from ssm_local.engine.services.nodes import NodeError
from ssm_local.engine.store import Store
from ssm_local.engine.store.migrations import MIGRATIONS, current_version
from tests.engine.store.backends import pg_database, store_url

__all__ = ["pg_database", "store_url"]


def new_engine(url: str, tmp_path: Path, **options: object) -> Engine:
    return Engine(url, home=tmp_path / "home", environ={}, cache_ttl=0, **options)  # type: ignore[arg-type]


def test_an_installed_executor_plugin_serves_a_node(installed_plugin: str, tmp_path: Path) -> None:
    log = tmp_path / "plugin.log"
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with new_engine(url, tmp_path) as engine:
        node = engine.nodes.add_executor("plugged", installed_plugin,
                                         options={"log": str(log), "greeting": "hi"},
                                         tags={"via": "plugin"})
        assert (node.kind, node.executor, node.address) == ("plugin", "recording", "recording")
        assert node.executor_options == {"greeting": "hi", "log": str(log)}
        assert installed_plugin in engine.nodes.executors.names()
        handle = engine.send_command("AWS-RunShellScript",
                                     parameters={"commands": ["echo one", "echo two"]},
                                     targets=[{"Key": "tag:via", "Values": ["plugin"]}])
        command = handle.wait(60)
        (invocation,) = handle.invocations()
    assert (command["Status"], command["TargetCount"]) == ("Success", 1)
    assert invocation["InstanceId"] == node.node_id
    assert [(p["Status"], p["Output"]) for p in invocation["CommandPlugins"]] == [
        ("Success", "hi from the plugin\n")]
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert entries == [{"script": "echo one\necho two", "env": node.node_id}, {"closed": True}]
    with new_engine(url, tmp_path) as again:  # the node, its executor and options are stored
        stored = again.nodes.get("plugged")
        assert (stored.executor, stored.executor_options) == ("recording", node.executor_options)


def test_a_node_whose_plugin_is_gone_is_undeliverable(installed_plugin: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with new_engine(url, tmp_path) as engine:
        node = engine.nodes.add_executor("plugged", installed_plugin,
                                         options={"log": str(tmp_path / "log")})
    monkeypatch.undo()  # the plugin is uninstalled
    assert "recording" not in [ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    with new_engine(url, tmp_path) as engine:
        handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["true"]},
                                     instance_ids=[node.node_id])
        command = handle.wait(60)
        (invocation,) = handle.invocations()
    assert (invocation["Status"], invocation["StatusDetails"]) == ("Failed", "Undeliverable")
    (plugin,) = invocation["CommandPlugins"]
    assert plugin["Output"].startswith("\n----------ERROR-------\nunknown executor 'recording'; "
                                       "valid executors: ")
    assert command["ErrorCount"] == 0, "an undeliverable invocation is not an error"


def test_the_mock_executor_serves_a_node(engine: Engine) -> None:
    engine.nodes.add_executor("dry", "mock")
    handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["exit 7"]},
                                 instance_ids=["dry"])
    assert handle.wait(60)["Status"] == "Success"
    assert [p["Output"] for p in handle.invocations()[0]["CommandPlugins"]] == [""]


@pytest.mark.parametrize(("executor", "options", "message"), [
    ("nope", {}, "unknown executor 'nope'; valid executors: "),
    ("local", {}, "local nodes are added with add_local (ssm-local nodes add NAME --local)"),
    ("ssh", {}, "ssh nodes are added with add_ssh (ssm-local nodes add NAME --ssh)"),
    ("mock", {"when": object()}, "the options of executor 'mock' must be JSON values: "),
])
def test_a_bad_executor_is_refused_when_the_node_is_added(
        engine: Engine, executor: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(NodeError) as caught:
        engine.nodes.add_executor("bad", executor, options=options)
    assert caught.value.code == "ValidationException"
    assert caught.value.message.startswith(message)
    assert [n.name for n in engine.nodes.list_nodes()][1:] == []


def test_executor_factory_dry_runs_a_document_through_a_mock(tmp_path: Path) -> None:
    seen: list[InvocationRequest] = []

    def handler(request: InvocationRequest) -> ProcessResult:
        seen.append(request)
        now = utc_now()
        return ProcessResult(ProcessOutcome.EXITED, 0, b"dry run\n", b"", now, now)

    url = f"sqlite:///{tmp_path / 'store.db'}"
    marker = tmp_path / "ran"
    with new_engine(url, tmp_path, executor_factory=lambda node: MockExecutor(handler)) as engine:
        engine.nodes.add_local("web-1", tags={"role": "web"})
        handle = engine.send_command(
            "AWS-RunShellScript",
            parameters={"commands": [f"touch {marker}", "echo second"]},
            targets=[{"Key": "InstanceIds", "Values": ["*"]}])
        command = handle.wait(60)
        invocations = handle.invocations()
    assert (command["Status"], command["TargetCount"]) == ("Success", 2)
    assert [p["Output"] for i in invocations for p in i["CommandPlugins"]] == ["dry run\n"] * 2
    assert [r.script for r in seen] == [f"touch {marker}\necho second"] * 2
    assert not marker.exists(), "nothing ran on the nodes themselves"
    assert [r.interpreter for r in seen] == [("sh",)] * 2
    assert sorted(r.environment["AWS_SSM_INSTANCE_ID"] for r in seen) == sorted(
        i["InstanceId"] for i in invocations)


def test_stores_made_before_nodes_named_their_executor(store_url: str, tmp_path: Path) -> None:
    with new_engine(store_url, tmp_path) as engine:
        engine.nodes.add_local("box")
        engine.nodes.add_ssh("far", "me@10.0.0.9:2222")
        self_name = engine.nodes.ensure_self().name
    store = Store(store_url)
    try:
        with store.write() as conn:  # back to the schema of migration 3
            conn.execute(sa.text("ALTER TABLE nodes DROP COLUMN executor_options"))
            conn.execute(sa.text("ALTER TABLE nodes DROP COLUMN executor"))
            conn.execute(sa.text("DELETE FROM ssm_local_schema WHERE version >= 4"))
            assert current_version(conn) == 3
    finally:
        store.close()
    with new_engine(store_url, tmp_path) as engine:
        with engine.store.read() as conn:
            assert current_version(conn) == MIGRATIONS[-1][0] >= 4
        nodes = {n.name: (n.kind, n.executor, dict(n.executor_options))
                 for n in engine.nodes.list_nodes()}
        assert nodes == {self_name: ("self", "local", {}), "box": ("local", "local", {}),
                         "far": ("ssh", "ssh", {})}
        handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["echo ok"]},
                                     instance_ids=["box"])
        assert handle.wait(60)["Status"] == "Success"

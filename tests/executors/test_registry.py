"""Executors by name: built-ins, plugins through entry points, and the errors for bad ones."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint

import pytest

from ssm_local.engine.executors import (
    ENTRY_POINT_GROUP,
    ExecutorRegistry,
    InvocationRequest,
    LocalExecutor,
    MockExecutor,
    SshExecutor,
    create_executor,
    executor_names,
)
from ssm_local.grammar.errors import ExecutorError

PLUGINS = "tests.executors.plugin_examples"


def entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def registry(*entries: tuple[str, str]) -> ExecutorRegistry:
    return ExecutorRegistry([entry_point(name, value) for name, value in entries])


def test_builtin_names() -> None:
    assert {"local", "mock", "ssh"} <= set(executor_names())
    assert registry().names() == ["local", "mock", "ssh"]


@pytest.mark.parametrize(
    ("name", "options", "kind"),
    [
        ("local", {}, LocalExecutor),
        ("mock", {}, MockExecutor),
        ("ssh", {"host": "127.0.0.1", "port": 2222, "username": "me"}, SshExecutor),
    ],
)
def test_create_builtin(name: str, options: dict[str, object], kind: type) -> None:
    assert isinstance(create_executor(name, **options), kind)


def test_a_plugin_is_created_with_its_options() -> None:
    plugins = registry(("echo", f"{PLUGINS}:EchoExecutor"))
    assert plugins.names() == ["echo", "local", "mock", "ssh"]
    executor = plugins.create("echo", code=7)
    result = asyncio.run(executor.run(InvocationRequest(script="true")))
    assert result.exit_code == 7


def test_a_plugin_cannot_replace_a_builtin() -> None:
    plugins = registry(("local", f"{PLUGINS}:EchoExecutor"))
    assert isinstance(plugins.create("local"), LocalExecutor)


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ExecutorError) as caught:
        registry(("echo", f"{PLUGINS}:EchoExecutor")).create("sshh")
    assert caught.value.message == "unknown executor 'sshh'; valid executors: echo, local, mock, ssh"
    assert caught.value.code == "ExecutorError"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "ssm_local_missing_plugin:Executor",
            "executor plugin 'broken' (ssm_local_missing_plugin:Executor) could not be loaded: "
            "ModuleNotFoundError: No module named 'ssm_local_missing_plugin'; "
            "valid executors: broken, local, mock, ssh",
        ),
        (
            f"{PLUGINS}:Missing",
            f"executor plugin 'broken' ({PLUGINS}:Missing) could not be loaded: "
            f"AttributeError: module '{PLUGINS}' has no attribute 'Missing'; "
            "valid executors: broken, local, mock, ssh",
        ),
        (
            f"{PLUGINS}:NOT_CALLABLE",
            f"executor plugin 'broken' ({PLUGINS}:NOT_CALLABLE) is not callable; "
            "valid executors: broken, local, mock, ssh",
        ),
        (
            f"{PLUGINS}:NotAnExecutor",
            "executor 'broken' returned NotAnExecutor, which has no async run() and aclose(); "
            "valid executors: broken, local, mock, ssh",
        ),
        (
            f"{PLUGINS}:raising_factory",
            "executor 'broken' could not be created: RuntimeError: the plugin needs a licence key",
        ),
    ],
)
def test_a_broken_plugin_is_named(value: str, message: str) -> None:
    with pytest.raises(ExecutorError) as caught:
        registry(("broken", value)).create("broken")
    assert caught.value.message == message


def test_bad_options_for_a_builtin() -> None:
    with pytest.raises(ExecutorError) as caught:
        create_executor("local", colour="blue")
    assert caught.value.message == (
        "executor 'local' could not be created: "
        "TypeError: LocalExecutor.__init__() got an unexpected keyword argument 'colour'"
    )


def test_installed_entry_points_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssm_local.engine.executors.registry as module

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "ssm_local.executors"
        return [entry_point("echo", f"{PLUGINS}:EchoExecutor")]

    monkeypatch.setattr(module.metadata, "entry_points", fake_entry_points)
    assert executor_names() == ["echo", "local", "mock", "ssh"]

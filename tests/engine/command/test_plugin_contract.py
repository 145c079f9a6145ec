"""One contract for every Command plugin in ``BUILTIN_PLUGINS``, run through the interpreter on a
``MockExecutor`` node: a plugin runs where it fits; the platform rules skip it (2.2) or fail it
(2.0, 1.2) where it does not; a cancel before it starts or while it runs ends it Cancelled; the
overall deadline ends it TimedOut and the remaining steps do not run. A new plugin joins the suite
by adding its sample inputs to ``INPUTS``. No test waits more than about half a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.documents import Document
from ssm_local.engine.command import (
    BUILTIN_PLUGINS,
    InvocationResult,
    NodeContext,
    PluginResult,
    StepContext,
    run_invocation,
)
from ssm_local.engine.command.interpreter import PLUGIN_PLATFORMS, plugin_platforms
from ssm_local.engine.executors import InvocationRequest, MockExecutor
from ssm_local.engine.services.resolution import resolve_document

PLATFORMS = ("Linux", "MacOS", "Windows")
DEADLINE_SECONDS = 0.3

INPUTS: dict[str, dict[str, Any]] = {
    "aws:downloadContent": {"sourceType": "SSMDocument",
                            "sourceInfo": {"name": "AWS-RunShellScript"},
                            "destinationPath": "contract"},
    "aws:runDocument": {"documentType": "SSMDocument", "documentPath": "AWS-RunShellScript",
                        "documentParameters": {"commands": ["echo contract"]}},
    "aws:runPowerShellScript": {"runCommand": ["Write-Output contract"]},
    "aws:runScript": {"runCommand": ["Write-Output contract"]},
    "aws:runShellScript": {"runCommand": ["echo contract"]},
}
"""Inputs with which each plugin does its work through the node's executor."""

PLUGINS = sorted(BUILTIN_PLUGINS)


def command_document(plugin: str, schema_version: str = "2.2", steps: int = 1) -> Document:
    """A document of ``steps`` steps of ``plugin`` (1.2: one plugin under runtimeConfig)."""
    if schema_version == "1.2":
        assert steps == 1
        content: dict[str, Any] = {"schemaVersion": "1.2", "description": "contract",
                                   "runtimeConfig": {plugin: {"properties": [
                                       {"id": f"0.{plugin}", **INPUTS[plugin]}]}}}
    else:
        content = {"schemaVersion": schema_version, "description": "contract", "mainSteps": [
            {"action": plugin, "name": f"step{i}", "inputs": INPUTS[plugin]} for i in range(steps)]}
    return documents.load(json.dumps(content), source=f"contract-{plugin}")


def fitting_platform(plugin: str) -> str:
    platforms = plugin_platforms(plugin)
    return "Linux" if "Linux" in platforms else sorted(platforms)[0]


def node(executor: MockExecutor, *, platform: str, cancel: asyncio.Event | None = None,
         deadline: float | None = None) -> NodeContext:
    return NodeContext(
        node_id="mi-0123456789abcdef0", executor=executor, command_id="contract-command",
        platform=platform, work_dir="/tmp/ssm-local-contract",
        resolve_document=lambda name: resolve_document(name).document,
        cancel=cancel or asyncio.Event(), deadline=deadline)


def outcomes(result: InvocationResult) -> list[tuple[str, str]]:
    return [(p.status, p.status_details) for p in result.plugins]


class Blocking:
    """An async handler that never ends by itself; ``started`` is set when the node is called."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def __call__(self, request: InvocationRequest) -> int:
        self.started.set()
        await asyncio.sleep(1000)
        raise AssertionError("not reached")


def test_every_builtin_plugin_is_in_the_suite() -> None:
    assert sorted(INPUTS) == PLUGINS
    assert PLUGINS == ["aws:downloadContent", "aws:runDocument", "aws:runPowerShellScript",
                       "aws:runScript", "aws:runShellScript"]
    assert BUILTIN_PLUGINS["aws:runScript"] is BUILTIN_PLUGINS["aws:runPowerShellScript"]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_runs_where_it_fits(plugin: str) -> None:
    executor = MockExecutor()
    result = asyncio.run(run_invocation(command_document(plugin), {},
                                        node(executor, platform=fitting_platform(plugin))))
    assert outcomes(result) == [("Success", "Success")]
    assert result.status == "Success"
    assert executor.requests, "the plugin did its work through the node's executor"


@pytest.mark.parametrize("schema_version", ["2.2", "2.0", "1.2"])
@pytest.mark.parametrize("plugin", PLUGINS)
def test_platform_rules(plugin: str, schema_version: str) -> None:
    others = [p for p in PLATFORMS if p not in plugin_platforms(plugin)]
    if not others:
        pytest.skip(f"{plugin} runs on every platform ({', '.join(PLATFORMS)})")
    for platform in others:
        executor = MockExecutor()
        result = asyncio.run(run_invocation(command_document(plugin, schema_version), {},
                                            node(executor, platform=platform)))
        (step,) = result.plugins
        if schema_version == "2.2":
            assert (step.status, step.status_details) == ("Success", "Skipped")
        else:
            assert (step.status, step.status_details) == ("Failed", "Failed")
            assert step.stderr == f"{plugin} is not supported on {platform} nodes\n"
        assert executor.requests == []


def test_the_platform_table_names_only_real_platforms() -> None:
    assert all(set(platforms) <= set(PLATFORMS) for platforms in PLUGIN_PLATFORMS.values())


@pytest.mark.parametrize("plugin", PLUGINS)
def test_cancel_before_start(plugin: str) -> None:
    async def main() -> tuple[InvocationResult, MockExecutor]:
        cancel = asyncio.Event()
        cancel.set()
        executor = MockExecutor()
        context = node(executor, platform=fitting_platform(plugin), cancel=cancel)
        return await run_invocation(command_document(plugin, steps=2), {}, context), executor

    result, executor = asyncio.run(main())
    assert outcomes(result) == [("Cancelled", "Cancelled")] * 2
    assert [p.response_code for p in result.plugins] == [-1, -1]
    assert result.status == "Cancelled"
    assert executor.requests == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_cancel_while_running(plugin: str) -> None:
    async def main() -> tuple[InvocationResult, MockExecutor]:
        cancel = asyncio.Event()
        handler = Blocking()
        executor = MockExecutor(handler)
        context = node(executor, platform=fitting_platform(plugin), cancel=cancel)
        task = asyncio.ensure_future(run_invocation(command_document(plugin, steps=2), {}, context))
        await asyncio.wait_for(handler.started.wait(), 5)
        cancel.set()
        return await asyncio.wait_for(task, 5), executor

    result, executor = asyncio.run(main())
    assert outcomes(result) == [("Cancelled", "Cancelled")] * 2
    assert result.plugins[1].response_code == -1, "the second step never started"
    assert result.status == "Cancelled"
    assert len(executor.requests) == 1


@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_deadline_ends_the_step_and_the_rest_do_not_run(plugin: str) -> None:
    async def main() -> tuple[InvocationResult, MockExecutor, float]:
        executor = MockExecutor(Blocking())
        loop = asyncio.get_running_loop()
        begun = loop.time()
        context = node(executor, platform=fitting_platform(plugin),
                       deadline=begun + DEADLINE_SECONDS)
        result = await asyncio.wait_for(
            run_invocation(command_document(plugin, steps=2), {}, context), 5)
        return result, executor, loop.time() - begun

    result, executor, took = asyncio.run(main())
    assert outcomes(result) == [("TimedOut", "Execution Timed Out")] * 2
    assert result.plugins[1].response_code == -1, "the second step never started"
    assert result.status == "TimedOut"
    assert result.status_details == "Execution Timed Out"
    assert len(executor.requests) == 1
    assert DEADLINE_SECONDS * 0.9 <= took < 3


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_deadline_already_passed_runs_nothing(plugin: str) -> None:
    async def main() -> tuple[InvocationResult, MockExecutor]:
        executor = MockExecutor()
        deadline = asyncio.get_running_loop().time()
        context = node(executor, platform=fitting_platform(plugin), deadline=deadline)
        return await run_invocation(command_document(plugin), {}, context), executor

    result, executor = asyncio.run(main())
    assert outcomes(result) == [("TimedOut", "Execution Timed Out")]
    assert executor.requests == []


# --- the injected table --------------------------------------------------------------------


def run_with_table(plugins: Mapping[str, Any], plugin: str = "aws:runShellScript"
                   ) -> tuple[InvocationResult, MockExecutor]:
    executor = MockExecutor()
    context = node(executor, platform="Linux")
    return asyncio.run(run_invocation(command_document(plugin), {}, context, plugins=plugins)), executor


def test_a_plugin_missing_from_the_table_fails_its_step() -> None:
    result, executor = run_with_table({})
    (step,) = result.plugins
    assert (step.status, step.status_details, step.response_code) == ("Failed", "Failed", 1)
    assert step.stderr == "plugin aws:runShellScript is not supported by ssm-local\n"
    assert executor.requests == []


def test_a_table_of_ones_own_replaces_the_builtin_plugins() -> None:
    seen: list[StepContext] = []

    async def echo_inputs(ctx: StepContext) -> PluginResult:
        seen.append(ctx)
        return PluginResult(ctx.step.name, ctx.step.action, "Success", "Success", 0,
                            stdout=json.dumps(ctx.inputs))

    result, executor = run_with_table({"aws:runShellScript": echo_inputs})
    assert [p.stdout for p in result.plugins] == ['{"runCommand": ["echo contract"]}']
    assert seen[0].depth == 0 and seen[0].node.node_id == "mi-0123456789abcdef0"
    assert executor.requests == []


def test_a_nested_document_runs_with_the_outer_table() -> None:
    calls: list[tuple[str, int]] = []

    async def shell(ctx: StepContext) -> PluginResult:
        calls.append((ctx.step.action, ctx.depth))
        return PluginResult(ctx.step.name, ctx.step.action, "Success", "Success", 0, stdout="own\n")

    table = {**BUILTIN_PLUGINS, "aws:runShellScript": shell}
    result, executor = run_with_table(table, "aws:runDocument")
    assert [(p.status, p.stdout) for p in result.plugins] == [("Success", "own\n")]
    assert calls == [("aws:runShellScript", 1)]
    assert executor.requests == []



@pytest.mark.parametrize("stop", ["cancel", "deadline"])
def test_a_local_path_read_that_is_stopped_ends_the_step_the_same_way(stop: str) -> None:
    content = {"schemaVersion": "2.2", "description": "local path", "mainSteps": [
        {"action": "aws:runDocument", "name": "local",
         "inputs": {"documentType": "LocalPath", "documentPath": "inner.json"}}]}
    document = documents.load(json.dumps(content), source="local-path")

    async def main() -> tuple[InvocationResult, MockExecutor]:
        handler = Blocking()
        executor = MockExecutor(handler)
        cancel = asyncio.Event()
        deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS if stop == "deadline" else None
        context = node(executor, platform="Linux", cancel=cancel, deadline=deadline)
        task = asyncio.ensure_future(run_invocation(document, {}, context))
        await asyncio.wait_for(handler.started.wait(), 5)
        if stop == "cancel":
            cancel.set()
        return await asyncio.wait_for(task, 5), executor

    result, executor = asyncio.run(main())
    expected = ("Cancelled", "Cancelled") if stop == "cancel" else ("TimedOut", "Execution Timed Out")
    assert outcomes(result) == [expected]
    assert [r.script_filename for r in executor.requests] == ["_read_document.sh"]

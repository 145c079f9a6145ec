"""A Command plugin injected under a new name runs through ``Engine(plugins=...)``; without the
table the same document is refused as AWS refuses an unknown plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssm_local import Engine
from ssm_local.engine.command import BUILTIN_PLUGINS, PluginResult, StepContext
from ssm_local.grammar import DocumentError

DOCUMENT = """\
schemaVersion: "2.2"
description: a custom plugin
mainSteps:
  - action: aws:myPlugin
    name: mine
    inputs:
      text: hi
  - action: aws:runShellScript
    name: shell
    inputs:
      runCommand: [echo after]
"""


async def my_plugin(ctx: StepContext) -> PluginResult:
    now = ctx.node.clock.now()
    return PluginResult(ctx.step.name, ctx.step.action, "Success", "Success", 0, now, now,
                        stdout=f"custom says {ctx.inputs['text']}\n")


def test_a_new_plugin_name_runs_when_injected(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(DOCUMENT, encoding="utf-8")
    with Engine(home=tmp_path / "home", plugins={**BUILTIN_PLUGINS, "aws:myPlugin": my_plugin}
                ) as engine:
        handle = engine.send_command(str(path))
        result = handle.wait()
        node = result["InstanceIds"][0]
        mine = engine.commands.get_command_invocation(handle.command_id, node, plugin_name="mine")
        shell = engine.commands.get_command_invocation(handle.command_id, node, plugin_name="shell")
    assert result["Status"] == "Success"
    assert mine["StandardOutputContent"] == "custom says hi\n"
    assert shell["StandardOutputContent"] == "after\n"


def test_without_the_table_the_name_is_an_unknown_plugin(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(DOCUMENT, encoding="utf-8")
    with Engine(home=tmp_path / "home") as engine, pytest.raises(DocumentError) as caught:
        engine.send_command(str(path))
    assert caught.value.code == "InvalidDocument"
    assert "UnknownAction" in caught.value.message
    assert "unknown plugin 'aws:myPlugin'" in caught.value.message

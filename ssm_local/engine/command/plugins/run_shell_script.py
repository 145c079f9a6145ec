"""``aws:runShellScript``: the lines joined into ``_script.sh`` and launched as the agent launches it.

The file is executable and started as ``sh -c <file>``: a first line ``#!/bin/bash`` (or
``#!/usr/bin/env python3``) picks the interpreter, and a script without one runs under ``sh``.

Also the shared script runner for ``aws:runPowerShellScript``: inputs ``runCommand`` (or the old
``commands``), ``workingDirectory`` (a relative path resolves under the node's downloads
directory) and ``timeoutSeconds`` (default 3600; the agent's range 5-172800, anything else
means 3600; fractions are truncated). The exit code decides the status: 0 Success, 168 Success
and skip the remaining steps, 169 Failed and skip them, 194/3010 (reboot requested) Failed
because ssm-local never reboots a node (docs/decisions.md), anything else Failed. The
environment carries SSM_COMMAND_ID, AWS_SSM_INSTANCE_ID and AWS_SSM_REGION_NAME.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ssm_local.engine.command.plugins.base import (
    CANCELLED,
    FAILED,
    SUCCESS,
    TIMED_OUT,
    PluginResult,
    StepContext,
    time_left,
    work_dir_guard,
)
from ssm_local.engine.executors.base import InvocationRequest, ProcessOutcome, ProcessResult

DEFAULT_TIMEOUT = 3600
MIN_TIMEOUT = 5
MAX_TIMEOUT = 172_800
REBOOT_CODES = (194, 3010)
REBOOT_MESSAGE = (
    "ssm-local: the script exited with {code}, asking for a reboot and a re-run of this step; "
    "ssm-local never reboots a node, so the step is reported as failed and the remaining steps "
    "were not run\n"
)


def step_timeout(value: Any) -> int:
    """The agent's ValidateExecutionTimeout: 5-172800 seconds, else the default 3600."""
    try:
        seconds = int(float(str(value).strip())) if value not in (None, "") else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if MIN_TIMEOUT <= seconds <= MAX_TIMEOUT else DEFAULT_TIMEOUT


def script_lines(inputs: dict[str, Any]) -> str:
    commands = inputs.get("runCommand", inputs.get("commands", []))
    if isinstance(commands, str):
        commands = [commands]
    if not isinstance(commands, list):
        commands = [json.dumps(commands)]
    return "\n".join(c if isinstance(c, str) else json.dumps(c) for c in commands)


def working_directory(ctx: StepContext) -> str | None:
    value = ctx.inputs.get("workingDirectory")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if posixpath.isabs(value) or (len(value) > 1 and value[1] == ":"):
        return value
    return posixpath.join(ctx.node.work_dir, "downloads", value)


async def run_script(ctx: StepContext, interpreter: tuple[str, ...], filename: str, *,
                     executable: bool = False) -> tuple[ProcessResult, PluginResult]:
    """Run the step's script through the node's executor and map the result to a plugin result.

    ``executable``: launch the file as the agent launches ``_script.sh`` (see
    :class:`~ssm_local.engine.executors.base.InvocationRequest`), not as ``interpreter <file>``.
    """
    node = ctx.node
    timeout = time_left(node, step_timeout(ctx.inputs.get("timeoutSeconds")))
    environment = {
        **ctx.environment,
        "SSM_COMMAND_ID": node.command_id,
        "AWS_SSM_INSTANCE_ID": node.node_id,
        "AWS_SSM_REGION_NAME": node.region,
    }
    directory = working_directory(ctx)
    if directory is not None and directory.startswith(node.work_dir + "/"):
        # Under the orchestration directory: made private (or refused) before the script runs.
        guard, guard_environment = work_dir_guard(node, posixpath.join(node.work_dir, "downloads"))
        checked = await node.executor.run(
            InvocationRequest(script=guard, environment=guard_environment, timeout_seconds=timeout,
                              script_filename="_work_dir.sh"),
            cancel=node.cancel)
        if not checked.ok:
            return checked, to_plugin_result(ctx, checked)
    request = InvocationRequest(
        script=script_lines(ctx.inputs),
        interpreter=interpreter,
        working_directory=directory,
        environment=environment,
        timeout_seconds=timeout,
        script_filename=filename,
        invocation_id=f"{node.command_id}/{node.node_id}/{ctx.step.name}",
        executable=executable,
    )
    sink = node.on_output
    step_name = ctx.step.name
    callback = (lambda stream, chunk: sink(step_name, stream, chunk)) if sink else None
    result = await node.executor.run(request, callback, cancel=node.cancel)
    return result, to_plugin_result(ctx, result)


def to_plugin_result(ctx: StepContext, result: ProcessResult) -> PluginResult:
    step = ctx.step
    stdout, stderr = result.stdout_text, result.stderr_text
    status, details, skip = FAILED, "Failed", False
    code = result.exit_code
    if result.outcome is ProcessOutcome.EXITED:
        if code == 0:
            status, details = SUCCESS, "Success"
        elif code == 168:
            status, details, skip = SUCCESS, "Success", True
        elif code == 169:
            skip = True
        elif code in REBOOT_CODES:
            skip = True
            stderr += REBOOT_MESSAGE.format(code=code)
    elif result.outcome is ProcessOutcome.TIMED_OUT:
        status, details = TIMED_OUT, "Execution Timed Out"
    elif result.outcome is ProcessOutcome.CANCELLED:
        status, details = CANCELLED, "Cancelled"
    elif result.outcome is ProcessOutcome.UNREACHABLE:
        details = "Undeliverable"
        stderr += f"{result.error or 'the node could not be reached'}\n"
    else:
        stderr += f"{result.error or 'the script could not be run'}\n"
    return PluginResult(step.name, step.action, status, details, code, result.started_at,
                        result.finished_at, stdout, stderr, skip_remaining=skip)


async def run_shell_script(ctx: StepContext) -> PluginResult:
    _, plugin = await run_script(ctx, ("sh",), "_script.sh", executable=True)
    return plugin

"""``aws:runCommand`` in a runbook: send a Command document through ssm-local's Run Command.

Inputs are SendCommand's: ``DocumentName`` (a registry, bundled or file name), ``InstanceIds``
or ``Targets``, ``Parameters`` (values as lists, AWS's wire form, or native values),
``DocumentVersion``, ``TimeoutSeconds``, ``Comment``, ``MaxConcurrency`` and ``MaxErrors``; S3,
CloudWatch, notification and service-role inputs are accepted and ignored, as there is nowhere
local to send them. The step waits for the command and succeeds when the command does. Outputs:
``CommandId``, ``Status``, ``ResponseCode`` and ``Output`` (the first invocation's plugin output,
at most 2,500 characters, as AWS reports one Run Command's output). Cancelling the step cancels
the command. Run Command is ``ctx.commands``, a ``CommandSender`` (the ``Engine`` gives itself);
without one the step fails. A missing ``DocumentName`` fails the step before anything is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ssm_local.engine.automation.actions import (
    ActionContext,
    ActionResult,
    cancelled,
    missing_input,
)
from ssm_local.engine.clock import hold
from ssm_local.grammar.errors import SsmLocalError


def _targets(value: Any) -> list[dict[str, Any]] | None:
    if not value:
        return None
    items = value if isinstance(value, list) else [value]
    return [{"Key": t.get("Key"), "Values": t.get("Values") if isinstance(t.get("Values"), list)
             else [t.get("Values")]} for t in items if isinstance(t, dict)]


async def handler(ctx: ActionContext) -> ActionResult:
    if ctx.cancel.is_set():
        return cancelled(ctx)
    missing = missing_input(ctx, "DocumentName")
    if missing is not None:
        return missing
    commands = ctx.commands
    if commands is None:
        return ActionResult.failed("aws:runCommand needs ssm-local's Run Command service; run the "
                                   "runbook through an Engine", failure_type="Verification")
    inputs = ctx.inputs
    instance_ids = inputs.get("InstanceIds")
    if isinstance(instance_ids, str):
        instance_ids = [instance_ids]
    timeout = inputs.get("TimeoutSeconds")
    try:
        with hold(ctx.clock):
            handle = await asyncio.to_thread(
                commands.send_command, str(inputs["DocumentName"]),
                parameters=dict(inputs.get("Parameters") or {}),
                instance_ids=instance_ids or None, targets=_targets(inputs.get("Targets")),
                document_version=inputs.get("DocumentVersion"),
                max_concurrency=inputs.get("MaxConcurrency"),
                max_errors=inputs.get("MaxErrors"),
                timeout_seconds=int(timeout) if timeout not in (None, "") else None,
                comment=str(inputs.get("Comment", "")))
            waiter = asyncio.ensure_future(handle)
            cancel = asyncio.ensure_future(ctx.cancel.wait())
            await asyncio.wait({waiter, cancel}, return_when=asyncio.FIRST_COMPLETED)
            cancel.cancel()
            if not waiter.done():
                handle.cancel()
                await waiter
            result: dict[str, Any] = await asyncio.to_thread(handle.result)
    except SsmLocalError as exc:
        return ActionResult.failed(f"SendCommand failed: {exc.code}: {exc.message}",
                                   failure_type="Verification")
    command = result["Command"]
    invocations = result.get("CommandInvocations") or []
    first = invocations[0] if invocations else {}
    plugins = first.get("CommandPlugins") or []
    outputs = {
        "CommandId": command["CommandId"],
        "Status": command["Status"],
        "ResponseCode": plugins[0].get("ResponseCode", -1) if plugins else -1,
        "Output": plugins[0].get("Output", "") if plugins else "",
    }
    if ctx.cancel.is_set():
        return ActionResult("Cancelled", outputs, result, "the command was cancelled")
    if command["Status"] != "Success":
        return ActionResult.failed(
            f"Command {command['CommandId']} ended {command['Status']} "
            f"({command.get('StatusDetails', '')})", outputs=outputs, response=result)
    return ActionResult.success(outputs, response=result)

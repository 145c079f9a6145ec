"""aws:createStack: create a CloudFormation stack and wait until its creation ends.

Inputs are CreateStack parameters under their own names: ``StackName`` (required),
``TemplateBody`` (a string; a map is sent as JSON) or ``TemplateURL``, ``Parameters``,
``Capabilities``, ``OnFailure`` / ``DisableRollback``, ``Tags``, ``RoleARN``,
``ClientRequestToken``, ``TimeoutInMinutes``, ``NotificationARNs``, ``ResourceTypes``,
``StackPolicyBody`` / ``StackPolicyURL``. A ``ParameterValue`` that is not a string is sent the
way CloudFormation reads it (``true``/``false``; a list joined with commas).

Before creating, a stack of the same name that is still in progress is waited for, and one left
in ``ROLLBACK_COMPLETE`` by an earlier attempt is deleted, so ``maxAttempts`` can retry. After
CreateStack the stack is polled every ``POLL_INTERVAL_SECONDS`` until its status no longer ends
in ``_IN_PROGRESS``; ``CREATE_COMPLETE`` is success, anything else fails the step with the
stack's status reason. Outputs (also the step's response, for Selectors such as
``$.StackStatus``): ``StackId``, ``StackStatus``, ``StackStatusReason``. ``wait_for_stack`` and
``describe_stack`` are shared with aws:deleteStack.
"""

from __future__ import annotations

import json
from typing import Any

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    aws_action,
    optional_inputs,
    require,
    wait_until,
)

__all__ = ["POLL_INTERVAL_SECONDS", "describe_stack", "handler", "wait_for_stack"]

POLL_INTERVAL_SECONDS = 15.0
"""Time between two DescribeStacks calls while a stack operation is in progress."""


async def describe_stack(aws: AwsSession, stack: str) -> dict[str, Any] | None:
    """The stack named (or with id) ``stack``, or None when CloudFormation has no such stack."""
    try:
        response = await aws.call("cloudformation", "DescribeStacks", {"StackName": stack})
    except ActionFailure as failure:
        if failure.code == "ValidationError" and "does not exist" in failure.message:
            return None
        raise
    stacks = response.get("Stacks", [])
    return dict(stacks[0]) if stacks else None


async def wait_for_stack(ctx: ActionContext, aws: AwsSession, stack: str, deadline: Deadline,
                         *, waiting_for: str) -> dict[str, Any] | None:
    """Poll until ``stack`` is no longer ``*_IN_PROGRESS``; its description, None if gone."""

    async def poll() -> tuple[dict[str, Any] | None] | None:
        description = await describe_stack(aws, stack)
        status = str(description.get("StackStatus", "")) if description else ""
        if status.endswith("_IN_PROGRESS"):
            ctx.log(f"stack {stack} is {status}")
            return None
        return (description,)

    found = await wait_until(ctx, poll, interval=POLL_INTERVAL_SECONDS, deadline=deadline,
                             waiting_for=waiting_for)
    return found[0]


def _parameter_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, int | float):
        return str(value)
    return value


def create_stack_params(ctx: ActionContext) -> dict[str, Any]:
    require(ctx, "StackName")
    params = optional_inputs(ctx, {})
    body = params.get("TemplateBody")
    if body is not None and not isinstance(body, str):
        params["TemplateBody"] = json.dumps(body)
    if isinstance(params.get("Capabilities"), str):
        params["Capabilities"] = [params["Capabilities"]]
    if isinstance(params.get("Parameters"), list):
        params["Parameters"] = [
            {**item, "ParameterValue": _parameter_value(item["ParameterValue"])}
            if isinstance(item, dict) and "ParameterValue" in item else item
            for item in params["Parameters"]]
    return params


async def _clear_the_way(ctx: ActionContext, aws: AwsSession, name: str,
                         deadline: Deadline) -> None:
    """Wait out an operation in progress; delete a stack an earlier attempt left rolled back."""
    existing = await wait_for_stack(ctx, aws, name, deadline,
                                    waiting_for=f"stack {name} to finish its current operation")
    if existing and existing.get("StackStatus") == "ROLLBACK_COMPLETE":
        stack_id = str(existing["StackId"])
        ctx.log(f"deleting stack {name}, left in ROLLBACK_COMPLETE by an earlier attempt")
        await aws.call("cloudformation", "DeleteStack", {"StackName": stack_id})
        await wait_for_stack(ctx, aws, stack_id, deadline,
                             waiting_for=f"the rolled-back stack {name} to be deleted")


def _outputs(stack_id: str, description: dict[str, Any] | None) -> dict[str, Any]:
    description = description or {}
    return {"StackId": stack_id,
            "StackStatus": str(description.get("StackStatus", "")),
            "StackStatusReason": str(description.get("StackStatusReason", ""))}


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    params = create_stack_params(ctx)
    name = str(params["StackName"])
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    await _clear_the_way(ctx, aws, name, deadline)
    stack_id = str((await aws.call("cloudformation", "CreateStack", params))["StackId"])
    try:
        final = await wait_for_stack(ctx, aws, stack_id, deadline,
                                     waiting_for=f"stack {name} to be created")
    except ActionFailure as failure:
        failure.outputs = failure.response = {"StackId": stack_id}
        raise
    outputs = _outputs(stack_id, final)
    if final is None:
        return ActionResult.failed(f"stack {name} was deleted before its creation completed",
                                   outputs=outputs, response=outputs)
    if outputs["StackStatus"] != "CREATE_COMPLETE":
        reason = outputs["StackStatusReason"] or "no reason given"
        return ActionResult.failed(f"stack {name} ended {outputs['StackStatus']}: {reason}",
                                   outputs=outputs, response=outputs)
    return ActionResult.success(outputs, response=outputs)

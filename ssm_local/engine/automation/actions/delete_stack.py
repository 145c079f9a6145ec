"""aws:deleteStack: delete a CloudFormation stack and wait until it is gone.

Inputs: ``StackName`` (a name or stack id, required), ``RoleARN``, ``ClientRequestToken``,
``RetainResources``. The action looks the stack up, calls DeleteStack with its id and polls
every ``POLL_INTERVAL_SECONDS`` (aws:createStack's interval) until the stack is
``DELETE_COMPLETE``; ``DELETE_FAILED`` fails the step with the stack's status reason. A stack that
does not exist is already deleted: the step succeeds, as DeleteStack itself does. No outputs.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    aws_action,
    optional_inputs,
    require,
)
from ssm_local.engine.automation.actions.create_stack import (
    POLL_INTERVAL_SECONDS,
    describe_stack,
    wait_for_stack,
)

__all__ = ["POLL_INTERVAL_SECONDS", "handler"]


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    name = str(require(ctx, "StackName"))
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    existing = await describe_stack(aws, name)
    if existing is None or existing.get("StackStatus") == "DELETE_COMPLETE":
        ctx.log(f"stack {name} does not exist: nothing to delete")
        return ActionResult.success(response={})
    stack_id = str(existing["StackId"])
    await aws.call("cloudformation", "DeleteStack",
                   {**optional_inputs(ctx, {}), "StackName": stack_id})
    final = await wait_for_stack(ctx, aws, stack_id, deadline,
                                 waiting_for=f"stack {name} to be deleted")
    status = str(final.get("StackStatus", "")) if final else "DELETE_COMPLETE"
    if status != "DELETE_COMPLETE":
        reason = (final or {}).get("StackStatusReason") or "no reason given"
        raise ActionFailure(f"stack {name} ended {status}: {reason}")
    return ActionResult.success(response={"StackId": stack_id, "StackStatus": status})

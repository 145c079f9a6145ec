"""aws:createTags: tag EC2 resources, or a managed node, maintenance window or parameter.

Inputs: ``ResourceIds`` (StringList) and ``Tags`` (a list of ``{Key, Value}``), both required,
and ``ResourceType``: ``EC2`` (the default) calls EC2 CreateTags for every id; ``ManagedInstance``,
``MaintenanceWindow`` or ``Parameter`` calls SSM AddTagsToResource, which takes exactly one id,
so more than one fails the step as AWS documents. No outputs.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    as_string_list,
    aws_action,
    require,
)

__all__ = ["handler"]

_SSM_TYPES = ("ManagedInstance", "MaintenanceWindow", "Parameter")


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    resource_ids = as_string_list(ctx, "ResourceIds")
    tags = require(ctx, "Tags")
    resource_type = str(ctx.inputs.get("ResourceType") or "EC2")
    aws = AwsSession(ctx)
    if resource_type == "EC2":
        await aws.call("ec2", "CreateTags", {"Resources": resource_ids, "Tags": tags})
    elif resource_type in _SSM_TYPES:
        if len(resource_ids) != 1:
            raise ActionFailure(f"ResourceType {resource_type} takes exactly one ResourceId, "
                                f"not {len(resource_ids)}", failure_type="Verification")
        await aws.call("ssm", "AddTagsToResource", {"ResourceType": resource_type,
                                                    "ResourceId": resource_ids[0], "Tags": tags})
    else:
        raise ActionFailure(f"ResourceType must be EC2, ManagedInstance, MaintenanceWindow or "
                            f"Parameter, not {resource_type!r}", failure_type="Verification")
    return ActionResult.success(response={})

"""aws:copyImage: copy an AMI from any Region into the execution's Region and wait for it.

Inputs: ``SourceRegion``, ``SourceImageId`` and ``ImageName`` (required), ``ImageDescription``,
``Encrypted``, ``KmsKeyId``, ``ClientToken``, and any other CopyImage parameter under its own
name. The copy is made with the execution's EC2 client (its Region is the destination); the
action then waits, as aws:createImage does, until the new image is ``available``. Outputs:
``ImageId`` and ``ImageState``.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    AwsSession,
    Deadline,
    as_bool,
    aws_action,
    optional_inputs,
    require,
)
from ssm_local.engine.automation.actions.create_image import image_result

__all__ = ["handler"]


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    for name in ("SourceRegion", "SourceImageId", "ImageName"):
        require(ctx, name)
    params = optional_inputs(ctx, {"ImageName": "Name", "ImageDescription": "Description"},
                             skip=("Encrypted",))
    if "Encrypted" in ctx.inputs:
        params["Encrypted"] = as_bool(ctx, "Encrypted")
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    response = await aws.call("ec2", "CopyImage", params)
    return await image_result(ctx, aws, str(response["ImageId"]), deadline)

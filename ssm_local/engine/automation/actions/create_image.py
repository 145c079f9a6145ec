"""aws:createImage: create an AMI from an EC2 instance and wait until it is available.

Inputs: ``InstanceId`` and ``ImageName`` (required), ``ImageDescription``, ``NoReboot``,
``BlockDeviceMappings``, and any other CreateImage parameter under its own name
(``TagSpecifications``...). After CreateImage the action polls DescribeImages every
``POLL_INTERVAL_SECONDS`` until the image is ``available``; an image that ends ``failed`` (or
``invalid``, ``error``, ``deregistered``) fails the step with EC2's state reason. Outputs:
``ImageId`` and ``ImageState``. ``wait_for_image`` is shared with aws:copyImage.
"""

from __future__ import annotations

from typing import Any

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    as_bool,
    aws_action,
    optional_inputs,
    require,
    wait_until,
)

__all__ = ["POLL_INTERVAL_SECONDS", "handler", "image_result", "wait_for_image"]

POLL_INTERVAL_SECONDS = 15.0
"""Time between two DescribeImages calls while the image is ``pending``."""

_FAILED_STATES = frozenset({"failed", "invalid", "error", "deregistered", "disabled"})


async def wait_for_image(ctx: ActionContext, aws: AwsSession, image_id: str,
                         deadline: Deadline) -> str:
    """Poll DescribeImages until ``image_id`` is ``available``; its final state."""

    async def poll() -> str | None:
        response = await aws.call("ec2", "DescribeImages", {"ImageIds": [image_id]})
        images = response.get("Images", [])
        if not images:
            ctx.log(f"{image_id} is not listed yet")
            return None
        state = str(images[0].get("State", ""))
        if state in _FAILED_STATES:
            reason = images[0].get("StateReason", {}).get("Message") or "no reason given"
            raise ActionFailure(f"image {image_id} is {state}: {reason}",
                                outputs={"ImageId": image_id, "ImageState": state})
        if state != "available":
            ctx.log(f"{image_id} is {state}")
            return None
        return state

    return await wait_until(ctx, poll, interval=POLL_INTERVAL_SECONDS, deadline=deadline,
                            waiting_for=f"image {image_id} to be available",
                            retry_codes=("InvalidAMIID.NotFound",))


async def image_result(ctx: ActionContext, aws: AwsSession, image_id: str,
                       deadline: Deadline) -> ActionResult:
    """Wait for the new image and report ``ImageId`` / ``ImageState`` either way."""
    outputs: dict[str, Any] = {"ImageId": image_id, "ImageState": "pending"}
    try:
        outputs["ImageState"] = await wait_for_image(ctx, aws, image_id, deadline)
    except ActionFailure as failure:
        failure.outputs = {**outputs, **failure.outputs}
        failure.response = failure.outputs
        raise
    return ActionResult.success(outputs, response=outputs)


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    require(ctx, "InstanceId")
    require(ctx, "ImageName")
    params = optional_inputs(ctx, {"ImageName": "Name", "ImageDescription": "Description"},
                             skip=("NoReboot",))
    if "NoReboot" in ctx.inputs:
        params["NoReboot"] = as_bool(ctx, "NoReboot")
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    response = await aws.call("ec2", "CreateImage", params)
    return await image_result(ctx, aws, str(response["ImageId"]), deadline)

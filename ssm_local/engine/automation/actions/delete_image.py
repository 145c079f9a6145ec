"""aws:deleteImage: deregister an AMI and delete the EBS snapshots behind it.

Input: ``ImageId`` (required). The action reads the image's block device mappings with
DescribeImages (a missing image fails the step with EC2's ``InvalidAMIID.NotFound``), calls
DeregisterImage, then DeleteSnapshot for each snapshot, as AWS documents ("the AMI and all
related snapshots"). A snapshot still ``InvalidSnapshot.InUse`` just after the deregistration is
retried every ``RETRY_INTERVAL_SECONDS`` until the step's timeout. No outputs.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import AwsSession, Deadline, aws_action, require, wait_until

__all__ = ["RETRY_INTERVAL_SECONDS", "handler"]

RETRY_INTERVAL_SECONDS = 2.0
"""Time between two DeleteSnapshot attempts while the snapshot is still in use."""

DEFAULT_TIMEOUT_SECONDS = 600.0
"""How long snapshot deletions are retried when the step sets no ``timeoutSeconds``."""


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    image_id = str(require(ctx, "ImageId"))
    deadline = Deadline.start(ctx, default=DEFAULT_TIMEOUT_SECONDS)
    aws = AwsSession(ctx)
    described = await aws.call("ec2", "DescribeImages", {"ImageIds": [image_id]})
    snapshots = [mapping["Ebs"]["SnapshotId"]
                 for image in described.get("Images", [])
                 for mapping in image.get("BlockDeviceMappings", [])
                 if mapping.get("Ebs", {}).get("SnapshotId")]
    await aws.call("ec2", "DeregisterImage", {"ImageId": image_id})
    for snapshot_id in snapshots:

        async def delete(snapshot_id: str = snapshot_id) -> bool:
            await aws.call("ec2", "DeleteSnapshot", {"SnapshotId": snapshot_id})
            return True

        await wait_until(ctx, delete, interval=RETRY_INTERVAL_SECONDS, deadline=deadline,
                         waiting_for=f"snapshot {snapshot_id} to be deletable",
                         retry_codes=("InvalidSnapshot.InUse",))
    ctx.log(f"deregistered {image_id}; deleted {', '.join(snapshots) or 'no snapshots'}")
    return ActionResult.success(response={"ImageId": image_id, "SnapshotIds": snapshots})

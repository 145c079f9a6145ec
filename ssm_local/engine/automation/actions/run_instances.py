"""aws:runInstances: launch EC2 instances and wait until they are running.

Inputs are RunInstances parameters with AWS's action names: ``ImageId`` (required),
``MinInstanceCount`` / ``MaxInstanceCount`` (MinCount / MaxCount, default 1),
``IamInstanceProfileName`` / ``IamInstanceProfileArn`` (IamInstanceProfile), ``Monitoring``
(a Boolean, sent as ``{Enabled: ...}``), ``UserData`` (already base64-encoded, as AWS requires)
and every other RunInstances parameter under its own name (``InstanceType``, ``SubnetId``,
``SecurityGroupIds``, ``TagSpecifications``, ``MetadataOptions``...). After the launch the action
waits, like aws:changeInstanceState with ``running``, for the state ``running`` and ``ok`` status
checks. Outputs: ``InstanceIds`` and ``InstanceStates`` (StringLists, in launch order).
"""

from __future__ import annotations

from typing import Any

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    aws_action,
    decode_base64,
    optional_inputs,
    require,
)
from ssm_local.engine.automation.actions.change_instance_state import wait_for_instances

__all__ = ["handler"]

_RENAMES = {"MinInstanceCount": "MinCount", "MaxInstanceCount": "MaxCount"}
_OWN_INPUTS = ("IamInstanceProfileName", "IamInstanceProfileArn", "Monitoring", "UserData")


def run_instances_params(ctx: ActionContext) -> dict[str, Any]:
    """The RunInstances parameters for the step's inputs."""
    require(ctx, "ImageId")
    params = optional_inputs(ctx, _RENAMES, skip=_OWN_INPUTS)
    for name in ("MinCount", "MaxCount"):
        value = params.get(name, 1)
        try:
            params[name] = int(value)
        except (TypeError, ValueError):
            raise ActionFailure(f"{ctx.action} input {name.replace('Count', 'InstanceCount')} "
                                f"must be a number, not {value!r}",
                                failure_type="Verification") from None
    profile = {key: ctx.inputs[name] for key, name in
               (("Arn", "IamInstanceProfileArn"), ("Name", "IamInstanceProfileName"))
               if ctx.inputs.get(name)}
    if profile:
        params["IamInstanceProfile"] = profile
    monitoring = ctx.inputs.get("Monitoring")
    if isinstance(monitoring, bool | str) and monitoring != "":
        params["Monitoring"] = {"Enabled": str(monitoring).lower() == "true"}
    elif isinstance(monitoring, dict):
        params["Monitoring"] = monitoring
    user_data = ctx.inputs.get("UserData")
    if user_data:
        # boto3 base64-encodes UserData itself; AWS's action takes it already encoded.
        params["UserData"] = decode_base64(ctx, "UserData", str(user_data))
    return params


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    params = run_instances_params(ctx)
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    response = await aws.call("ec2", "RunInstances", params)
    instance_ids = [instance["InstanceId"] for instance in response.get("Instances", [])]
    ctx.log(f"launched {', '.join(instance_ids)}")
    outputs: dict[str, Any] = {"InstanceIds": instance_ids,
                               "InstanceStates": [instance.get("State", {}).get("Name", "")
                                                  for instance in response.get("Instances", [])]}
    try:
        states = await wait_for_instances(ctx, aws, instance_ids, "running", deadline,
                                          retry_not_found=True)
    except ActionFailure as failure:
        failure.outputs = outputs
        failure.response = outputs
        raise
    outputs["InstanceStates"] = [states[iid] for iid in instance_ids]
    return ActionResult.success(outputs, response=outputs)

"""aws:executeAwsApi: call one AWS API operation through boto3 and return its response.

``Service`` is the boto3 client name (``ec2``, ``ssm``, ``cloudformation``...; the case does not
matter), ``Api`` the operation's PascalCase name (``DescribeInstances``), and every other input is
a parameter of the operation, passed as given. The step's response is the boto3 response,
``ResponseMetadata`` included, as JSON values (datetimes as ISO 8601 strings in UTC, blobs as
base64), so the step's declared output Selectors pick from it. The call is capped at 25 seconds;
an AWS error fails the step with AWS's error code and message; a streaming response (S3
GetObject) fails the step because streaming APIs are not supported.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import AwsSession, aws_action, optional_inputs, require

__all__ = ["handler"]


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    service = require(ctx, "Service")
    api = require(ctx, "Api")
    params = optional_inputs(ctx, {}, skip=("Service", "Api"))
    response = await AwsSession(ctx).call(service, api, params)
    return ActionResult.success(response=response)

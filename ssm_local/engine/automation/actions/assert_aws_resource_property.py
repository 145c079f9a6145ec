"""aws:assertAwsResourceProperty: call an AWS API once and check one property of the response.

Inputs are those of aws:executeAwsApi plus ``PropertySelector`` (a selector into the response)
and ``DesiredValues`` (a list of strings). The selected value is turned into text the way AWS
does (Python's ``str()``: ``True``/``False``, ``[]``) and must be one of ``DesiredValues``; a
selector that matches several values (a deep scan) needs every one of them to be. Otherwise the
step fails with FailureType ``Verification``, naming the value found.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import AwsSession, aws_action
from ssm_local.engine.automation.actions.wait_for_aws_resource_property import PropertyCheck

__all__ = ["handler"]


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    check = PropertyCheck.from_inputs(ctx)
    response = await AwsSession(ctx).call(check.service, check.api, check.params)
    verdict = check.judge(response)
    if verdict.satisfied:
        return ActionResult.success(response=response)
    return ActionResult.failed(verdict.explain(check), failure_type="Verification",
                               response=response)

"""aws:invokeLambdaFunction: invoke an AWS Lambda function and return what it returned.

Inputs: ``FunctionName`` (required), ``Qualifier``, ``InvocationType`` (``RequestResponse``, the
default, ``Event`` or ``DryRun``), ``LogType`` (``Tail`` by default for ``RequestResponse``,
``None``), ``ClientContext`` (a map is sent as base64 JSON, a string as given), and the input:
``InputPayload`` (a map, sent as JSON; it wins over ``Payload``) or ``Payload`` (a JSON string).
The invocation is capped at 300 seconds (AWS's limit, or the step's ``timeoutSeconds`` if lower).

Outputs: ``StatusCode``, ``Payload`` (the JSON text the function returned, unchanged),
``LogResult`` (base64, as Lambda sends it) and ``FunctionError`` when Lambda reports one. A
function error (``Handled`` or ``Unhandled``) fails the step, outputs included, so that
``onFailure`` can react, as AWS-owned runbooks rely on. The step's response, which declared output
Selectors read, is the function's returned JSON value (``$.status`` picks ``status`` from the
object the function returned), or null when the payload is not JSON.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import AwsSession, aws_action, optional_inputs, require

__all__ = ["CALL_TIMEOUT_SECONDS", "handler"]

CALL_TIMEOUT_SECONDS = 300.0
"""AWS's limit for one aws:invokeLambdaFunction step."""

_ERROR_EXCERPT = 1000


def invoke_params(ctx: ActionContext) -> dict[str, Any]:
    """The Lambda Invoke parameters for the step's inputs."""
    require(ctx, "FunctionName")
    params = optional_inputs(ctx, {}, skip=("InputPayload", "Payload", "ClientContext"))
    params.setdefault("InvocationType", "RequestResponse")
    if params["InvocationType"] == "RequestResponse":
        params.setdefault("LogType", "Tail")
    payload = ctx.inputs.get("InputPayload")
    if payload is None:
        payload = ctx.inputs.get("Payload")
    if payload is not None:
        params["Payload"] = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    context = ctx.inputs.get("ClientContext")
    if isinstance(context, dict):
        params["ClientContext"] = base64.b64encode(json.dumps(context).encode()).decode("ascii")
    elif context:
        params["ClientContext"] = str(context)
    return params


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    params = invoke_params(ctx)
    limit = min(float(ctx.timeout_seconds or CALL_TIMEOUT_SECONDS), CALL_TIMEOUT_SECONDS)
    aws = AwsSession(ctx)
    response = await aws.call("lambda", "Invoke", params, timeout=limit, raw=True)
    stream = response.get("Payload")
    raw = await aws.run(stream.read, limit, "Invoke payload") if stream is not None else b""
    payload = raw.decode("utf-8", errors="replace")
    outputs: dict[str, Any] = {"StatusCode": response.get("StatusCode"), "Payload": payload}
    for name in ("FunctionError", "LogResult"):
        if response.get(name) is not None:
            outputs[name] = response[name]
    try:
        returned = json.loads(payload) if payload else None
    except ValueError:
        returned = None
    error = outputs.get("FunctionError")
    if error:
        excerpt = payload if len(payload) <= _ERROR_EXCERPT else payload[:_ERROR_EXCERPT] + "..."
        return ActionResult.failed(
            f"Lambda function {params['FunctionName']} returned a {error} error: {excerpt}",
            outputs=outputs, response=returned)
    return ActionResult.success(outputs, response=returned)

"""``aws:executeAutomation``: run a child Automation execution (a nested runbook) and wait for it.

Inputs: ``DocumentName``, ``DocumentVersion``, ``RuntimeParameters`` (values as lists or native),
and for a rate-controlled run ``TargetParameterName`` with ``Targets`` (``ParameterValues``, or
``tag:KEY`` resolved with EC2 DescribeInstances) or ``TargetMaps`` (one parameter map per child),
with ``MaxConcurrency`` (default 10) and ``MaxErrors`` (default 0) counted as Run Command counts
them. Outputs: ``ExecutionId``, ``Status`` and ``Output`` (the child's declared outputs, in
order; for several children, their ids and statuses). The step succeeds when every child does
and the error threshold is not passed. Cancelling the step stops the children. Children start
through ``ctx.automations``, an ``AutomationStarter`` (the Automation service running the
parent); without one the step fails. A missing ``DocumentName`` fails the step before any start.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ssm_local.engine.automation.actions import (
    ActionContext,
    ActionResult,
    AutomationStarter,
    cancelled,
    missing_input,
)
from ssm_local.engine.ratecontrol import RateController
from ssm_local.grammar.errors import SsmLocalError

DEFAULT_CONCURRENCY = 10


def _target_values(ctx: ActionContext, targets: Any) -> list[str]:
    values: list[str] = []
    for target in targets if isinstance(targets, list) else [targets]:
        if not isinstance(target, dict):
            continue
        key = str(target.get("Key", ""))
        wanted = target.get("Values") or []
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if key == "ParameterValues":
            values.extend(str(v) for v in wanted)
        elif key.startswith("tag:") or key == "AWS::EC2::Instance":
            filters = ([{"Name": key, "Values": [str(v) for v in wanted]}]
                       if key.startswith("tag:") else [])
            pages = ctx.clients("ec2").get_paginator("describe_instances").paginate(
                Filters=filters)
            for page in pages:
                for reservation in page.get("Reservations", []):
                    values.extend(i["InstanceId"] for i in reservation.get("Instances", []))
        else:
            raise ValueError(f"target key {key!r} is not supported by ssm-local (use "
                             "ParameterValues, tag:KEY or AWS::EC2::Instance)")
    return list(dict.fromkeys(values))


async def _child(ctx: ActionContext, service: AutomationStarter, name: str,
                 version: str | None, parameters: dict[str, Any]) -> dict[str, Any]:
    handle = service.start(name, parameters, document_version=version,
                           parent_execution_id=ctx.execution_id,
                           aws_endpoint_url=ctx.aws_endpoint_url)
    run = asyncio.ensure_future(handle.run())
    cancel = asyncio.ensure_future(ctx.cancel.wait())
    await asyncio.wait({run, cancel}, return_when=asyncio.FIRST_COMPLETED)
    cancel.cancel()
    if not run.done():
        service.stop(handle.execution_id)
        await run
    execution: dict[str, Any] = run.result()
    return execution


async def handler(ctx: ActionContext) -> ActionResult:
    if ctx.cancel.is_set():
        return cancelled(ctx)
    missing = missing_input(ctx, "DocumentName")
    if missing is not None:
        return missing
    service = ctx.automations
    if service is None:
        return ActionResult.failed("aws:executeAutomation needs ssm-local's Automation service",
                                   failure_type="Verification")
    inputs = ctx.inputs
    name = str(inputs["DocumentName"])
    version = inputs.get("DocumentVersion")
    version = None if version in (None, "", "$DEFAULT") else str(version)
    base = dict(inputs.get("RuntimeParameters") or {})
    try:
        if "TargetMaps" in inputs or "TargetParameterName" in inputs:
            return await _rate_controlled(ctx, service, name, version, base)
        execution = await _child(ctx, service, name, version, base)
    except (SsmLocalError, ValueError) as exc:
        message = exc.message if isinstance(exc, SsmLocalError) else str(exc)
        return ActionResult.failed(f"StartAutomationExecution failed: {message}",
                                   failure_type="Verification")
    status = execution["AutomationExecutionStatus"]
    output = [v for values in execution.get("Outputs", {}).values() for v in values]
    outputs = {"ExecutionId": execution["AutomationExecutionId"], "Status": status,
               "Output": output}
    if ctx.cancel.is_set():
        return ActionResult("Cancelled", outputs, execution, "the child execution was stopped")
    if status != "Success":
        return ActionResult.failed(
            f"child execution {execution['AutomationExecutionId']} ended {status}: "
            f"{execution.get('FailureMessage', '')}", outputs=outputs, response=execution)
    return ActionResult.success(outputs, response=execution)


async def _rate_controlled(ctx: ActionContext, service: AutomationStarter, name: str,
                           version: str | None, base: dict[str, Any]) -> ActionResult:
    inputs = ctx.inputs
    maps: list[dict[str, Any]]
    if "TargetMaps" in inputs:
        maps = [dict(m) for m in inputs.get("TargetMaps") or []]
    else:
        parameter = str(inputs["TargetParameterName"])
        maps = [{parameter: [value]} for value in _target_values(ctx, inputs.get("Targets"))]
    if not maps:
        return ActionResult.failed("the targets resolved to nothing", failure_type="Verification")
    keys = [f"child-{i}" for i in range(len(maps))]
    control = RateController(keys, max_concurrency=inputs.get("MaxConcurrency",
                                                              DEFAULT_CONCURRENCY),
                             max_errors=inputs.get("MaxErrors"))
    running: dict[asyncio.Future[dict[str, Any]], str] = {}
    results: dict[str, dict[str, Any]] = {}
    while not control.finished:
        for key in control.next_targets():
            parameters = {**base, **maps[keys.index(key)]}
            running[asyncio.ensure_future(_child(ctx, service, name, version, parameters))] = key
        if not running:
            break
        done, _ = await asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            key = running.pop(future)
            execution = future.result()
            results[key] = execution
            status = execution["AutomationExecutionStatus"]
            control.complete(key, {"Success": "Success", "TimedOut": "Execution Timed Out",
                                   "Cancelled": "Cancelled"}.get(status, "Failed"))
    state = control.state()
    ids = [results[k]["AutomationExecutionId"] for k in keys if k in results]
    outputs = {"ExecutionId": ids[0] if ids else "", "Status": state.status, "Output": [
        f"{results[k]['AutomationExecutionId']}:{results[k]['AutomationExecutionStatus']}"
        for k in keys if k in results]}
    response = {"Executions": [results[k] for k in keys if k in results]}
    if state.status != "Success":
        return ActionResult.failed(
            f"{sum(1 for r in results.values() if r['AutomationExecutionStatus'] != 'Success')} "
            f"of {len(keys)} child executions did not succeed ({state.status_details})",
            outputs=outputs, response=response)
    return ActionResult.success(outputs, response=response)

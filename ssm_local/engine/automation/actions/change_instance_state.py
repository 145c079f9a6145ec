"""aws:changeInstanceState: start, stop or terminate EC2 instances, or assert their state.

``InstanceIds`` (StringList) and ``DesiredState`` (``running`` | ``stopped`` | ``terminated``)
are required. Unless ``CheckStateOnly`` is true the action calls StartInstances (with
``AdditionalInfo``), StopInstances (with ``Force``) or TerminateInstances; then, in both modes,
it polls DescribeInstances every ``POLL_INTERVAL_SECONDS`` until every instance is in the desired
state, and for ``running`` also until DescribeInstanceStatus reports the instance and system
status ``ok``, as AWS documents. An instance in a state from which the desired one cannot be
reached (``terminated`` or ``shutting-down`` when waiting for ``running`` or ``stopped``; also
``stopped`` while waiting for ``running`` with ``FailOnUnexpectedStopped: true``) fails the step
at once. The default timeout is 3600 seconds. No outputs. ``wait_for_instances`` is shared with
aws:runInstances.
"""

from __future__ import annotations

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    as_bool,
    as_string_list,
    aws_action,
    require,
    wait_until,
)

__all__ = ["POLL_INTERVAL_SECONDS", "handler", "wait_for_instances"]

POLL_INTERVAL_SECONDS = 5.0
"""Time between two DescribeInstances / DescribeInstanceStatus calls while waiting."""

_CHANGE_API = {"running": "StartInstances", "stopped": "StopInstances",
               "terminated": "TerminateInstances"}
_DEAD_ENDS = {"running": {"shutting-down", "terminated"},
              "stopped": {"shutting-down", "terminated"}, "terminated": set()}


async def wait_for_instances(ctx: ActionContext, aws: AwsSession, instance_ids: list[str],
                             desired: str, deadline: Deadline, *, fail_on_stopped: bool = False,
                             retry_not_found: bool = False) -> dict[str, str]:
    """Poll until every instance is ``desired`` (and status-checked ``ok`` for ``running``);
    the final state of each instance. ``retry_not_found`` tolerates EC2's eventual consistency
    right after RunInstances."""
    dead_ends = set(_DEAD_ENDS[desired]) | ({"stopped"} if fail_on_stopped else set())

    async def poll() -> dict[str, str] | None:
        response = await aws.call("ec2", "DescribeInstances", {"InstanceIds": instance_ids})
        states = {instance["InstanceId"]: instance["State"]["Name"]
                  for reservation in response.get("Reservations", [])
                  for instance in reservation.get("Instances", [])}
        stuck = [f"{iid} is {state}" for iid, state in states.items() if state in dead_ends]
        if stuck:
            raise ActionFailure(f"instances cannot become {desired}: {', '.join(stuck)}")
        pending = [f"{iid} is {states.get(iid, 'not listed')}" for iid in instance_ids
                   if states.get(iid) != desired]
        if pending:
            ctx.log(f"waiting for {desired}: {', '.join(pending)}")
            return None
        if desired == "running" and not await _status_ok(ctx, aws, instance_ids):
            return None
        return states

    return await wait_until(
        ctx, poll, interval=POLL_INTERVAL_SECONDS, deadline=deadline,
        waiting_for=f"instances {', '.join(instance_ids)} to be {desired}",
        retry_codes=("InvalidInstanceID.NotFound",) if retry_not_found else ())


async def _status_ok(ctx: ActionContext, aws: AwsSession, instance_ids: list[str]) -> bool:
    response = await aws.call("ec2", "DescribeInstanceStatus",
                              {"InstanceIds": instance_ids, "IncludeAllInstances": True})
    checks = {status["InstanceId"]: (status.get("InstanceStatus", {}).get("Status"),
                                     status.get("SystemStatus", {}).get("Status"))
              for status in response.get("InstanceStatuses", [])}
    waiting = [f"{iid} instance status {checks.get(iid, (None, None))[0]}, system status "
               f"{checks.get(iid, (None, None))[1]}" for iid in instance_ids
               if checks.get(iid) != ("ok", "ok")]
    if waiting:
        ctx.log(f"waiting for status checks: {'; '.join(waiting)}")
    return not waiting


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    instance_ids = as_string_list(ctx, "InstanceIds")
    desired = str(require(ctx, "DesiredState")).strip().lower()
    if desired not in _CHANGE_API:
        raise ActionFailure(f"DesiredState must be running, stopped or terminated, not "
                            f"{ctx.inputs['DesiredState']!r}", failure_type="Verification")
    deadline = Deadline.start(ctx)
    aws = AwsSession(ctx)
    if not as_bool(ctx, "CheckStateOnly"):
        params: dict[str, object] = {"InstanceIds": instance_ids}
        if desired == "running" and ctx.inputs.get("AdditionalInfo"):
            params["AdditionalInfo"] = ctx.inputs["AdditionalInfo"]
        if desired == "stopped" and as_bool(ctx, "Force"):
            params["Force"] = True
        await aws.call("ec2", _CHANGE_API[desired], params)
    await wait_for_instances(ctx, aws, instance_ids, desired, deadline,
                             fail_on_stopped=desired == "running"
                             and as_bool(ctx, "FailOnUnexpectedStopped"))
    return ActionResult.success(response={})

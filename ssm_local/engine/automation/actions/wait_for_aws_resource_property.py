"""aws:waitForAwsResourceProperty: poll an AWS API until one property has a desired value.

Inputs are those of aws:executeAwsApi plus ``PropertySelector`` and ``DesiredValues``, as for
aws:assertAwsResourceProperty (``PropertyCheck`` here is shared by both). The API is called at
once and then every ``POLL_INTERVAL_SECONDS`` on the injected clock until the selected value is
one of ``DesiredValues``; the step then succeeds with the last response. Past the step's
``timeoutSeconds`` (AWS's default for this action: 3600) it ends ``TimedOut`` naming the last
value seen. An AWS error fails the step at once, except throttling, which is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    AwsSession,
    Deadline,
    aws_action,
    optional_inputs,
    property_text,
    require,
    wait_until,
)
from ssm_local.grammar import Selector, SelectorSyntaxError, evaluate_selector, parse_selector

__all__ = ["POLL_INTERVAL_SECONDS", "PropertyCheck", "Verdict", "handler"]

POLL_INTERVAL_SECONDS = 5.0
"""Time between two calls while the property does not have a desired value yet."""

_OWN_INPUTS = ("Service", "Api", "PropertySelector", "DesiredValues")


@dataclass(frozen=True)
class Verdict:
    """What the selector found in one response and whether it is a desired value."""

    found: tuple[str, ...]
    satisfied: bool

    def explain(self, check: PropertyCheck) -> str:
        desired = ", ".join(repr(value) for value in check.desired)
        if not self.found:
            return (f"PropertySelector {check.selector_text} matched nothing in the "
                    f"{check.api} response; DesiredValues are [{desired}]")
        values = ", ".join(repr(value) for value in self.found)
        return (f"PropertySelector {check.selector_text} is {values} in the {check.api} response, "
                f"not one of the DesiredValues [{desired}]")


@dataclass(frozen=True)
class PropertyCheck:
    """The inputs shared by aws:waitForAwsResourceProperty and aws:assertAwsResourceProperty."""

    service: str
    api: str
    params: Mapping[str, Any]
    selector_text: str
    selector: Selector
    desired: tuple[str, ...]

    @classmethod
    def from_inputs(cls, ctx: ActionContext) -> PropertyCheck:
        selector_text = str(require(ctx, "PropertySelector"))
        try:
            selector = parse_selector(selector_text)
        except SelectorSyntaxError as exc:
            raise ActionFailure(f"PropertySelector {selector_text!r} is not a valid selector: "
                                f"{exc}", failure_type="Verification") from None
        desired = require(ctx, "DesiredValues")
        values = desired if isinstance(desired, list) else [desired]
        return cls(service=str(require(ctx, "Service")), api=str(require(ctx, "Api")),
                   params=optional_inputs(ctx, {}, skip=_OWN_INPUTS),
                   selector_text=selector_text, selector=selector,
                   desired=tuple(property_text(value) for value in values))

    def judge(self, response: Any) -> Verdict:
        found = tuple(property_text(value) for value in evaluate_selector(self.selector, response))
        return Verdict(found, bool(found) and all(value in self.desired for value in found))


@aws_action
async def handler(ctx: ActionContext) -> ActionResult:
    check = PropertyCheck.from_inputs(ctx)
    aws = AwsSession(ctx)
    last: list[Verdict] = []

    async def poll() -> Any:
        response = await aws.call(check.service, check.api, check.params)
        verdict = check.judge(response)
        last[:] = [verdict]
        if verdict.satisfied:
            return response
        ctx.log(verdict.explain(check))
        return None

    desired = ", ".join(check.desired)
    try:
        response = await wait_until(ctx, poll, interval=POLL_INTERVAL_SECONDS,
                                    deadline=Deadline.start(ctx),
                                    waiting_for=f"{check.selector_text} to be one of [{desired}]")
    except ActionFailure as failure:
        if failure.status == "TimedOut" and last:
            failure.message += f"; last: {last[0].explain(check)}"
        raise
    return ActionResult.success(response=response)

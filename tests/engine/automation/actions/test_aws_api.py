"""The shared AWS plumbing: names, JSON-safe responses, error translation, caps and cancellation."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody

from ssm_local.engine.automation.actions import BUILTIN_ACTIONS, ActionResult, aws_api
from ssm_local.engine.automation.actions.aws_api import (
    ActionFailure,
    json_safe,
    operation_name,
    property_text,
    service_name,
)

from .conftest import CREDENTIALS, REGION, RecordingClock, Step, Stubbed


@pytest.mark.parametrize(("value", "expected"), [
    (datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC), "2026-03-01T12:30:05+00:00"),
    (datetime(2026, 3, 1, 14, 30, 5, 250000, tzinfo=timezone(timedelta(hours=2))),
     "2026-03-01T12:30:05.250000+00:00"),
    (datetime(2026, 3, 1, 12, 30), "2026-03-01T12:30:00"),
    (date(2026, 3, 1), "2026-03-01"),
    (Decimal("3"), 3),
    (Decimal("2.5"), 2.5),
    (b"\x00\xffhi", "AP9oaQ=="),
    ({"a": [1, (2, None)], 3: True}, {"a": [1, [2, None]], "3": True}),
])
def test_json_safe(value: Any, expected: Any) -> None:
    assert json_safe(value) == expected
    json.dumps(json_safe(value))


def test_json_safe_refuses_streams() -> None:
    body = StreamingBody(io.BytesIO(b"data"), 4)
    with pytest.raises(ActionFailure) as caught:
        json_safe({"Body": body}, "s3.GetObject")
    assert caught.value.message == ("s3.GetObject returns a stream: streaming APIs are not "
                                    "supported by aws:executeAwsApi")


@pytest.mark.parametrize(("value", "text"), [
    (True, "True"), (False, "False"), ([], "[]"), (3, "3"), (2.5, "2.5"), ("running", "running"),
    (None, "None"), ({"a": 1}, "{'a': 1}"),
])
def test_property_text_is_python_str(value: Any, text: str) -> None:
    assert property_text(value) == text


@pytest.mark.parametrize(("given", "name"), [
    ("ec2", "ec2"), ("SQS", "sqs"), (" cloudformation ", "cloudformation"), ("lambda", "lambda"),
])
def test_service_names(given: str, name: str) -> None:
    assert service_name(given) == name


def test_unknown_service_suggests_close_names() -> None:
    with pytest.raises(ActionFailure) as caught:
        service_name("ec3")
    assert caught.value.failure_type == "Verification"
    assert caught.value.message.startswith("Service 'ec3' is not an AWS service that botocore ")
    assert "ec2" in caught.value.message.partition("did you mean ")[2]


@pytest.mark.parametrize("api", ["DescribeInstances", "describe_instances", "describeInstances",
                                 "DESCRIBEINSTANCES"])
def test_api_names(api: str) -> None:
    client = boto3.client("ec2", region_name=REGION, **CREDENTIALS)
    assert operation_name(client, "ec2", api) == "DescribeInstances"


def test_unknown_api_suggests_operations() -> None:
    client = boto3.client("ec2", region_name=REGION, **CREDENTIALS)
    with pytest.raises(ActionFailure) as caught:
        operation_name(client, "ec2", "DescribeInstance")
    assert caught.value.message.startswith(
        "Api 'DescribeInstance' is not an operation of Service 'ec2'; did you mean ")
    assert "DescribeInstances" in caught.value.message


def _slow(stubbed: Stubbed, seconds: float) -> None:
    """Make ec2 DescribeInstances take ``seconds`` of real time before its stubbed answer."""
    client = stubbed("ec2")
    client.meta.events.register_first("before-parameter-build.ec2.DescribeInstances",
                                      lambda **_: time.sleep(seconds))
    stubbed.respond("ec2", "DescribeInstances", {"Reservations": []})


def test_a_call_over_its_cap_fails(stub_step: Step, stubbed: Stubbed,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_api, "CALL_TIMEOUT_SECONDS", 0.05)
    _slow(stubbed, 0.3)
    result = stub_step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "the DescribeInstances call did not complete within 0.05 seconds")


def test_cancel_during_a_call(stub_step: Step, stubbed: Stubbed) -> None:
    _slow(stubbed, 0.3)

    def cancel_soon(ctx: Any) -> None:
        asyncio.get_running_loop().call_later(0.05, ctx.cancel.set)

    started = time.monotonic()
    result = stub_step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"},
                           before=cancel_soon)
    assert result == ActionResult("Cancelled", failure_message="aws:executeAwsApi was cancelled")
    assert time.monotonic() - started < 5


def test_cancelled_before_start_calls_nothing(stub_step: Step, stubbed: Stubbed) -> None:
    result = stub_step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"},
                           before=lambda ctx: ctx.cancel.set())
    assert result.status == "Cancelled"
    assert stubbed.clients == {}


def test_unreachable_endpoint(clock: RecordingClock) -> None:
    def clients(service: str) -> Any:
        return boto3.client(service, endpoint_url="http://127.0.0.1:9", region_name=REGION,
                            config=Config(retries={"max_attempts": 1}, connect_timeout=2),
                            **CREDENTIALS)

    result = Step(clients, clock).run("aws:executeAwsApi",
                                      {"Service": "ec2", "Api": "DescribeInstances"})
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith(
        "An error occurred (EndpointConnectionError) when calling the DescribeInstances "
        "operation: Could not connect to the endpoint URL: ")


@pytest.mark.parametrize(("code", "failure_type"), [
    ("UnauthorizedOperation", "Permission"), ("AccessDeniedException", "Permission"),
    ("RequestLimitExceeded", "Throttling"), ("InvalidParameterValue", "Unknown"),
])
def test_error_codes_give_failure_types(stub_step: Step, stubbed: Stubbed, code: str,
                                        failure_type: str) -> None:
    stubbed.fail("ec2", "DescribeInstances", code, "nope")
    result = stub_step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"})
    assert result.status == "Failed"
    assert result.failure_type == failure_type
    assert result.failure_message == (
        f"An error occurred ({code}) when calling the DescribeInstances operation: nope")


AWS_ACTIONS = ["aws:executeAwsApi", "aws:waitForAwsResourceProperty",
               "aws:assertAwsResourceProperty", "aws:changeInstanceState", "aws:createTags",
               "aws:createImage", "aws:deleteImage", "aws:runInstances", "aws:copyImage",
               "aws:createStack", "aws:deleteStack", "aws:invokeLambdaFunction"]


@pytest.mark.parametrize("action", AWS_ACTIONS)
def test_every_aws_action_is_registered(action: str) -> None:
    handler = BUILTIN_ACTIONS[action]
    assert handler is not None and inspect.iscoroutinefunction(handler)


def test_an_unexpected_exception_is_an_internal_failure(clock: RecordingClock) -> None:
    def clients(service: str) -> Any:
        raise RuntimeError("no clients here")

    result = Step(clients, clock).run("aws:executeAwsApi",
                                      {"Service": "ec2", "Api": "DescribeInstances"})
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Internal", "aws:executeAwsApi failed unexpectedly: RuntimeError: no clients here")


def test_runner_timeout_cancels_a_call_cleanly(stub_step: Step, stubbed: Stubbed) -> None:
    """The runner enforces timeoutSeconds by cancelling the handler task: nothing leaks."""
    _slow(stubbed, 0.2)
    handler = BUILTIN_ACTIONS["aws:executeAwsApi"]
    assert handler is not None
    ctx = stub_step.context("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"})

    async def run() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handler(ctx), 0.05)

    asyncio.run(run())


def test_virtual_time_stands_still_during_a_call(stubbed: Stubbed) -> None:
    """With the runner's fake clock, a call in its thread is real work: the clock must not skip
    to the step's timeout while the loop waits for it (that timed out every AWS step)."""
    from ssm_local.engine.clock import FakeClock as RunnerClock

    _slow(stubbed, 0.2)
    handler = BUILTIN_ACTIONS["aws:executeAwsApi"]
    assert handler is not None
    clock = RunnerClock()
    ctx = Step(stubbed, clock).context(
        "aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances"})

    async def run() -> tuple[ActionResult, bool]:
        timeout = asyncio.ensure_future(clock.sleep(3600))
        result = await handler(ctx)
        fired = timeout.done()
        timeout.cancel()
        return result, fired

    start = clock.now()
    result, fired = asyncio.run(run())
    assert result.status == "Success"
    assert not fired
    assert clock.now() == start

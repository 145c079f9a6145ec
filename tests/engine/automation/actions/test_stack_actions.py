"""aws:createStack and aws:deleteStack against moto's CloudFormation and stubs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssm_local.engine.automation.actions.create_stack import POLL_INTERVAL_SECONDS

from .conftest import Moto, RecordingClock, Step, Stubbed

QUEUE_TEMPLATE = {
    "Parameters": {"QueueName": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue",
                            "Properties": {"QueueName": {"Ref": "QueueName"}}}},
}
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"


def stack(status: str, reason: str | None = None, name: str = "s") -> dict[str, Any]:
    described: dict[str, Any] = {"StackId": STACK_ID, "StackName": name, "StackStatus": status,
                                 "CreationTime": "2026-01-01T00:00:00Z"}
    if reason:
        described["StackStatusReason"] = reason
    return {"Stacks": [described]}


def missing(stubbed: Stubbed, name: str = "s") -> None:
    stubbed.fail("cloudformation", "DescribeStacks", "ValidationError",
                 f"Stack with id {name} does not exist")


def test_create_stack(step: Step, moto: Moto) -> None:
    result = step.run("aws:createStack", {
        "StackName": "queue-stack", "TemplateBody": json.dumps(QUEUE_TEMPLATE),
        "Parameters": [{"ParameterKey": "QueueName", "ParameterValue": "runbook-queue"}],
        "Capabilities": "CAPABILITY_IAM", "Tags": [{"Key": "owner", "Value": "ops"}]})
    assert result.status == "Success", result.failure_message
    assert result.outputs["StackStatus"] == "CREATE_COMPLETE"
    assert result.outputs["StackId"].startswith(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/queue-stack/")
    assert set(result.outputs) == {"StackId", "StackStatus", "StackStatusReason"}
    assert result.response == result.outputs
    urls = moto.client("sqs").list_queues()["QueueUrls"]
    assert [url.rsplit("/", 1)[1] for url in urls] == ["runbook-queue"]


def test_template_body_as_a_map(step: Step, moto: Moto) -> None:
    result = step.run("aws:createStack", {
        "StackName": "map-stack", "TemplateBody": QUEUE_TEMPLATE,
        "Parameters": [{"ParameterKey": "QueueName", "ParameterValue": "from-map"}]})
    assert result.status == "Success", result.failure_message


def test_stack_that_already_exists(step: Step, moto: Moto) -> None:
    inputs = {"StackName": "twice", "TemplateBody": json.dumps(QUEUE_TEMPLATE),
              "Parameters": [{"ParameterKey": "QueueName", "ParameterValue": "q"}]}
    assert step.run("aws:createStack", inputs).status == "Success"
    result = step.run("aws:createStack", inputs)
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith(
        "An error occurred (AlreadyExistsException) when calling the CreateStack operation")


def test_create_stack_polls_and_reports_failure(stub_step: Step, stubbed: Stubbed,
                                                clock: RecordingClock) -> None:
    missing(stubbed)
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID}, {
        "StackName": "s", "TemplateBody": "{}", "OnFailure": "ROLLBACK",
        "Parameters": [{"ParameterKey": "Flag", "ParameterValue": "true"},
                       {"ParameterKey": "Ids", "ParameterValue": "a,b"},
                       {"ParameterKey": "Size", "ParameterValue": "3"},
                       {"ParameterKey": "Old", "UsePreviousValue": True}]})
    stubbed.respond("cloudformation", "DescribeStacks", stack("CREATE_IN_PROGRESS"),
                    {"StackName": STACK_ID})
    stubbed.respond("cloudformation", "DescribeStacks",
                    stack("ROLLBACK_IN_PROGRESS", "The following resource(s) failed: Queue"))
    stubbed.respond("cloudformation", "DescribeStacks",
                    stack("ROLLBACK_COMPLETE", "The following resource(s) failed: Queue"))
    result = stub_step.run("aws:createStack", {
        "StackName": "s", "TemplateBody": "{}", "OnFailure": "ROLLBACK",
        "Parameters": [{"ParameterKey": "Flag", "ParameterValue": True},
                       {"ParameterKey": "Ids", "ParameterValue": ["a", "b"]},
                       {"ParameterKey": "Size", "ParameterValue": 3},
                       {"ParameterKey": "Old", "UsePreviousValue": True}]})
    assert result.status == "Failed"
    assert result.failure_message == (
        "stack s ended ROLLBACK_COMPLETE: The following resource(s) failed: Queue")
    assert result.outputs == {"StackId": STACK_ID, "StackStatus": "ROLLBACK_COMPLETE",
                              "StackStatusReason": "The following resource(s) failed: Queue"}
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 2
    stubbed.assert_done()


def test_create_stack_deleted_on_failure(stub_step: Step, stubbed: Stubbed) -> None:
    missing(stubbed)
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID})
    missing(stubbed, STACK_ID)
    result = stub_step.run("aws:createStack", {"StackName": "s", "TemplateURL": "https://x/t",
                                               "OnFailure": "DELETE"})
    assert result.status == "Failed"
    assert result.failure_message == "stack s was deleted before its creation completed"
    assert result.outputs == {"StackId": STACK_ID, "StackStatus": "", "StackStatusReason": ""}


def test_retry_replaces_a_rolled_back_stack(stub_step: Step, stubbed: Stubbed,
                                            clock: RecordingClock) -> None:
    stubbed.respond("cloudformation", "DescribeStacks", stack("ROLLBACK_IN_PROGRESS"))
    stubbed.respond("cloudformation", "DescribeStacks", stack("ROLLBACK_COMPLETE"))
    stubbed.respond("cloudformation", "DeleteStack", {}, {"StackName": STACK_ID})
    stubbed.respond("cloudformation", "DescribeStacks", stack("DELETE_COMPLETE"))
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID + "-2"})
    stubbed.respond("cloudformation", "DescribeStacks", stack("CREATE_COMPLETE"),
                    {"StackName": STACK_ID + "-2"})
    result = stub_step.run("aws:createStack", {"StackName": "s", "TemplateBody": "{}"})
    assert result.status == "Success", result.failure_message
    assert result.outputs["StackId"] == STACK_ID + "-2"
    assert clock.sleeps == [POLL_INTERVAL_SECONDS]
    assert ("deleting stack s, left in ROLLBACK_COMPLETE by an earlier attempt"
            in stub_step.logs)
    stubbed.assert_done()


def test_create_stack_times_out(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    missing(stubbed)
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID})
    for _ in range(5):
        stubbed.respond("cloudformation", "DescribeStacks", stack("CREATE_IN_PROGRESS"))
    result = stub_step.run("aws:createStack", {"StackName": "s", "TemplateBody": "{}"},
                           timeout_seconds=60)
    assert result.status == "TimedOut"
    assert result.failure_message == ("timed out after 60 seconds (5 checks) waiting for stack s "
                                      "to be created")
    assert result.outputs == {"StackId": STACK_ID}


def test_create_stack_cancelled(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    missing(stubbed)
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID})
    for _ in range(2):
        stubbed.respond("cloudformation", "DescribeStacks", stack("CREATE_IN_PROGRESS"))

    def cancel(count: int) -> None:
        if stub_step.cancel is not None:
            stub_step.cancel.set()

    clock.on_sleep = cancel
    result = stub_step.run("aws:createStack", {"StackName": "s", "TemplateBody": "{}"})
    assert result.status == "Cancelled"


def test_create_stack_needs_a_name(stub_step: Step) -> None:
    result = stub_step.run("aws:createStack", {"TemplateBody": "{}"})
    assert result.failure_message == "aws:createStack needs the input StackName"


def test_delete_stack(step: Step, moto: Moto) -> None:
    cloudformation = moto.client("cloudformation")
    cloudformation.create_stack(StackName="doomed", TemplateBody=json.dumps(QUEUE_TEMPLATE),
                                Parameters=[{"ParameterKey": "QueueName",
                                             "ParameterValue": "doomed-queue"}])
    result = step.run("aws:deleteStack", {"StackName": "doomed"})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {}
    assert moto.client("sqs").list_queues().get("QueueUrls", []) == []
    assert [summary["StackStatus"] for summary in cloudformation.list_stacks()["StackSummaries"]
            ] == ["DELETE_COMPLETE"]


@pytest.mark.parametrize("name", ["never-created", STACK_ID])
def test_delete_missing_stack_succeeds(step: Step, name: str) -> None:
    result = step.run("aws:deleteStack", {"StackName": name})
    assert result.status == "Success", result.failure_message
    assert step.logs[-1] == f"stack {name} does not exist: nothing to delete"


def test_delete_stack_that_fails(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    stubbed.respond("cloudformation", "DescribeStacks", stack("CREATE_COMPLETE"),
                    {"StackName": "s"})
    stubbed.respond("cloudformation", "DeleteStack", {}, {
        "StackName": STACK_ID, "RoleARN": "arn:aws:iam::123456789012:role/cfn-role-x",
        "ClientRequestToken": "token"})
    stubbed.respond("cloudformation", "DescribeStacks", stack("DELETE_IN_PROGRESS"))
    stubbed.respond("cloudformation", "DescribeStacks",
                    stack("DELETE_FAILED", "The bucket you tried to delete is not empty"))
    result = stub_step.run("aws:deleteStack", {
        "StackName": "s", "RoleARN": "arn:aws:iam::123456789012:role/cfn-role-x",
        "ClientRequestToken": "token"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "stack s ended DELETE_FAILED: The bucket you tried to delete is not empty")
    assert clock.sleeps == [POLL_INTERVAL_SECONDS]
    stubbed.assert_done()

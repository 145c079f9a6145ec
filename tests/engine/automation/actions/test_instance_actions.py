"""aws:changeInstanceState, aws:runInstances and aws:createTags against moto and stubs."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ssm_local.engine.automation.actions.change_instance_state import POLL_INTERVAL_SECONDS

from .conftest import Moto, RecordingClock, Step, Stubbed
from .test_execute_aws_api import launch


def state_of(moto: Moto, instance_id: str) -> str:
    reservations = moto.client("ec2").describe_instances(InstanceIds=[instance_id])
    return str(reservations["Reservations"][0]["Instances"][0]["State"]["Name"])


def described(*states: tuple[str, str]) -> dict[str, Any]:
    return {"Reservations": [{"Instances": [
        {"InstanceId": iid, "State": {"Name": state}} for iid, state in states]}]}


def statuses(*checks: tuple[str, str, str]) -> dict[str, Any]:
    return {"InstanceStatuses": [
        {"InstanceId": iid, "InstanceStatus": {"Status": instance},
         "SystemStatus": {"Status": system}} for iid, instance, system in checks]}


# --- aws:changeInstanceState -----------------------------------------------------------------


@pytest.mark.parametrize("desired", ["stopped", "terminated"])
def test_change_state(step: Step, moto: Moto, desired: str) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:changeInstanceState",
                      {"InstanceIds": [instance_id], "DesiredState": desired})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {}
    assert state_of(moto, instance_id) == desired
    assert step.logs[0] == ("ec2.StopInstances" if desired == "stopped"
                            else "ec2.TerminateInstances")


def test_start_waits_for_ok_status_checks(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    moto.client("ec2").stop_instances(InstanceIds=[instance_id])
    result = step.run("aws:changeInstanceState",
                      {"InstanceIds": instance_id, "DesiredState": "running"})
    assert result.status == "Success", result.failure_message
    assert state_of(moto, instance_id) == "running"
    assert step.logs == ["ec2.StartInstances", "ec2.DescribeInstances",
                         "ec2.DescribeInstanceStatus"]


def test_check_state_only_polls_without_changing(step: Step, moto: Moto,
                                                 clock: RecordingClock) -> None:
    [instance_id] = launch(moto)
    moto.client("ec2").stop_instances(InstanceIds=[instance_id])
    clock.on_sleep = lambda count: (moto.client("ec2").start_instances(InstanceIds=[instance_id])
                                    if count == 2 else None)
    result = step.run("aws:changeInstanceState", {"InstanceIds": [instance_id],
                                                  "DesiredState": "running",
                                                  "CheckStateOnly": "true"})
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 2
    assert "ec2.StartInstances" not in step.logs
    assert step.logs[1] == f"waiting for running: {instance_id} is stopped"


def test_check_state_only_times_out(step: Step, moto: Moto, clock: RecordingClock) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:changeInstanceState", {"InstanceIds": [instance_id],
                                                  "DesiredState": "stopped",
                                                  "CheckStateOnly": True}, timeout_seconds=60)
    assert result.status == "TimedOut"
    assert clock.slept == 60
    assert result.failure_message == (f"timed out after 60 seconds (13 checks) waiting for "
                                      f"instances {instance_id} to be stopped")
    assert state_of(moto, instance_id) == "running"


def test_fail_on_unexpected_stopped(step: Step, moto: Moto, clock: RecordingClock) -> None:
    [instance_id] = launch(moto)
    moto.client("ec2").stop_instances(InstanceIds=[instance_id])
    result = step.run("aws:changeInstanceState", {
        "InstanceIds": [instance_id], "DesiredState": "running", "CheckStateOnly": True,
        "FailOnUnexpectedStopped": True})
    assert result.status == "Failed"
    assert result.failure_message == f"instances cannot become running: {instance_id} is stopped"
    assert clock.sleeps == []


def test_terminated_instance_cannot_start(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    moto.client("ec2").terminate_instances(InstanceIds=[instance_id])
    result = step.run("aws:changeInstanceState", {
        "InstanceIds": [instance_id], "DesiredState": "stopped", "CheckStateOnly": True})
    assert result.status == "Failed"
    assert result.failure_message == (
        f"instances cannot become stopped: {instance_id} is terminated")


def test_nonexistent_instance(step: Step) -> None:
    result = step.run("aws:changeInstanceState", {"InstanceIds": ["i-0123456789abcdef0"],
                                                  "DesiredState": "stopped"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "An error occurred (InvalidInstanceID.NotFound) when calling the StopInstances "
        "operation: The instance ID 'i-0123456789abcdef0' does not exist")


@pytest.mark.parametrize(("inputs", "message"), [
    ({"DesiredState": "running"}, "aws:changeInstanceState needs the input InstanceIds"),
    ({"InstanceIds": ["i-1"]}, "aws:changeInstanceState needs the input DesiredState"),
    ({"InstanceIds": ["i-1"], "DesiredState": "rebooted"},
     "DesiredState must be running, stopped or terminated, not 'rebooted'"),
    ({"InstanceIds": ["i-1"], "DesiredState": "stopped", "Force": "yes"},
     "aws:changeInstanceState input Force must be true or false, not 'yes'"),
])
def test_change_state_bad_inputs(stub_step: Step, inputs: dict[str, Any], message: str) -> None:
    result = stub_step.run("aws:changeInstanceState", inputs)
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Verification", message)


def test_force_stop_and_transitions(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    stubbed.respond("ec2", "StopInstances", {}, {"InstanceIds": ["i-1", "i-2"], "Force": True})
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "stopping"), ("i-2", "stopped")))
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "stopped"), ("i-2", "stopped")))
    result = stub_step.run("aws:changeInstanceState", {
        "InstanceIds": ["i-1", "i-2"], "DesiredState": "stopped", "Force": True})
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [POLL_INTERVAL_SECONDS]
    stubbed.assert_done()


def test_start_with_additional_info_waits_for_status(stub_step: Step, stubbed: Stubbed,
                                                     clock: RecordingClock) -> None:
    stubbed.respond("ec2", "StartInstances", {}, {"InstanceIds": ["i-1"],
                                                  "AdditionalInfo": "reserved"})
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "pending")))
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "running")))
    stubbed.respond("ec2", "DescribeInstanceStatus", statuses(("i-1", "initializing", "ok")),
                    {"InstanceIds": ["i-1"], "IncludeAllInstances": True})
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "running")))
    stubbed.respond("ec2", "DescribeInstanceStatus", statuses(("i-1", "ok", "ok")))
    result = stub_step.run("aws:changeInstanceState", {
        "InstanceIds": ["i-1"], "DesiredState": "running", "AdditionalInfo": "reserved"})
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 2
    assert ("waiting for status checks: i-1 instance status initializing, system status ok"
            in stub_step.logs)
    stubbed.assert_done()


# --- aws:runInstances ------------------------------------------------------------------------


def test_run_instances(step: Step, moto: Moto) -> None:
    iam = moto.client("iam")
    iam.create_instance_profile(InstanceProfileName="runbook-profile")
    script = base64.b64encode(b"#!/bin/sh\necho hello\n").decode()
    result = step.run("aws:runInstances", {
        "ImageId": moto.ami, "InstanceType": "t3.micro", "MinInstanceCount": 2,
        "MaxInstanceCount": "2", "IamInstanceProfileName": "runbook-profile",
        "UserData": script, "Monitoring": "true",
        "TagSpecifications": [{"ResourceType": "instance",
                               "Tags": [{"Key": "LaunchedBy", "Value": "SSMAutomation"}]}]})
    assert result.status == "Success", result.failure_message
    ids = result.outputs["InstanceIds"]
    assert len(ids) == 2
    assert result.outputs["InstanceStates"] == ["running", "running"]
    assert result.response == result.outputs
    ec2 = moto.client("ec2")
    instance = ec2.describe_instances(InstanceIds=ids[:1])["Reservations"][0]["Instances"][0]
    assert instance["IamInstanceProfile"]["Arn"].endswith("/runbook-profile")
    assert instance["Tags"] == [{"Key": "LaunchedBy", "Value": "SSMAutomation"}]
    user_data = ec2.describe_instance_attribute(InstanceId=ids[0], Attribute="userData")
    assert user_data["UserData"]["Value"] == script


def test_run_instances_defaults_to_one(stub_step: Step, stubbed: Stubbed,
                                       clock: RecordingClock) -> None:
    stubbed.respond("ec2", "RunInstances",
                    {"Instances": [{"InstanceId": "i-1", "State": {"Name": "pending"}}]},
                    {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1,
                     "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/p"},
                     "Monitoring": {"Enabled": False}})
    stubbed.fail("ec2", "DescribeInstances", "InvalidInstanceID.NotFound", "not yet")
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "pending")))
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "running")))
    stubbed.respond("ec2", "DescribeInstanceStatus", statuses(("i-1", "ok", "ok")))
    result = stub_step.run("aws:runInstances", {
        "ImageId": "ami-1", "Monitoring": False,
        "IamInstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/p"})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {"InstanceIds": ["i-1"], "InstanceStates": ["running"]}
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 2
    stubbed.assert_done()


def test_run_instances_that_terminate_fail_with_outputs(stub_step: Step,
                                                        stubbed: Stubbed) -> None:
    stubbed.respond("ec2", "RunInstances",
                    {"Instances": [{"InstanceId": "i-1", "State": {"Name": "pending"}}]})
    stubbed.respond("ec2", "DescribeInstances", described(("i-1", "shutting-down")))
    result = stub_step.run("aws:runInstances", {"ImageId": "ami-1"})
    assert result.status == "Failed"
    assert result.failure_message == "instances cannot become running: i-1 is shutting-down"
    assert result.outputs == {"InstanceIds": ["i-1"], "InstanceStates": ["pending"]}


@pytest.mark.parametrize(("inputs", "message"), [
    ({}, "aws:runInstances needs the input ImageId"),
    ({"ImageId": "ami-1", "UserData": "#!/bin/sh"},
     "aws:runInstances input UserData must be base64-encoded"),
    ({"ImageId": "ami-1", "MaxInstanceCount": "two"},
     "aws:runInstances input MaxInstanceCount must be a number, not 'two'"),
])
def test_run_instances_bad_inputs(stub_step: Step, inputs: dict[str, Any], message: str) -> None:
    result = stub_step.run("aws:runInstances", inputs)
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Verification", message)


def test_run_instances_aws_error(step: Step) -> None:
    result = step.run("aws:runInstances", {"ImageId": "ami-12345678",
                                           "IamInstanceProfileName": "missing"})
    assert result.status == "Failed"
    assert result.failure_message == ("An error occurred (NoSuchEntity) when calling the "
                                      "RunInstances operation: Instance profile missing not found")


# --- aws:createTags --------------------------------------------------------------------------


def test_create_tags_on_ec2(step: Step, moto: Moto) -> None:
    first, second = launch(moto, count=2)
    result = step.run("aws:createTags", {
        "ResourceIds": [first, second],
        "Tags": [{"Key": "production", "Value": ""}, {"Key": "department", "Value": "devops"}]})
    assert result.status == "Success", result.failure_message
    tags = moto.client("ec2").describe_tags(
        Filters=[{"Name": "resource-id", "Values": [first, second]}])["Tags"]
    assert sorted((tag["ResourceId"], tag["Key"], tag["Value"]) for tag in tags) == sorted(
        [(first, "production", ""), (first, "department", "devops"),
         (second, "production", ""), (second, "department", "devops")])


def test_create_tags_on_a_parameter(step: Step, moto: Moto) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/app/level", Value="1", Type="String")
    result = step.run("aws:createTags", {"ResourceType": "Parameter", "ResourceIds": "/app/level",
                                         "Tags": [{"Key": "owner", "Value": "ops"}]})
    assert result.status == "Success", result.failure_message
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/app/level")
    assert listed["TagList"] == [{"Key": "owner", "Value": "ops"}]


def test_create_tags_on_a_missing_parameter(step: Step) -> None:
    result = step.run("aws:createTags", {"ResourceType": "Parameter", "ResourceIds": ["/nope"],
                                         "Tags": [{"Key": "owner", "Value": "ops"}]})
    assert result.status == "Failed"
    assert result.failure_message == ("An error occurred (InvalidResourceId) when calling the "
                                      "AddTagsToResource operation: Invalid Resource Id")


@pytest.mark.parametrize(("inputs", "message"), [
    ({"ResourceType": "Parameter", "ResourceIds": ["/a", "/b"], "Tags": [{"Key": "k"}]},
     "ResourceType Parameter takes exactly one ResourceId, not 2"),
    ({"ResourceType": "S3", "ResourceIds": ["b"], "Tags": [{"Key": "k"}]},
     "ResourceType must be EC2, ManagedInstance, MaintenanceWindow or Parameter, not 'S3'"),
    ({"ResourceIds": ["i-1"]}, "aws:createTags needs the input Tags"),
])
def test_create_tags_bad_inputs(stub_step: Step, inputs: dict[str, Any], message: str) -> None:
    result = stub_step.run("aws:createTags", inputs)
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Verification", message)

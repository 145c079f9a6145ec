"""aws:assertAwsResourceProperty and aws:waitForAwsResourceProperty: values, polling, timeouts."""

from __future__ import annotations

from typing import Any

import pytest

from ssm_local.engine.automation.actions.wait_for_aws_resource_property import POLL_INTERVAL_SECONDS

from .conftest import Moto, RecordingClock, Step, Stubbed
from .test_execute_aws_api import launch

STATE = "$.Reservations[0].Instances[0].State.Name"


def instance_check(instance_id: str, desired: list[Any], selector: str = STATE) -> dict[str, Any]:
    return {"Service": "ec2", "Api": "DescribeInstances", "InstanceIds": [instance_id],
            "PropertySelector": selector, "DesiredValues": desired}


def test_assert_passes_when_the_value_is_desired(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:assertAwsResourceProperty",
                      instance_check(instance_id, ["pending", "running"]))
    assert result.status == "Success", result.failure_message
    assert result.response["Reservations"][0]["Instances"][0]["InstanceId"] == instance_id


def test_assert_fails_with_verification(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:assertAwsResourceProperty", instance_check(instance_id, ["stopped"]))
    assert result.status == "Failed"
    assert result.failure_type == "Verification"
    assert result.failure_message == (
        "PropertySelector $.Reservations[0].Instances[0].State.Name is 'running' in the "
        "DescribeInstances response, not one of the DesiredValues ['stopped']")


@pytest.mark.parametrize(("desired", "status"), [
    (["False"], "Success"), ([False], "Success"), (["false"], "Failed"), (["True"], "Failed"),
])
def test_booleans_compare_as_python_str(step: Step, moto: Moto, desired: list[Any],
                                        status: str) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:assertAwsResourceProperty", instance_check(
        instance_id, desired, "$.Reservations[0].Instances[0].EbsOptimized"))
    assert result.status == status


def test_an_empty_list_reads_as_brackets(step: Step, moto: Moto) -> None:
    """AWSSupport-RestoreEC2InstanceFromSnapshot asserts ``$.Tags`` is ``"[]"``."""
    [instance_id] = launch(moto)
    inputs = {"Service": "ec2", "Api": "DescribeTags",
              "Filters": [{"Name": "resource-id", "Values": [instance_id]}],
              "PropertySelector": "$.Tags", "DesiredValues": ["[]"]}
    assert step.run("aws:assertAwsResourceProperty", inputs).status == "Success"
    moto.client("ec2").create_tags(Resources=[instance_id], Tags=[{"Key": "a", "Value": "b"}])
    assert step.run("aws:assertAwsResourceProperty", inputs).status == "Failed"


def test_deep_scan_needs_every_match_desired(step: Step, moto: Moto) -> None:
    first, second = launch(moto, count=2)
    inputs = {"Service": "ec2", "Api": "DescribeInstances", "InstanceIds": [first, second],
              "PropertySelector": "$..State.Name", "DesiredValues": ["running"]}
    assert step.run("aws:assertAwsResourceProperty", inputs).status == "Success"
    moto.client("ec2").stop_instances(InstanceIds=[second])
    result = step.run("aws:assertAwsResourceProperty", inputs)
    assert result.status == "Failed"
    assert result.failure_message == (
        "PropertySelector $..State.Name is 'running', 'stopped' in the DescribeInstances "
        "response, not one of the DesiredValues ['running']")


def test_selector_matching_nothing_fails(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:assertAwsResourceProperty",
                      instance_check(instance_id, ["x"], "$.Reservations[0].Nothing"))
    assert result.failure_message == (
        "PropertySelector $.Reservations[0].Nothing matched nothing in the DescribeInstances "
        "response; DesiredValues are ['x']")


def test_malformed_selector_fails_before_calling(step: Step, moto: Moto) -> None:
    result = step.run("aws:assertAwsResourceProperty", instance_check(
        "i-0123456789abcdef0", ["x"], "$.Tags[?(@.Key = 'Name')]"))
    assert result.status == "Failed"
    assert result.failure_type == "Verification"
    assert result.failure_message is not None
    assert result.failure_message.startswith(
        "PropertySelector \"$.Tags[?(@.Key = 'Name')]\" is not a valid selector: ")
    assert moto.built == []


def test_assert_api_error_fails(step: Step) -> None:
    result = step.run("aws:assertAwsResourceProperty",
                      instance_check("i-0123456789abcdef0", ["running"]))
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert "(InvalidInstanceID.NotFound) when calling the DescribeInstances" in (
        result.failure_message)


def test_wait_returns_at_once_when_already_desired(step: Step, moto: Moto,
                                                   clock: RecordingClock) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:waitForAwsResourceProperty", instance_check(instance_id, ["running"]))
    assert result.status == "Success"
    assert clock.sleeps == []


def test_wait_polls_until_the_value_is_desired(step: Step, moto: Moto, clock: RecordingClock) -> None:
    [instance_id] = launch(moto)

    def stop_on_third_sleep(count: int) -> None:
        if count == 3:
            moto.client("ec2").stop_instances(InstanceIds=[instance_id])

    clock.on_sleep = stop_on_third_sleep
    result = step.run("aws:waitForAwsResourceProperty", instance_check(instance_id, ["stopped"]))
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 3
    assert step.logs.count("ec2.DescribeInstances") == 4
    assert result.response["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"


def test_wait_times_out_at_the_step_timeout(step: Step, moto: Moto, clock: RecordingClock) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:waitForAwsResourceProperty", instance_check(instance_id, ["stopped"]),
                      timeout_seconds=12)
    assert result.status == "TimedOut"
    assert clock.sleeps == [5, 5, 2]
    assert result.failure_message == (
        "timed out after 12 seconds (4 checks) waiting for "
        "$.Reservations[0].Instances[0].State.Name to be one of [stopped]; last: PropertySelector "
        "$.Reservations[0].Instances[0].State.Name is 'running' in the DescribeInstances "
        "response, not one of the DesiredValues ['stopped']")


def test_wait_defaults_to_an_hour(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    pending = {"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "pending"}}]}]}
    for _ in range(721):
        stubbed.respond("ec2", "DescribeInstances", pending)
    result = stub_step.run("aws:waitForAwsResourceProperty", instance_check("i-1", ["running"]))
    assert result.status == "TimedOut"
    assert clock.slept == 3600
    stubbed.assert_done()


def test_wait_cancelled_between_polls(step: Step, moto: Moto, clock: RecordingClock) -> None:
    [instance_id] = launch(moto)

    def cancel_on_second_sleep(count: int) -> None:
        if count == 2 and step.cancel is not None:
            step.cancel.set()

    clock.on_sleep = cancel_on_second_sleep
    result = step.run("aws:waitForAwsResourceProperty", instance_check(instance_id, ["stopped"]))
    assert result.status == "Cancelled"
    assert len(clock.sleeps) == 2


def test_wait_fails_at_once_on_an_aws_error(step: Step, clock: RecordingClock) -> None:
    result = step.run("aws:waitForAwsResourceProperty",
                      instance_check("i-0123456789abcdef0", ["running"]))
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith("An error occurred (InvalidInstanceID.NotFound)")
    assert clock.sleeps == []


def test_wait_retries_throttling(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    stubbed.fail("ec2", "DescribeInstances", "RequestLimitExceeded", "slow down")
    stubbed.respond("ec2", "DescribeInstances", {"Reservations": [
        {"Instances": [{"InstanceId": "i-1", "State": {"Name": "running"}}]}]},
        {"InstanceIds": ["i-1"]})
    result = stub_step.run("aws:waitForAwsResourceProperty", instance_check("i-1", ["running"]))
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [POLL_INTERVAL_SECONDS]
    assert "retrying after RequestLimitExceeded: An error occurred (RequestLimitExceeded) when "\
        "calling the DescribeInstances operation: slow down" in stub_step.logs

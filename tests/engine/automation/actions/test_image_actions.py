"""aws:createImage, aws:copyImage and aws:deleteImage against moto and stubs."""

from __future__ import annotations

from typing import Any

import pytest

from ssm_local.engine.automation.actions import delete_image
from ssm_local.engine.automation.actions.create_image import POLL_INTERVAL_SECONDS

from .conftest import Moto, RecordingClock, Step, Stubbed
from .test_execute_aws_api import launch


def image(image_id: str, state: str, reason: str | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {"ImageId": image_id, "State": state}
    if reason:
        described["StateReason"] = {"Code": "Client.Error", "Message": reason}
    return {"Images": [described]}


def test_create_image(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    result = step.run("aws:createImage", {"InstanceId": instance_id,
                                          "ImageName": "AMI created by a runbook",
                                          "ImageDescription": "nightly", "NoReboot": "true"})
    assert result.status == "Success", result.failure_message
    image_id = result.outputs["ImageId"]
    assert result.outputs == {"ImageId": image_id, "ImageState": "available"}
    assert result.response == result.outputs
    [made] = moto.client("ec2").describe_images(ImageIds=[image_id])["Images"]
    assert (made["Name"], made["Description"]) == ("AMI created by a runbook", "nightly")


def test_create_image_of_a_missing_instance(step: Step) -> None:
    result = step.run("aws:createImage", {"InstanceId": "i-0123456789abcdef0",
                                          "ImageName": "x-image"})
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith(
        "An error occurred (InvalidInstanceID.NotFound) when calling the CreateImage operation")


def test_create_image_polls_while_pending(stub_step: Step, stubbed: Stubbed,
                                          clock: RecordingClock) -> None:
    stubbed.respond("ec2", "CreateImage", {"ImageId": "ami-1"},
                    {"InstanceId": "i-1", "Name": "img", "NoReboot": False,
                     "BlockDeviceMappings": [{"DeviceName": "/dev/sdb", "NoDevice": ""}]})
    stubbed.fail("ec2", "DescribeImages", "InvalidAMIID.NotFound", "not yet")
    stubbed.respond("ec2", "DescribeImages", image("ami-1", "pending"), {"ImageIds": ["ami-1"]})
    stubbed.respond("ec2", "DescribeImages", image("ami-1", "available"))
    result = stub_step.run("aws:createImage", {
        "InstanceId": "i-1", "ImageName": "img", "NoReboot": False,
        "BlockDeviceMappings": [{"DeviceName": "/dev/sdb", "NoDevice": ""}]})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {"ImageId": "ami-1", "ImageState": "available"}
    assert clock.sleeps == [POLL_INTERVAL_SECONDS] * 2
    stubbed.assert_done()


def test_create_image_that_fails(stub_step: Step, stubbed: Stubbed) -> None:
    stubbed.respond("ec2", "CreateImage", {"ImageId": "ami-1"})
    stubbed.respond("ec2", "DescribeImages", image("ami-1", "failed", "snapshot failed"))
    result = stub_step.run("aws:createImage", {"InstanceId": "i-1", "ImageName": "img"})
    assert result.status == "Failed"
    assert result.failure_message == "image ami-1 is failed: snapshot failed"
    assert result.outputs == {"ImageId": "ami-1", "ImageState": "failed"}


def test_create_image_times_out(stub_step: Step, stubbed: Stubbed, clock: RecordingClock) -> None:
    stubbed.respond("ec2", "CreateImage", {"ImageId": "ami-1"})
    for _ in range(3):
        stubbed.respond("ec2", "DescribeImages", image("ami-1", "pending"))
    result = stub_step.run("aws:createImage", {"InstanceId": "i-1", "ImageName": "img"},
                           timeout_seconds=30)
    assert result.status == "TimedOut"
    assert result.failure_message == ("timed out after 30 seconds (3 checks) waiting for image "
                                      "ami-1 to be available")
    assert result.outputs == {"ImageId": "ami-1", "ImageState": "pending"}
    assert clock.slept == 30


@pytest.mark.parametrize(("action", "inputs", "message"), [
    ("aws:createImage", {"ImageName": "img"}, "aws:createImage needs the input InstanceId"),
    ("aws:createImage", {"InstanceId": "i-1"}, "aws:createImage needs the input ImageName"),
    ("aws:copyImage", {"SourceImageId": "ami-1", "ImageName": "c"},
     "aws:copyImage needs the input SourceRegion"),
    ("aws:copyImage", {"SourceRegion": "us-east-1", "SourceImageId": "ami-1", "ImageName": "c",
                       "Encrypted": "maybe"},
     "aws:copyImage input Encrypted must be true or false, not 'maybe'"),
    ("aws:deleteImage", {}, "aws:deleteImage needs the input ImageId"),
])
def test_bad_inputs(stub_step: Step, action: str, inputs: dict[str, Any], message: str) -> None:
    result = stub_step.run(action, inputs)
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Verification", message)


def test_copy_image(step: Step, moto: Moto) -> None:
    result = step.run("aws:copyImage", {"SourceRegion": "us-east-1", "SourceImageId": moto.ami,
                                        "ImageName": "Encrypted copy", "Encrypted": True,
                                        "ImageDescription": "copy of the base AMI"})
    assert result.status == "Success", result.failure_message
    assert result.outputs["ImageState"] == "available"
    [copied] = moto.client("ec2").describe_images(ImageIds=[result.outputs["ImageId"]])["Images"]
    assert copied["Name"] == "Encrypted copy"


def test_copy_image_passes_its_inputs(stub_step: Step, stubbed: Stubbed) -> None:
    stubbed.respond("ec2", "CopyImage", {"ImageId": "ami-2"}, {
        "SourceRegion": "ap-northeast-2", "SourceImageId": "ami-1", "Name": "copy",
        "Description": "d", "Encrypted": True, "KmsKeyId": "key", "ClientToken": "token"})
    stubbed.respond("ec2", "DescribeImages", image("ami-2", "available"))
    result = stub_step.run("aws:copyImage", {
        "SourceRegion": "ap-northeast-2", "SourceImageId": "ami-1", "ImageName": "copy",
        "ImageDescription": "d", "Encrypted": "true", "KmsKeyId": "key", "ClientToken": "token"})
    assert result.outputs == {"ImageId": "ami-2", "ImageState": "available"}
    stubbed.assert_done()


def test_copy_of_a_missing_image(step: Step) -> None:
    result = step.run("aws:copyImage", {"SourceRegion": "us-east-1",
                                        "SourceImageId": "ami-12345678", "ImageName": "copy"})
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert "(InvalidAMIID.NotFound) when calling the CopyImage operation" in (
        result.failure_message)


def test_delete_image_deletes_its_snapshots(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto)
    ec2 = moto.client("ec2")
    image_id = ec2.create_image(InstanceId=instance_id, Name="to-delete")["ImageId"]
    [made] = ec2.describe_images(ImageIds=[image_id])["Images"]
    snapshots = [mapping["Ebs"]["SnapshotId"] for mapping in made["BlockDeviceMappings"]]
    assert snapshots
    result = step.run("aws:deleteImage", {"ImageId": image_id})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {}
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    remaining = {snapshot["SnapshotId"] for snapshot in
                 ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert remaining.isdisjoint(snapshots)
    assert step.logs[:2] == ["ec2.DescribeImages", "ec2.DeregisterImage"]


def test_delete_missing_image(step: Step) -> None:
    result = step.run("aws:deleteImage", {"ImageId": "ami-12345678"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "An error occurred (InvalidAMIID.NotFound) when calling the DescribeImages operation: "
        "The image id '[ami-12345678]' does not exist")


def test_delete_image_retries_snapshots_in_use(stub_step: Step, stubbed: Stubbed,
                                               clock: RecordingClock) -> None:
    stubbed.respond("ec2", "DescribeImages", {"Images": [{"ImageId": "ami-1", "BlockDeviceMappings": [
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-1"}},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}]}]})
    stubbed.respond("ec2", "DeregisterImage", {}, {"ImageId": "ami-1"})
    stubbed.fail("ec2", "DeleteSnapshot", "InvalidSnapshot.InUse", "in use by ami-1")
    stubbed.respond("ec2", "DeleteSnapshot", {}, {"SnapshotId": "snap-1"})
    result = stub_step.run("aws:deleteImage", {"ImageId": "ami-1"})
    assert result.status == "Success", result.failure_message
    assert clock.sleeps == [delete_image.RETRY_INTERVAL_SECONDS]
    stubbed.assert_done()

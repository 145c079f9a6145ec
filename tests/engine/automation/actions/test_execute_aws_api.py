"""aws:executeAwsApi against moto's server: responses Selectors can read, and AWS's errors."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import yaml

from ssm_local.engine.automation.actions.aws_api import ActionFailure, operation_name, service_name
from ssm_local.grammar import evaluate_selector, parse_selector
from tests.conftest import corpus_dir

from .conftest import CREDENTIALS, REGION, Moto, Step


def launch(moto: Moto, count: int = 1, **extra: Any) -> list[str]:
    response = moto.client("ec2").run_instances(ImageId=moto.ami, MinCount=count, MaxCount=count,
                                 InstanceType="t3.micro", **extra)
    return [instance["InstanceId"] for instance in response["Instances"]]


def select(selector: str, response: Any) -> list[Any]:
    return evaluate_selector(parse_selector(selector), response)


def test_describe_instances_response_is_json_for_selectors(step: Step, moto: Moto) -> None:
    [instance_id] = launch(moto, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
    result = step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances",
                                            "InstanceIds": [instance_id]})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {}
    response = result.response
    json.dumps(response)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert select("$.Reservations[0].Instances[0].InstanceId", response) == [instance_id]
    assert select("Reservations[0].Instances[0].State.Name", response) == ["running"]
    assert select("$..InstanceId", response) == [instance_id]
    assert select("$.Reservations[0].Instances[0].Tags[?(@.Key == 'Name')].Value",
                  response) == ["web"]
    [launched] = select("$.Reservations[0].Instances[0].LaunchTime", response)
    assert isinstance(launched, str) and launched.endswith("+00:00")
    assert step.logs == ["ec2.DescribeInstances"]


def test_service_name_is_case_insensitive(step: Step, moto: Moto) -> None:
    result = step.run("aws:executeAwsApi", {"Service": "SQS", "Api": "CreateQueue",
                                            "QueueName": "work"})
    assert result.status == "Success", result.failure_message
    assert result.response["QueueUrl"].endswith("/work")
    assert moto.built == ["sqs"]


def test_nonexistent_instance_fails_with_aws_error(step: Step) -> None:
    result = step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances",
                                            "InstanceIds": ["i-0123456789abcdef0"]})
    assert result.status == "Failed"
    assert result.failure_message == (
        "An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances "
        "operation: The instance ID 'i-0123456789abcdef0' does not exist")
    assert result.failure_type == "Unknown"


def test_nonexistent_stack_fails_with_aws_error(step: Step) -> None:
    result = step.run("aws:executeAwsApi", {"Service": "cloudformation", "Api": "DescribeStacks",
                                            "StackName": "missing"})
    assert result.status == "Failed"
    assert result.failure_message == ("An error occurred (ValidationError) when calling the "
                                      "DescribeStacks operation: Stack with id missing does not "
                                      "exist")


@pytest.mark.parametrize(("inputs", "message"), [
    ({"Service": "ec2"}, "aws:executeAwsApi needs the input Api"),
    ({"Api": "DescribeInstances"}, "aws:executeAwsApi needs the input Service"),
    ({"Service": "ec2", "Api": "DescribeInstance"},
     "Api 'DescribeInstance' is not an operation of Service 'ec2'; did you mean "
     "DescribeInstances, DescribeInstanceTypes, DescribeInstanceStatus?"),
])
def test_bad_inputs(step: Step, inputs: dict[str, Any], message: str) -> None:
    result = step.run("aws:executeAwsApi", inputs)
    assert (result.status, result.failure_type, result.failure_message) == (
        "Failed", "Verification", message)


def test_unknown_service(step: Step, moto: Moto) -> None:
    result = step.run("aws:executeAwsApi", {"Service": "nosuchservice", "Api": "List"})
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith("Service 'nosuchservice' is not an AWS service")
    assert moto.built == []


def test_parameter_of_the_wrong_type(step: Step) -> None:
    result = step.run("aws:executeAwsApi", {"Service": "ec2", "Api": "DescribeInstances",
                                            "InstanceIds": "i-0123456789abcdef0"})
    assert result.status == "Failed"
    assert result.failure_type == "Verification"
    assert result.failure_message == (
        "An error occurred (ParamValidationError) when calling the DescribeInstances operation: "
        "Parameter validation failed:\nInvalid type for parameter InstanceIds, "
        "value: i-0123456789abcdef0, type: <class 'str'>, valid types: <class 'list'>, "
        "<class 'tuple'>")


def test_streaming_apis_are_not_supported(step: Step, moto: Moto) -> None:
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="runbook-bucket")
    s3.put_object(Bucket="runbook-bucket", Key="k", Body=b"data")
    result = step.run("aws:executeAwsApi", {"Service": "s3", "Api": "GetObject",
                                            "Bucket": "runbook-bucket", "Key": "k"})
    assert result.status == "Failed"
    assert result.failure_message == ("s3.GetObject returns a stream: streaming APIs are not "
                                      "supported by aws:executeAwsApi")


def test_blobs_come_back_as_base64(step: Step, moto: Moto) -> None:
    key_id = moto.client("kms").create_key()["KeyMetadata"]["KeyId"]
    result = step.run("aws:executeAwsApi", {"Service": "kms", "Api": "Encrypt", "KeyId": key_id,
                                            "Plaintext": b"secret"})
    assert result.status == "Success", result.failure_message
    blob = base64.b64decode(result.response["CiphertextBlob"])
    plain = moto.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"]
    assert plain == b"secret"


API_ACTIONS = ("aws:executeAwsApi", "aws:waitForAwsResourceProperty",
               "aws:assertAwsResourceProperty")


def _api_steps(steps: Any) -> Iterator[dict[str, Any]]:
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict) or not isinstance(step.get("inputs"), dict):
            continue
        if step.get("action") in API_ACTIONS:
            yield step
        if step.get("action") == "aws:loop":
            yield from _api_steps(step["inputs"].get("Steps"))


def test_every_service_and_api_in_the_corpus_resolves() -> None:
    """Each Service/Api pair of the shared corpus names a boto3 client and operation."""
    corpus = corpus_dir()
    clients: dict[str, Any] = {}
    checked, failures = 0, []
    index = (corpus / "INDEX.tsv").read_text(encoding="utf-8").splitlines()
    for row in csv.DictReader(index, delimiter="\t"):
        if row["schemaVersion"] != "0.3" or not set(API_ACTIONS) & set(row["actions"].split(",")):
            continue
        text = (corpus / row["file"]).read_text(encoding="utf-8")
        document = json.loads(text) if row["file"].endswith(".json") else yaml.safe_load(text)
        for step in _api_steps(document.get("mainSteps")):
            service, api = str(step["inputs"].get("Service")), str(step["inputs"].get("Api"))
            if "{{" in service + api:
                continue
            try:
                name = service_name(service)
                client = clients.setdefault(name, boto3.client(name, region_name=REGION,
                                                               **CREDENTIALS))
                operation_name(client, name, api)
            except ActionFailure as failure:
                failures.append(f"{row['file']} {step.get('name')}: {failure.message}")
            checked += 1
    assert failures == []
    assert checked > 100

"""aws:invokeLambdaFunction against moto's Lambda (without Docker) and stubbed responses."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import pytest
from botocore.response import StreamingBody

from .conftest import Moto, Step, Stubbed


def create_function(moto: Moto, name: str = "echo") -> None:
    role = moto.client("iam").create_role(RoleName="lambda-role",
                                          AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "def handler(event, context):\n    return event\n")
    moto.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                           Handler="index.handler",
                                           Code={"ZipFile": archive.getvalue()})


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_invoke_with_input_payload(step: Step, moto: Moto) -> None:
    create_function(moto)
    result = step.run("aws:invokeLambdaFunction", {
        "FunctionName": "echo", "InputPayload": {"InstanceId": "i-1", "States": ["available"]},
        "Payload": "ignored"})
    assert result.status == "Success", result.failure_message
    assert result.outputs["StatusCode"] == 200
    assert json.loads(result.outputs["Payload"]) == {"InstanceId": "i-1",
                                                     "States": ["available"]}
    assert result.response == {"InstanceId": "i-1", "States": ["available"]}
    assert "FunctionError" not in result.outputs


def test_invoke_asynchronously(step: Step, moto: Moto) -> None:
    create_function(moto)
    result = step.run("aws:invokeLambdaFunction", {
        "FunctionName": "echo", "InvocationType": "Event", "Payload": '{"a": 1}'})
    assert result.status == "Success", result.failure_message
    assert result.outputs["StatusCode"] == 202


def test_missing_function(stub_step: Step, stubbed: Stubbed) -> None:
    """Stubbed: moto without Docker answers every invocation, even of a missing function."""
    stubbed.fail("lambda", "Invoke", "ResourceNotFoundException",
                 "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope", 404)
    result = stub_step.run("aws:invokeLambdaFunction", {"FunctionName": "nope"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "An error occurred (ResourceNotFoundException) when calling the Invoke operation: "
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")


def test_request_defaults_and_outputs(stub_step: Step, stubbed: Stubbed) -> None:
    log = base64.b64encode(b"START RequestId: 1\nEND RequestId: 1\n").decode()
    stubbed.respond("lambda", "Invoke", {
        "StatusCode": 200, "LogResult": log, "ExecutedVersion": "$LATEST",
        "Payload": body(b'{"status": "ok", "count": 2}')}, {
        "FunctionName": "f", "Qualifier": "live", "InvocationType": "RequestResponse",
        "LogType": "Tail", "Payload": b'{"InstanceId": "i-1"}',
        "ClientContext": base64.b64encode(b'{"custom": {"a": "b"}}').decode()})
    result = stub_step.run("aws:invokeLambdaFunction", {
        "FunctionName": "f", "Qualifier": "live", "Payload": '{"InstanceId": "i-1"}',
        "ClientContext": {"custom": {"a": "b"}}})
    assert result.status == "Success", result.failure_message
    assert result.outputs == {"StatusCode": 200, "Payload": '{"status": "ok", "count": 2}',
                              "LogResult": log}
    assert result.response == {"status": "ok", "count": 2}
    stubbed.assert_done()


@pytest.mark.parametrize(("payload", "sent"), [
    ({}, b"{}"), ({"a": [1, True]}, b'{"a": [1, true]}'), ('{"raw": 1}', b'{"raw": 1}'),
])
def test_payload_forms(stub_step: Step, stubbed: Stubbed, payload: Any, sent: bytes) -> None:
    stubbed.respond("lambda", "Invoke", {"StatusCode": 200, "Payload": body(b"null")}, {
        "FunctionName": "f", "InvocationType": "RequestResponse", "LogType": "Tail",
        "Payload": sent})
    result = stub_step.run("aws:invokeLambdaFunction", {"FunctionName": "f", "Payload": payload})
    assert result.status == "Success", result.failure_message
    assert result.outputs["Payload"] == "null"
    assert result.response is None


def test_function_error_fails_the_step_with_outputs(stub_step: Step, stubbed: Stubbed) -> None:
    """AWS-PatchInstanceWithRollback raises in its Lambda to take the onFailure path."""
    error = b'{"errorMessage": "Patching Failed", "errorType": "Exception"}'
    stubbed.respond("lambda", "Invoke", {"StatusCode": 200, "FunctionError": "Unhandled",
                                         "Payload": body(error)})
    result = stub_step.run("aws:invokeLambdaFunction", {"FunctionName": "ReportFailure",
                                                        "LogType": "None"})
    assert result.status == "Failed"
    assert result.failure_message == (
        "Lambda function ReportFailure returned a Unhandled error: " + error.decode())
    assert result.outputs == {"StatusCode": 200, "FunctionError": "Unhandled",
                              "Payload": error.decode()}
    assert result.response == {"errorMessage": "Patching Failed", "errorType": "Exception"}


def test_non_json_payload(stub_step: Step, stubbed: Stubbed) -> None:
    stubbed.respond("lambda", "Invoke", {"StatusCode": 200, "Payload": body(b"plain text")})
    result = stub_step.run("aws:invokeLambdaFunction", {"FunctionName": "f"})
    assert result.outputs["Payload"] == "plain text"
    assert result.response is None


def test_needs_a_function_name(stub_step: Step) -> None:
    result = stub_step.run("aws:invokeLambdaFunction", {"Payload": "{}"})
    assert (result.status, result.failure_message) == (
        "Failed", "aws:invokeLambdaFunction needs the input FunctionName")

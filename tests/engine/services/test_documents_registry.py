"""The document registry contract, on every store backend."""

from __future__ import annotations

import json

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services.documents import DocumentRegistryError

COMMAND = {
    "schemaVersion": "2.2",
    "description": "Say hello",
    "parameters": {"who": {"type": "String", "default": "world"}},
    "mainSteps": [
        {"action": "aws:runShellScript", "name": "hello",
         "inputs": {"runCommand": ["echo hello {{ who }}"]}}
    ],
}
AUTOMATION_YAML = """\
schemaVersion: '0.3'
description: Sleep a bit
mainSteps:
  - name: nap
    action: aws:sleep
    inputs:
      Duration: PT1S
"""


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(DocumentRegistryError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


def test_create_update_versions(engine: Engine) -> None:
    reg = engine.documents
    desc = reg.create_document(json.dumps(COMMAND), "Hello", version_name="v1",
                               tags=[{"Key": "team", "Value": "core"}])
    assert (desc["DocumentVersion"], desc["LatestVersion"], desc["DefaultVersion"]) == ("1", "1", "1")
    assert desc["SchemaVersion"] == "2.2" and desc["Owner"] == "123456789012"
    assert desc["Parameters"] == [{"Name": "who", "Type": "String", "DefaultValue": "world"}]
    assert desc["Tags"] == [{"Key": "team", "Value": "core"}]
    assert code_of(reg.create_document, json.dumps(COMMAND), "Hello") == "DocumentAlreadyExists"
    assert code_of(reg.update_document, json.dumps(COMMAND), "Hello") == "DuplicateDocumentContent"
    changed = {**COMMAND, "description": "Say hello twice"}
    assert reg.update_document(json.dumps(changed), "Hello", version_name="v2")["DocumentVersion"] == "2"
    assert code_of(reg.update_document, json.dumps({**COMMAND, "description": "3"}), "Hello",
                   version_name="v2") == "DuplicateDocumentVersionName"
    assert code_of(reg.update_document, json.dumps({**COMMAND, "description": "3"}), "Hello",
                   document_version="1") == "InvalidDocumentVersion"
    assert reg.describe_document("Hello")["DocumentVersion"] == "1"  # $DEFAULT
    assert reg.get_document("Hello", document_version="$LATEST")["DocumentVersion"] == "2"
    assert reg.get_document("Hello", version_name="v1")["DocumentVersion"] == "1"
    reg.update_document_default_version("Hello", "2")
    assert reg.describe_document("Hello")["Description"] == "Say hello twice"
    versions = reg.list_document_versions("Hello")["DocumentVersions"]
    assert [(v["DocumentVersion"], v["IsDefaultVersion"]) for v in versions] == [
        ("2", True), ("1", False)
    ]
    assert code_of(reg.delete_document, "Hello", document_version="2") == "InvalidDocumentOperation"
    reg.delete_document("Hello", document_version="1")
    assert code_of(reg.get_document, "Hello", document_version="1") == "InvalidDocumentVersion"
    reg.delete_document("Hello")
    assert code_of(reg.describe_document, "Hello") == "InvalidDocument"


def test_formats_and_types(engine: Engine) -> None:
    reg = engine.documents
    reg.create_document(AUTOMATION_YAML, "Nap", document_type="Automation", document_format="YAML")
    as_json = reg.get_document("Nap", document_format="JSON")
    assert json.loads(as_json["Content"])["mainSteps"][0]["name"] == "nap"
    assert reg.get_document("Nap")["DocumentFormat"] == "YAML"
    assert code_of(reg.create_document, AUTOMATION_YAML, "Nap2", document_format="YAML") == (
        "InvalidDocumentContent"  # an Automation document sent as Command
    )
    cal = "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"
    reg.create_document(cal, "Freeze", document_type="ChangeCalendar", document_format="TEXT")
    assert reg.get_document("Freeze")["Content"] == cal
    assert code_of(reg.create_document, cal, "Cal2", document_format="TEXT") == "InvalidDocumentContent"


def test_invalid_content_carries_diagnostics(engine: Engine) -> None:
    bad = {**COMMAND, "mainSteps": [{"action": "aws:runShellScript", "name": "x",
                                     "inputs": {"runCommand": ["echo {{ nobody }}"]}}]}
    with pytest.raises(DocumentRegistryError) as info:
        engine.documents.create_document(json.dumps(bad), "Bad")
    assert info.value.code == "InvalidDocumentContent" and info.value.diagnostics
    assert code_of(engine.documents.create_document, "{not json", "Bad") == "InvalidDocumentContent"
    assert code_of(engine.documents.create_document, json.dumps(COMMAND), "AWS-Mine") == (
        "ValidationException"
    )
    assert code_of(engine.documents.create_document, json.dumps(COMMAND), "x") == "ValidationException"


def test_library_documents_are_aws_owned(engine: Engine) -> None:
    reg = engine.documents
    reg.create_document(json.dumps(COMMAND), "Mine")
    listed = reg.list_documents()["DocumentIdentifiers"]
    owners = {d["Name"]: d["Owner"] for d in listed}
    assert owners["AWS-RunShellScript"] == "Amazon" and owners["Mine"] == "123456789012"
    mine = reg.list_documents(filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"]
    assert [d["Name"] for d in mine] == ["Mine"]
    assert reg.describe_document("AWS-RunShellScript")["Owner"] == "Amazon"
    assert "mainSteps" in reg.get_document("AWS-RunShellScript")["Content"]
    assert code_of(reg.delete_document, "AWS-RunShellScript") == "InvalidDocumentOperation"
    page = reg.list_documents(max_results=1)
    assert len(page["DocumentIdentifiers"]) == 1 and "NextToken" in page
    rest = reg.list_documents(max_results=50, next_token=page["NextToken"])
    assert len(rest["DocumentIdentifiers"]) == len(listed) - 1


def test_paging_tokens(engine: Engine) -> None:
    reg = engine.documents
    reg.create_document(json.dumps(COMMAND), "Paged")
    for n in range(2, 5):
        reg.update_document(json.dumps({**COMMAND, "description": f"v{n}"}), "Paged")
    first = reg.list_document_versions("Paged", max_results=3)
    assert [v["DocumentVersion"] for v in first["DocumentVersions"]] == ["4", "3", "2"]
    rest = reg.list_document_versions("Paged", next_token=first["NextToken"])
    assert [v["DocumentVersion"] for v in rest["DocumentVersions"]] == ["1"]
    assert "NextToken" not in rest
    listing_token = reg.list_documents(max_results=1)["NextToken"]
    for call, token in (
        (reg.list_documents, "garbage"),
        (reg.list_documents, first["NextToken"]),  # a token of another listing
        (lambda **kw: reg.list_document_versions("Paged", **kw), listing_token),
    ):
        with pytest.raises(DocumentRegistryError) as info:
            call(next_token=token)
        assert (info.value.code, info.value.message) == (
            "InvalidNextToken", "The NextToken is not valid for this request."
        )

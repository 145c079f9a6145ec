"""The execution's AWS endpoint (``--aws-endpoint-url``) reaches scripts and child executions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ssm_local import documents
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store.database import Store

CHILD = """
schemaVersion: "0.3"
outputs: [endpoint.Url]
mainSteps:
  - name: endpoint
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: |
        import os
        def handler(events, context):
            return os.environ.get("AWS_ENDPOINT_URL", "none")
    outputs: [{Name: Url, Selector: $.Payload, Type: String}]
"""

PARENT = """
schemaVersion: "0.3"
outputs: [endpoint.Url, nested.Output]
mainSteps:
  - name: endpoint
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      Script: |
        import os
        def handler(events, context):
            return os.environ.get("AWS_ENDPOINT_URL", "none")
    outputs: [{Name: Url, Selector: $.Payload, Type: String}]
  - name: nested
    action: aws:executeAutomation
    inputs: {DocumentName: Child}
"""


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AutomationService:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    def resolve(name: str, version: str | None) -> tuple[str, str, str]:
        return name, "1", CHILD

    svc = AutomationService(Store(f"sqlite:///{tmp_path / 's.db'}"), clock=FakeClock(),
                            resolve_document=resolve)
    svc.automations = svc
    return svc


@pytest.mark.parametrize(("endpoint", "seen"), [
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"), (None, "none")])
def test_scripts_and_children_use_the_execution_endpoint(
        service: AutomationService, endpoint: str | None, seen: str) -> None:
    handle = service.start(documents.load(PARENT, source="p.yaml"), {}, document_name="Parent",
                           aws_endpoint_url=endpoint)
    execution = asyncio.run(handle.run())
    assert execution["AutomationExecutionStatus"] == "Success"
    assert execution["Outputs"] == {"endpoint.Url": [seen], "nested.Output": [seen]}

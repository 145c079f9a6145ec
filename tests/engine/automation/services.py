"""An ``AutomationService`` for the nested-runbook tests: a SQLite store in a temporary
directory, a ``FakeClock``, runbooks found by name in a dict, and aws:executeAutomation starting
its children on the same service."""

from __future__ import annotations

from pathlib import Path

from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store.database import Store


def service_with(tmp_path: Path, runbooks: dict[str, str]) -> AutomationService:
    """The service; ``runbooks`` maps each name to its text (version "1")."""

    def resolve(name: str, version: str | None) -> tuple[str, str, str]:
        return name, "1", runbooks[name]

    svc = AutomationService(Store(f"sqlite:///{tmp_path / 's.db'}"), clock=FakeClock(),
                            resolve_document=resolve)
    svc.automations = svc
    return svc

"""Fixtures for Automation tests: a store in a temporary directory, a fake clock, a runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine.automation.actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionResult,
    AutomationAction,
)
from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store.database import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def actions() -> dict[str, AutomationAction]:
    """The service's action table: the built-in actions, plus what ``scripted`` adds."""
    return dict(BUILTIN_ACTIONS)


@pytest.fixture
def service(store: Store, clock: FakeClock, actions: Mapping[str, AutomationAction]
            ) -> AutomationService:
    return AutomationService(store, clock=clock, actions=actions)


Runner = Callable[..., dict[str, Any]]


@pytest.fixture
def run(service: AutomationService) -> Runner:
    """``run(yaml_text, parameters=None, signals=[(type, payload), ...])`` → the execution."""

    def runner(text: str, parameters: dict[str, Any] | None = None,
               signals: list[tuple[str, dict[str, Any]]] | None = None,
               mode: str = "Auto") -> dict[str, Any]:
        document = documents.load(text, source="runbook.yaml")
        handle = service.start(document, parameters or {}, document_name="Runbook", mode=mode)
        for signal_type, payload in signals or []:
            service.signal(handle.execution_id, signal_type, payload)
        return asyncio.run(handle.run())

    return runner


class Scripted:
    """A test action whose attempts follow a script of results."""

    def __init__(self, results: list[ActionResult | float]) -> None:
        self.results = list(results)
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, ctx: ActionContext) -> ActionResult:
        self.calls.append(json.loads(json.dumps(dict(ctx.inputs))))
        outcome = self.results.pop(0) if self.results else ActionResult.success()
        if isinstance(outcome, float | int):  # a step that takes this long, unless cancelled
            sleeper = asyncio.ensure_future(ctx.clock.sleep(float(outcome)))
            cancelled = asyncio.ensure_future(ctx.cancel.wait())
            await asyncio.wait({sleeper, cancelled}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            cancelled.cancel()
            if ctx.cancel.is_set():
                return ActionResult("Cancelled", failure_message="cancelled")
            return ActionResult.success()
        return outcome


@pytest.fixture
def scripted(actions: dict[str, AutomationAction]
             ) -> Callable[[str, list[ActionResult | float]], Scripted]:
    """``scripted(action, results)`` runs ``action`` with a ``Scripted`` handler in ``service``."""

    def make(action: str, results: list[ActionResult | float]) -> Scripted:
        handler = Scripted(results)
        actions[action] = handler
        return handler

    return make


def steps(execution: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["StepName"], s["StepStatus"]) for s in execution["StepExecutions"]]

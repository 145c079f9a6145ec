"""Recorded event histories replay to the executions they recorded, with no store and no runner.

Each ``histories/*.json`` is a real runbook run once through the service and its runner (see
``histories/record.py``; the files were written by the version before typed events, so they are
also the JSON an existing store holds). Replaying the events through ``apply`` must give the step
executions, statuses, outputs and variables GetAutomationExecution reported then; each event must
read into its typed value and write back the same JSON, key for key; the interpreter, asked
again at each point of the history, must decide the event that was recorded; and each runbook,
run again through today's service and runner, must write the same history (ids aside: they are
derived from the execution's id and the event's position now).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ssm_local import documents
from ssm_local.engine.automation.events import (
    Event,
    Signal,
    StepFinished,
    event_from_json,
    parse_iso,
    step_execution_id,
)
from ssm_local.engine.automation.interpreter import Execute, Record, next_action, replay
from ssm_local.engine.services.automations import execution_shape
from tests.engine.automation.histories.record import SCENARIOS, Scenario, record, summarize

HISTORIES = Path(__file__).resolve().parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def _load(path: Path) -> tuple[dict[str, Any], documents.Document, list[Event]]:
    history = json.loads(path.read_text())
    document = documents.load(history["runbook"], source=f"{history['name']}.yaml")
    return history, document, [event_from_json(raw) for raw in history["events"]]


def test_every_scenario_has_its_history() -> None:
    assert sorted(p.stem for p in FILES) == sorted(s.name for s in SCENARIOS)
    assert len(FILES) >= 14


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_events_read_and_write_the_stored_json(path: Path) -> None:
    history, _, events = _load(path)
    for raw, event in zip(history["events"], events, strict=True):
        assert type(event).__name__ == raw["type"] == event.type
        written = event.to_json()
        assert written == raw
        assert list(written) == list(raw)  # same keys in the same order: same payload text
        assert json.dumps(written, separators=(",", ":")) == json.dumps(raw, separators=(",", ":"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_replay_gives_the_recorded_execution(path: Path) -> None:
    history, document, events = _load(path)
    state = replay(document, history["execution_id"], events)
    assert state.done and state.seq == len(events)
    assert state.start is not None and state.end is not None
    row = {"document_name": history["name"], "document_version": "1",
           "start_time": parse_iso(state.start).timestamp(),
           "end_time": parse_iso(state.end).timestamp(), "status": state.status,
           "outputs": "{}", "mode": state.mode, "parent_execution_id": None}
    observed = json.loads(json.dumps(summarize(execution_shape(row, document, state)),
                                     default=str))
    assert observed == history["expected"]
    # step execution ids are the recorded ones, never minted again on replay
    recorded_ids = list(dict.fromkeys(
        raw["id"] for raw in history["events"] if raw.get("id") and raw["type"] != "StepFinished"))
    assert [r.step_execution_id for r in state.records] == recorded_ids


def _decided(action: Any) -> Event | None:
    if isinstance(action, Record):
        return action.event
    if isinstance(action, Execute):
        return action.started
    return None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_interpreter_decides_the_recorded_events_again(path: Path) -> None:
    """At each point of the history, ``next_action`` at the recorded time decides the recorded
    event (a new step execution's id aside: the recording minted random ones). Step ends and
    signals come from outside the interpreter and are only applied."""
    history, document, events = _load(path)
    decided = 0
    for index in range(1, len(events)):
        recorded = events[index]
        if isinstance(recorded, StepFinished | Signal):
            continue
        state = replay(document, history["execution_id"], events[:index])
        event = _decided(next_action(document, state, parse_iso(recorded.at)))
        assert event is not None, f"event {index + 1} ({recorded.type}) was not decided"
        wanted, got = recorded.to_json(), event.to_json()
        if "id" in wanted and state.record(wanted["id"]) is None:
            wanted["id"] = got["id"]  # a new step execution: ids are derived now
        assert got == wanted, f"event {index + 1}"
        decided += 1
    assert decided >= 2


def _normalized(history: dict[str, Any]) -> str:
    """The history's events and expectations with its ids named by order of appearance."""
    text = json.dumps({"events": history["events"], "expected": history["expected"]})
    text = text.replace(history["execution_id"], "<execution>")
    ids = dict.fromkeys(raw["id"] for raw in history["events"] if raw.get("id"))
    for number, seid in enumerate(ids, 1):
        text = text.replace(seid, f"<step execution {number}>")
    return text


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_todays_code_records_the_same_history(scenario: Scenario, tmp_path: Path) -> None:
    """Run each runbook again through the service and runner: the events written, key for key,
    and the execution reported are the recorded ones (ids aside)."""
    fresh = json.loads(record(scenario, tmp_path).read_text())
    kept = json.loads((HISTORIES / f"{scenario.name}.json").read_text())
    assert [raw["type"] for raw in fresh["events"]] == [raw["type"] for raw in kept["events"]]
    assert _normalized(fresh) == _normalized(kept)
    assert all(list(a) == list(b) for a, b in zip(fresh["events"], kept["events"], strict=True))
    derived = [raw["id"] for raw in fresh["events"]
               if raw["type"] in ("StepStarted", "StepInstant", "LoopStarted", "WaitStarted")
               and raw.get("id")]
    assert derived  # every scenario starts step executions
    for seq, raw in enumerate(fresh["events"], 1):
        if raw.get("id") in derived and raw["id"] not in [
                r.get("id") for r in fresh["events"][:seq - 1]]:
            assert raw["id"] == step_execution_id(fresh["execution_id"], seq)

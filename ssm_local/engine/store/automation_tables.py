"""The store's Automation tables: one row per execution and its append-only event log.

An execution row carries what ListAutomationExecutions/DescribeAutomationExecutions show
(document, status, mode, times, parent) plus the runbook's content, so that a restarted process
can resume it without the registry. The ``automation_events`` rows are the execution's history:
every state change the runner made, in order (``seq``), as JSON; the runner is the log's only
writer. Replaying the log through the interpreter rebuilds the execution exactly. Signals from
other processes wait in ``automation_signals`` until the runner takes them into the log.
Timestamps are UTC epoch seconds (``float``), as elsewhere in the store.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class AutomationExecutionRow(SQLModel, table=True):
    """One Automation execution."""

    __tablename__ = "automation_executions"

    execution_id: str = Field(primary_key=True, max_length=64)
    document_name: str = Field(index=True, max_length=255)
    document_version: str = Field(default="1", max_length=32)
    document_content: str
    document_format: str = Field(default="JSON", max_length=8)
    status: str = Field(index=True, max_length=32)
    mode: str = Field(default="Auto", max_length=16)
    parameters: str
    outputs: str = "{}"
    failure_message: str | None = None
    parent_execution_id: str | None = Field(default=None, index=True, max_length=64)
    options: str = "{}"
    """How to run it again after a restart (endpoint URL, region, attachments directory)."""
    start_time: float
    end_time: float | None = None
    event_count: int = 0


class AutomationEventRow(SQLModel, table=True):
    """One event in an execution's history."""

    __tablename__ = "automation_events"

    execution_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    type: str = Field(max_length=32)
    payload: str
    at: float


class AutomationSignalRow(SQLModel, table=True):
    """A signal sent to an execution (Approve, Reject, Resume, StartStep, StopStep, Cancel),
    waiting for the execution's runner to take it into its history."""

    __tablename__ = "automation_signals"

    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=64)
    signal_type: str = Field(max_length=32)
    payload: str = "{}"
    sent_at: float
    consumed: bool = Field(default=False, index=True)


AUTOMATION_TABLES: tuple[type[SQLModel], ...] = (
    AutomationExecutionRow, AutomationEventRow, AutomationSignalRow,
)

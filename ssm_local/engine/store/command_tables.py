"""The store's Run Command tables: nodes, commands, command invocations and plugin results. Each class
is one table, added by its own migration in ``ssm_local.engine.store.migrations``. Timestamps are UTC epoch
seconds (``float``), as in ``ssm_local.engine.store.tables``; JSON values (parameters, targets) are stored as
text. A plugin row keeps the complete standard output and error of one step on one node; the API's
truncated views (24,000 and 8,000 characters) are computed when read. Node tags live in the shared
``resource_tags`` table under the resource type ``ManagedInstance``, as AWS's AddTagsToResource
names it.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class NodeRow(SQLModel, table=True):
    """A managed node: this machine, an extra local node, an SSH host, or a plugin executor's node."""

    __tablename__ = "nodes"

    node_id: str = Field(primary_key=True, max_length=20)
    name: str = Field(unique=True, max_length=255)
    kind: str = Field(max_length=16)
    """``self`` (the machine ssm-local runs on), ``local``, ``ssh`` or ``plugin``."""
    platform_type: str = Field(max_length=16)
    platform_name: str = Field(default="", max_length=255)
    platform_version: str = Field(default="", max_length=64)
    computer_name: str = Field(default="", max_length=255)
    host: str | None = Field(default=None, max_length=255)
    port: int | None = None
    username: str | None = Field(default=None, max_length=255)
    key_path: str | None = Field(default=None, max_length=4096)
    known_hosts: str | None = Field(default=None, max_length=4096)
    accept_new_host_keys: bool = False
    registration_date: float
    executor: str = Field(default="local", max_length=64)
    """The executor's name in the executor registry (``local``, ``ssh``, a plugin's); migration 4."""
    executor_options: str = "{}"
    """A plugin executor's options, a JSON object; migration 4."""


class CommandRow(SQLModel, table=True):
    """One SendCommand request: the document, its parameters, the targets and the counters."""

    __tablename__ = "commands"

    command_id: str = Field(primary_key=True, max_length=36)
    document_name: str = Field(index=True, max_length=4096)
    document_version: str = Field(default="", max_length=32)
    document_hash: str = Field(default="", max_length=64)
    document_content: str = ""
    comment: str = Field(default="", max_length=100)
    parameters: str = "{}"
    instance_ids: str = "[]"
    targets: str = "[]"
    requested_at: float = Field(index=True)
    expires_after: float | None = None
    status: str = Field(max_length=16)
    status_details: str = Field(max_length=32)
    max_concurrency: str = Field(max_length=7)
    max_errors: str = Field(max_length=7)
    timeout_seconds: int | None = None
    target_count: int = 0
    completed_count: int = 0
    error_count: int = 0
    delivery_timed_out_count: int = 0
    cancel_requested: bool = False


class CommandInvocationRow(SQLModel, table=True):
    """One command on one node."""

    __tablename__ = "command_invocations"

    command_id: str = Field(primary_key=True, max_length=36, foreign_key="commands.command_id")
    instance_id: str = Field(primary_key=True, index=True, max_length=20)
    position: int
    instance_name: str = Field(default="", max_length=255)
    requested_at: float
    status: str = Field(max_length=16)
    status_details: str = Field(max_length=32)
    response_code: int = -1
    started_at: float | None = None
    finished_at: float | None = None


class CommandPluginRow(SQLModel, table=True):
    """One step (plugin) of a command on one node, with its full output."""

    __tablename__ = "command_plugins"

    command_id: str = Field(primary_key=True, max_length=36, foreign_key="commands.command_id")
    instance_id: str = Field(primary_key=True, max_length=20)
    position: int = Field(primary_key=True)
    name: str = Field(max_length=255)
    plugin: str = Field(max_length=64)
    status: str = Field(max_length=16)
    status_details: str = Field(max_length=32)
    response_code: int = -1
    started_at: float | None = None
    finished_at: float | None = None
    stdout: str = ""
    stderr: str = ""


COMMAND_TABLES = (NodeRow, CommandRow, CommandInvocationRow, CommandPluginRow)

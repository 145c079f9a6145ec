"""Run Command's read calls in AWS's shapes: GetCommand (as ListCommands' ``Command``), ListCommands,
ListCommandInvocations (with ``CommandPlugins`` on request), GetCommandInvocation and the full
output of one invocation.

``CommandViews`` reads the store only. ListCommands and ListCommandInvocations take AWS's filters
(``InvokedAfter``, ``InvokedBefore``, ``Status``, ``ExecutionStage``, ``DocumentName``) and pages
(``MaxResults`` 1-50, an opaque ``NextToken``); outputs are truncated as the API truncates them
(24,000 characters of standard output, 8,000 of standard error, 2,500 of ``Output``), while
``get_command_output`` returns them whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ssm_local.engine.command.results import (
    IN_PROGRESS,
    MAX_STDERR_CHARS,
    MAX_STDOUT_CHARS,
    PENDING,
    PluginResult,
    plugin_output,
)
from ssm_local.engine.command.spool import OutputSpool
from ssm_local.engine.services.command_models import (
    COMMANDS,
    DEFAULT_TIMEOUT_SECONDS,
    INVOCATIONS,
    PLUGINS,
    CommandError,
)
from ssm_local.engine.store import Store
from ssm_local.engine.wire import (
    decode_token,
    encode_token,
    from_epoch,
    iso8601_millis,
    parse_iso8601,
)


class CommandViews:
    """The read side of Run Command over one store; ``region`` is reported as OutputS3Region."""

    def __init__(self, store: Store, *, region: str = "us-east-1",
                 spool: OutputSpool | None = None) -> None:
        self.store = store
        self.region = region
        self.spool = spool

    def get_command(self, command_id: str) -> dict[str, Any]:
        """The ``Command`` shape of ListCommands for one command; CommandError InvalidCommandId
        when there is no such command."""
        with self.store.read() as conn:
            row = conn.execute(sa.select(COMMANDS).where(
                COMMANDS.c.command_id == command_id)).mappings().first()
        if row is None:
            raise CommandError(f"command {command_id!r} does not exist", code="InvalidCommandId")
        return self._command_shape(row)

    def list_commands(self, *, command_id: str | None = None, instance_id: str | None = None,
                      filters: Sequence[Mapping[str, str]] | None = None,
                      max_results: int | None = None, next_token: str | None = None
                      ) -> dict[str, Any]:
        """ListCommands, newest first, with AWS's filters and NextToken pages:
        ``{"Commands": [Command...], "NextToken"?}``. Raises CommandError InvalidCommandId,
        InvalidFilterKey, InvalidFilterValue, InvalidNextToken or ValidationException (MaxResults)."""
        query = sa.select(COMMANDS).order_by(COMMANDS.c.requested_at.desc(),
                                              COMMANDS.c.command_id)
        if command_id is not None:
            query = query.where(COMMANDS.c.command_id == command_id)
        if instance_id is not None:
            query = query.where(COMMANDS.c.command_id.in_(
                sa.select(INVOCATIONS.c.command_id).where(
                    INVOCATIONS.c.instance_id == instance_id)))
        query = _filtered(query, COMMANDS, filters)
        rows, token = self._page(query, "ListCommands", max_results, next_token)
        if command_id is not None and not rows and next_token is None:
            raise CommandError(f"command {command_id!r} does not exist", code="InvalidCommandId")
        return _with_token({"Commands": [self._command_shape(row) for row in rows]}, token)

    def list_command_invocations(self, *, command_id: str | None = None,
                                 instance_id: str | None = None, details: bool = False,
                                 filters: Sequence[Mapping[str, str]] | None = None,
                                 max_results: int | None = None,
                                 next_token: str | None = None) -> dict[str, Any]:
        """ListCommandInvocations: ``{"CommandInvocations": [CommandInvocation...], "NextToken"?}``,
        newest command first, then in target order; ``details`` fills ``CommandPlugins``. Raises as
        ``list_commands``."""
        query = (sa.select(INVOCATIONS, COMMANDS.c.document_name, COMMANDS.c.document_version,
                           COMMANDS.c.comment)
                 .join(COMMANDS, COMMANDS.c.command_id == INVOCATIONS.c.command_id)
                 .order_by(COMMANDS.c.requested_at.desc(), INVOCATIONS.c.command_id,
                           INVOCATIONS.c.position))
        if command_id is not None:
            query = query.where(INVOCATIONS.c.command_id == command_id)
        if instance_id is not None:
            query = query.where(INVOCATIONS.c.instance_id == instance_id)
        query = _filtered(query, INVOCATIONS, filters)
        rows, token = self._page(query, "ListCommandInvocations", max_results, next_token)
        plugins: dict[tuple[str, str], list[Any]] = {}
        if rows:
            keys = {(row["command_id"], row["instance_id"]) for row in rows}
            plugin_query = sa.select(PLUGINS).where(
                PLUGINS.c.command_id.in_({k[0] for k in keys})).order_by(PLUGINS.c.position)
            if instance_id is not None:
                plugin_query = plugin_query.where(PLUGINS.c.instance_id == instance_id)
            with self.store.read() as conn:
                for plugin in conn.execute(plugin_query).mappings():
                    key = (plugin["command_id"], plugin["instance_id"])
                    if key in keys:
                        plugins.setdefault(key, []).append(plugin)
        if command_id is not None and not rows and next_token is None:
            self.get_command(command_id)
        shapes = []
        for row in rows:
            own = plugins.get((row["command_id"], row["instance_id"]), [])
            shape = self._invocation_shape(row, own)
            shape["CommandPlugins"] = [self._plugin_shape(p) for p in own] if details else []
            shapes.append(shape)
        return _with_token({"CommandInvocations": shapes}, token)

    def _page(self, query: Any, kind: str, max_results: int | None,
              next_token: str | None) -> tuple[list[Any], str | None]:
        if max_results is not None and not 1 <= max_results <= MAX_RESULTS:
            raise CommandError(f"MaxResults must be between 1 and {MAX_RESULTS}",
                               code="ValidationException")
        offset = decode_token(kind, next_token, error=CommandError) or 0
        if not isinstance(offset, int) or offset < 0:
            raise CommandError("The NextToken is not valid for this request.",
                               code="InvalidNextToken")
        if max_results is not None:
            query = query.limit(max_results + 1)
        with self.store.read() as conn:
            rows = list(conn.execute(query.offset(offset)).mappings().all())
        if max_results is not None and len(rows) > max_results:
            return rows[:max_results], encode_token(kind, offset + max_results)
        return rows, None

    def get_command_invocation(self, command_id: str, instance_id: str,
                               plugin_name: str | None = None) -> dict[str, Any]:
        """GetCommandInvocation: one plugin's result (the only one, or ``plugin_name``), with
        standard output and error truncated to 24,000 and 8,000 characters. Raises CommandError
        InvalidCommandId, InvocationDoesNotExist or InvalidPluginName (no such plugin, or
        several plugins and no ``plugin_name``)."""
        invocation, plugins = self._invocation_rows(command_id, instance_id)
        if plugin_name is not None:
            chosen = [p for p in plugins if p["name"] == plugin_name]
            if not chosen:
                raise CommandError(f"invocation {command_id}/{instance_id} has no plugin "
                                   f"{plugin_name!r}", code="InvalidPluginName")
        elif len(plugins) > 1:
            raise CommandError(f"the document has {len(plugins)} steps; give the PluginName of "
                               f"one ({', '.join(p['name'] for p in plugins)})",
                               code="InvalidPluginName")
        else:
            chosen = plugins
        base = {
            "CommandId": command_id, "InstanceId": instance_id,
            "Comment": invocation["comment"], "DocumentName": invocation["document_name"],
            "DocumentVersion": invocation["document_version"],
            "StandardOutputUrl": "", "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
        }
        if not chosen:  # nothing ran yet
            return {**base, "PluginName": plugin_name or "", "ResponseCode": -1,
                    "ExecutionStartDateTime": "", "ExecutionElapsedTime": "",
                    "ExecutionEndDateTime": "", "Status": invocation["status"],
                    "StatusDetails": invocation["status_details"],
                    "StandardOutputContent": "", "StandardErrorContent": ""}
        plugin = chosen[0]
        started, finished = plugin["started_at"], plugin["finished_at"]
        elapsed = (f"PT{max(finished - started, 0):.3f}S"
                   if started is not None and finished is not None else "")
        return {**base, "PluginName": plugin["name"], "ResponseCode": plugin["response_code"],
                "ExecutionStartDateTime": iso8601_millis(from_epoch(started)),
                "ExecutionElapsedTime": elapsed,
                "ExecutionEndDateTime": iso8601_millis(from_epoch(finished)),
                "Status": plugin["status"],
                "StatusDetails": plugin["status_details"],
                "StandardOutputContent": plugin["stdout"][:MAX_STDOUT_CHARS],
                "StandardErrorContent": plugin["stderr"][:MAX_STDERR_CHARS]}

    def get_command_output(self, command_id: str, instance_id: str,
                           plugin_name: str | None = None) -> tuple[str, str]:
        """The whole ``(stdout, stderr)`` of one invocation or one of its plugins: the store's
        text, or the spool file's when the store's view was cut (a spool file holds at most the
        output limit, then ``--output truncated--``). Raises CommandError InvalidCommandId,
        InvocationDoesNotExist or InvalidPluginName."""
        _, plugins = self._invocation_rows(command_id, instance_id)
        if plugin_name is not None:
            plugins = [p for p in plugins if p["name"] == plugin_name]
            if not plugins:
                raise CommandError(f"invocation {command_id}/{instance_id} has no plugin "
                                   f"{plugin_name!r}", code="InvalidPluginName")
        return (
            "".join(self._whole(command_id, instance_id, p, "stdout", MAX_STDOUT_CHARS)
                    for p in plugins),
            "".join(self._whole(command_id, instance_id, p, "stderr", MAX_STDERR_CHARS)
                    for p in plugins))

    def _whole(self, command_id: str, instance_id: str, plugin: Any, stream: str,
               view: int) -> str:
        text: str = plugin[stream]
        if self.spool is None or len(text) < view:
            return text
        spooled = self.spool.read(command_id, instance_id, plugin["name"], stream)
        return text if spooled is None else spooled

    def _invocation_rows(self, command_id: str, instance_id: str) -> tuple[Any, list[Any]]:
        with self.store.read() as conn:
            invocation = conn.execute(
                sa.select(INVOCATIONS, COMMANDS.c.document_name, COMMANDS.c.document_version,
                          COMMANDS.c.comment)
                .join(COMMANDS, COMMANDS.c.command_id == INVOCATIONS.c.command_id)
                .where(INVOCATIONS.c.command_id == command_id,
                       INVOCATIONS.c.instance_id == instance_id)).mappings().first()
            plugins = conn.execute(sa.select(PLUGINS).where(
                PLUGINS.c.command_id == command_id, PLUGINS.c.instance_id == instance_id)
                .order_by(PLUGINS.c.position)).mappings().all()
        if invocation is None:
            self.get_command(command_id)
            raise CommandError(f"command {command_id} has no invocation on {instance_id!r}",
                               code="InvocationDoesNotExist")
        return invocation, list(plugins)

    def _command_shape(self, row: Any) -> dict[str, Any]:
        return {
            "CommandId": row["command_id"], "DocumentName": row["document_name"],
            "DocumentVersion": row["document_version"], "Comment": row["comment"],
            "ExpiresAfter": from_epoch(row["expires_after"]),
            "Parameters": json.loads(row["parameters"]),
            "InstanceIds": json.loads(row["instance_ids"]), "Targets": json.loads(row["targets"]),
            "RequestedDateTime": from_epoch(row["requested_at"]), "Status": row["status"],
            "StatusDetails": row["status_details"], "OutputS3Region": self.region,
            "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
            "MaxConcurrency": row["max_concurrency"], "MaxErrors": row["max_errors"],
            "TargetCount": row["target_count"], "CompletedCount": row["completed_count"],
            "ErrorCount": row["error_count"],
            "DeliveryTimedOutCount": row["delivery_timed_out_count"], "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [],
                                   "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
            "TimeoutSeconds": row["timeout_seconds"] or DEFAULT_TIMEOUT_SECONDS,
            "TriggeredAlarms": [],
        }

    def _invocation_shape(self, row: Any, plugins: Sequence[Any]) -> dict[str, Any]:
        trace = plugin_output("".join(p["stdout"] for p in plugins),
                              "".join(p["stderr"] for p in plugins)) if plugins else ""
        return {
            "CommandId": row["command_id"], "InstanceId": row["instance_id"],
            "InstanceName": row["instance_name"], "Comment": row["comment"],
            "DocumentName": row["document_name"], "DocumentVersion": row["document_version"],
            "RequestedDateTime": from_epoch(row["requested_at"]), "Status": row["status"],
            "StatusDetails": row["status_details"], "TraceOutput": trace,
            "StandardOutputUrl": "", "StandardErrorUrl": "", "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [],
                                   "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
        }

    def _plugin_shape(self, row: Any) -> dict[str, Any]:
        result = PluginResult(row["name"], row["plugin"], row["status"], row["status_details"],
                              row["response_code"], from_epoch(row["started_at"]),
                              from_epoch(row["finished_at"]), row["stdout"], row["stderr"])
        shape = result.to_api()
        shape["OutputS3Region"] = self.region
        return shape


MAX_RESULTS = 50
_FILTER_KEYS = ("InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName")


def _filtered(query: Any, table: Any, filters: Sequence[Mapping[str, str]] | None) -> Any:
    """ListCommands / ListCommandInvocations filters (``{"key": ..., "value": ...}``)."""
    for item in filters or []:
        key, value = item.get("key"), item.get("value")
        if key not in _FILTER_KEYS or not isinstance(value, str) or not value:
            raise CommandError(f"filter key {key!r} is not valid: use one of "
                               f"{', '.join(_FILTER_KEYS)} with a value", code="InvalidFilterKey")
        if key in ("InvokedAfter", "InvokedBefore"):
            try:
                when = parse_iso8601(value)
            except ValueError:
                raise CommandError(f"{key} needs an ISO 8601 date, got {value!r}",
                                   code="InvalidFilterValue") from None
            column = table.c.requested_at
            query = query.where(column >= when.timestamp() if key == "InvokedAfter"
                                else column <= when.timestamp())
        elif key == "Status":
            query = query.where(table.c.status == value)
        elif key == "ExecutionStage":
            if value not in ("Executing", "Complete"):
                raise CommandError("ExecutionStage is Executing or Complete",
                                   code="InvalidFilterValue")
            running = table.c.status.in_((PENDING, IN_PROGRESS, "Delayed", "Cancelling"))
            query = query.where(running if value == "Executing" else sa.not_(running))
        else:
            query = query.where(COMMANDS.c.document_name == value)
    return query


def _with_token(shape: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        shape["NextToken"] = token
    return shape




__all__ = ["MAX_RESULTS", "CommandViews"]

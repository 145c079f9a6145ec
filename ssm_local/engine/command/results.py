"""Results of Command documents: per-plugin and per-invocation, in AWS's terms and limits.

A ``PluginResult`` is what ListCommandInvocations reports as ``CommandPlugins[]`` and
GetCommandInvocation reports for one plugin: Status, StatusDetails, ResponseCode, start and end
times, the combined ``Output`` (at most 2,500 characters, cut the agent's way: see
``plugin_output``) and the standard output and error (the API shows the first 24,000 and 8,000
characters, and the store keeps no more; the whole output is in the spool, ``command.spool``). An
``InvocationResult`` aggregates the plugins of one node with the agent's precedence: Failed,
then TimedOut, then Cancelled, else Success (Skipped counts as Success).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_STDOUT_CHARS = 24_000
MAX_STDERR_CHARS = 8_000
MAX_PLUGIN_OUTPUT_CHARS = 2_500
OUTPUT_TRUNCATED = "\n---Output truncated---"
ERROR_TRUNCATED = "\n---Error truncated----"
ERROR_SEPARATOR = "\n----------ERROR-------\n"

SUCCESS = "Success"
FAILED = "Failed"
TIMED_OUT = "TimedOut"
CANCELLED = "Cancelled"
PENDING = "Pending"
IN_PROGRESS = "InProgress"


def plugin_output(stdout: str, stderr: str) -> str:
    """The agent's ``Output`` (its iohandler ``TruncateOutput``): stdout, then stderr after a
    separator, at most 2,500 characters. When both streams are long each keeps the first half of
    the room and its marker (``---Output truncated---``, ``---Error truncated----``); when one
    is short the other is cut to what is left."""
    title = ERROR_SEPARATOR if stderr else ""
    room = MAX_PLUGIN_OUTPUT_CHARS - len(title)
    if len(stdout) + len(stderr) < room:
        return stdout + title + stderr
    if len(stdout) > room // 2 and len(stderr) > room // 2:
        half = (room - len(ERROR_TRUNCATED) - len(OUTPUT_TRUNCATED)) // 2
        return stdout[:half] + OUTPUT_TRUNCATED + title + stderr[:half] + ERROR_TRUNCATED
    if len(stdout) <= room // 2:
        return stdout + title + stderr[: room - len(ERROR_TRUNCATED) - len(stdout)] + ERROR_TRUNCATED
    return stdout[: room - len(OUTPUT_TRUNCATED) - len(stderr)] + OUTPUT_TRUNCATED + title + stderr


@dataclass(frozen=True)
class PluginResult:
    """One step (plugin) of a Command document on one node."""

    name: str
    plugin: str
    status: str
    status_details: str
    response_code: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stdout: str = ""
    stderr: str = ""
    skip_remaining: bool = field(default=False, compare=False)
    """The agent's control flow: no later step runs (exit 168/169, onFailure/onSuccess exit)."""

    @property
    def output(self) -> str:
        return plugin_output(self.stdout, self.stderr)

    @property
    def standard_output_content(self) -> str:
        return self.stdout[:MAX_STDOUT_CHARS]

    @property
    def standard_error_content(self) -> str:
        return self.stderr[:MAX_STDERR_CHARS]

    def to_api(self) -> dict[str, Any]:
        """The ``CommandPlugin`` shape of ListCommandInvocations."""
        data: dict[str, Any] = {
            "Name": self.name,
            "Status": self.status,
            "StatusDetails": self.status_details,
            "ResponseCode": self.response_code,
            "Output": self.output,
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "OutputS3Region": "",
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
        }
        if self.started_at is not None:
            data["ResponseStartDateTime"] = self.started_at
        if self.finished_at is not None:
            data["ResponseFinishDateTime"] = self.finished_at
        return data


def skipped(name: str, plugin: str, note: str = "") -> PluginResult:
    """A step that did not run: Status Success, StatusDetails Skipped (it counts as success)."""
    return PluginResult(name, plugin, SUCCESS, "Skipped", 0, stdout=note)


@dataclass(frozen=True)
class InvocationResult:
    """All plugins of one document on one node, with the aggregate status."""

    status: str
    status_details: str
    response_code: int
    plugins: tuple[PluginResult, ...]
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def aggregate(cls, plugins: list[PluginResult], started_at: datetime | None,
                  finished_at: datetime | None) -> InvocationResult:
        statuses = [p.status for p in plugins]
        if FAILED in statuses:
            status, details = FAILED, _details_of(plugins, FAILED, "Failed")
        elif TIMED_OUT in statuses:
            status, details = TIMED_OUT, "Execution Timed Out"
        elif CANCELLED in statuses:
            status, details = CANCELLED, "Cancelled"
        else:
            status, details = SUCCESS, "Success"
        code = 0
        ran = [p for p in plugins if p.status_details != "Skipped"]
        for plugin in ran:
            code = plugin.response_code
            if plugin.status == status and status != SUCCESS:
                break
        return cls(status, details, code, tuple(plugins), started_at, finished_at)

    @property
    def stdout(self) -> str:
        return "".join(p.stdout for p in self.plugins)

    @property
    def stderr(self) -> str:
        return "".join(p.stderr for p in self.plugins)


def _details_of(plugins: list[PluginResult], status: str, default: str) -> str:
    for plugin in plugins:
        if plugin.status == status and plugin.status_details not in ("", status):
            return plugin.status_details
    return default

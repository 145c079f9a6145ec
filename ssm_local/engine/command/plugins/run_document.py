"""``aws:runDocument``: run another Command document from the registry or from a path on the node.

``documentType: SSMDocument`` finds ``documentPath`` (``name`` or ``name:version``) through the
command's document resolver (the registry, then the bundled library); ``LocalPath`` reads the file
on the node (a relative path resolves under the node's downloads directory; a directory holding a
single document is accepted, as aws:downloadContent of an SSMDocument writes one). The document's
own parameters are resolved from ``documentParameters`` (a map, or JSON/YAML text; null values
are dropped) and checked before anything runs. Nesting is limited to three levels, as in the
agent; ``AWS-Noop`` succeeds without running anything. The nested document runs through
``StepContext.run_document``, with the plugin table of the outer one. A cancel or the overall
timeout while a LocalPath document is read ends the step Cancelled or TimedOut.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

import yaml

from ssm_local import documents
from ssm_local.documents.parameters import resolve_parameters
from ssm_local.engine.command.plugins.base import (
    FAILED,
    SUCCESS,
    PluginResult,
    StepContext,
    interrupted,
    time_left,
)
from ssm_local.engine.executors.base import InvocationRequest
from ssm_local.grammar.errors import DocumentError, ParameterError

MAX_DOCUMENT_DEPTH = 3
"""aws:runDocument nesting limit (the agent's)."""
READ_TIMEOUT = 60
"""Seconds a LocalPath document may take to be read on the node (cut to the overall deadline)."""


class _Interrupted(Exception):
    """The LocalPath read was cancelled or timed out: the step ends with ``status``/``details``."""

    def __init__(self, status: str, details: str, code: int) -> None:
        super().__init__(details)
        self.status, self.details, self.code = status, details, code


def _fail(ctx: StepContext, message: str) -> PluginResult:
    return PluginResult(ctx.step.name, ctx.step.action, FAILED, "Failed", 1,
                        ctx.node.clock.now(), ctx.node.clock.now(), stderr=message.rstrip("\n") + "\n")


def _parameters(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise ParameterError(f"documentParameters is neither JSON nor YAML: {exc}") from None
    if not isinstance(value, dict):
        raise ParameterError("documentParameters must be a map of parameter names to values")
    return {k: v for k, v in value.items() if v is not None}


async def _read_local(ctx: StepContext, path: str) -> tuple[str, str]:
    if not posixpath.isabs(path):
        path = posixpath.join(ctx.node.work_dir, "downloads", path)
    script = (
        'p="$SSM_LOCAL_PATH"\n'
        'if [ -d "$p" ]; then\n'
        '  set -- "$p"/*.json "$p"/*.yaml "$p"/*.yml\n'
        '  for f in "$@"; do [ -f "$f" ] && { printf "%s\\n" "$f"; cat -- "$f"; exit 0; }; done\n'
        '  echo "no document in directory $p" >&2; exit 2\n'
        "fi\n"
        'printf "%s\\n" "$p"; cat -- "$p"\n'
    )
    result = await ctx.node.executor.run(
        InvocationRequest(script=script, environment={"SSM_LOCAL_PATH": path},
                          timeout_seconds=time_left(ctx.node, READ_TIMEOUT),
                          script_filename="_read_document.sh",
                          capture_bytes=documents.loader.MAX_READ_BYTES + 4096),
        cancel=ctx.node.cancel,
    )
    stopped = interrupted(result)
    if stopped is not None:
        raise _Interrupted(*stopped, result.exit_code)
    if not result.ok:
        raise DocumentError(
            f"cannot read {path} on node {ctx.node.node_id}: "
            f"{(result.stderr_text or result.error or '').strip()}", code="InvalidDocument")
    name, _, text = result.stdout_text.partition("\n")
    return name, text


async def run_document(ctx: StepContext) -> PluginResult:
    inputs = ctx.inputs
    started = ctx.node.clock.now()
    if ctx.depth + 1 >= MAX_DOCUMENT_DEPTH + 1:
        return _fail(ctx, f"aws:runDocument nesting is limited to {MAX_DOCUMENT_DEPTH} levels")
    kind = inputs.get("documentType")
    path = inputs.get("documentPath")
    if not isinstance(path, str) or not path:
        return _fail(ctx, "aws:runDocument needs documentPath")
    if path == "AWS-Noop":
        return PluginResult(ctx.step.name, ctx.step.action, SUCCESS, "Success", 0, started,
                            ctx.node.clock.now())
    try:
        if kind == "SSMDocument":
            if ctx.node.resolve_document is None:
                return _fail(ctx, "no document registry is available to find " + path)
            document = ctx.node.resolve_document(path)
        elif kind == "LocalPath":
            source, text = await _read_local(ctx, path)
            document = documents.load(text, source=source)
        else:
            return _fail(ctx, f"documentType must be SSMDocument or LocalPath, not {kind!r}")
        if document.kind != "Command":
            return _fail(ctx, f"{path} is a {document.kind} document; aws:runDocument runs "
                              "Command documents")
        errors = [d for d in documents.validate(document) if d.is_error]
        if errors:
            return _fail(ctx, f"{path} is not valid: " + errors[0].format_text())
        parameters = resolve_parameters(document.parameters,
                                        _parameters(inputs.get("documentParameters")))
    except _Interrupted as stop:
        return PluginResult(ctx.step.name, ctx.step.action, stop.status, stop.details, stop.code,
                            started, ctx.node.clock.now())
    except (DocumentError, ParameterError, KeyError) as exc:
        message = exc.message if isinstance(exc, DocumentError | ParameterError) else str(exc)
        return _fail(ctx, f"aws:runDocument {path}: {message}")
    inner = await ctx.run_document(document, parameters)
    return PluginResult(ctx.step.name, ctx.step.action, inner.status, inner.status_details,
                        inner.response_code, started, ctx.node.clock.now(), inner.stdout,
                        inner.stderr)

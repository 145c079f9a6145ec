"""``aws:runDocument``: run another Command document from the registry or from a path on the node.

``documentType: SSMDocument`` finds ``documentPath`` (``name`` or ``name:version``) through the
command's document resolver (the registry, then the bundled library); ``LocalPath`` reads the file
on the node (a relative path resolves under the node's downloads directory; a directory holding a
single document is accepted, as aws:downloadContent of an SSMDocument writes one). The document's
own parameters are resolved from ``documentParameters`` (a map, or JSON/YAML text; null values
are dropped) and checked as they stand before anything runs: they were substituted by the outer
step, so ``{{`` in them is data (only ``{{ssm:name}}`` references are read, from the node's
Parameter Store, as the agent reads them, and so are the nested document's ``{{ssm:...}}``
defaults). Nesting is limited to three levels, as in the
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
from ssm_local.documents.parameters import SsmResolver, resolve_parameters
from ssm_local.engine.command.plugins.base import (
    FAILED,
    SUCCESS,
    PluginResult,
    StepContext,
    interrupted,
    time_left,
    work_dir_guard,
)
from ssm_local.engine.executors.base import InvocationRequest
from ssm_local.grammar.errors import ApiError, DocumentError, ParameterError

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


def _store_resolver(ctx: StepContext) -> SsmResolver | None:
    """``{{ssm:name}}`` in the nested document's defaults, read from the node's Parameter Store
    (a StringList as a list); ``ParameterError`` (ParameterNotFound) when it cannot be read."""
    store = ctx.node.parameter_store
    if store is None:
        return None

    def resolve(name: str) -> Any:
        try:
            parameter = store.get_parameter(name)
        except ApiError as exc:
            raise ParameterError(f"{{{{ssm:{name}}}}} cannot be resolved: {exc.message}",
                                 code="ParameterNotFound") from None
        if parameter.type == "SecureString":
            raise ParameterError(f"Parameters [{parameter.name}] of type SecureString are not "
                                 "supported", code="InvalidParameters")
        return parameter.value.split(",") if parameter.type == "StringList" else parameter.value

    return resolve


async def _read_local(ctx: StepContext, path: str) -> tuple[str, str]:
    guard, environment = "", {"SSM_LOCAL_PATH": path}
    if not posixpath.isabs(path):
        downloads = posixpath.join(ctx.node.work_dir, "downloads")
        path = environment["SSM_LOCAL_PATH"] = posixpath.join(downloads, path)
        guard, guard_environment = work_dir_guard(ctx.node, downloads)
        environment.update(guard_environment)
    script = guard + (
        'p="$SSM_LOCAL_PATH"\n'
        'if [ -d "$p" ]; then\n'
        '  set -- "$p"/*.json "$p"/*.yaml "$p"/*.yml\n'
        '  for f in "$@"; do [ -f "$f" ] && { printf "%s\\n" "$f"; cat -- "$f"; exit 0; }; done\n'
        '  echo "no document in directory $p" >&2; exit 2\n'
        "fi\n"
        'printf "%s\\n" "$p"; cat -- "$p"\n'
    )
    result = await ctx.node.executor.run(
        InvocationRequest(script=script, environment=environment,
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
        # documentParameters were rendered by the outer step: concrete values, checked as they
        # stand ({{ssm:name}} in them resolved first, as the agent's runDocument does).
        parameters = resolve_parameters(document.parameters,
                                        _parameters(inputs.get("documentParameters")),
                                        resolve_ssm=_store_resolver(ctx))
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

"""The Command document interpreter: runs one document's steps on one node, as the SSM agent does.

``run_invocation`` takes a loaded Command document (schemaVersion 1.2, 2.0 or 2.2), the
parameter values already resolved and checked (``ssm_local.documents.parameters.resolve_parameters``),
a ``NodeContext`` (the node's executor, platform and identifiers) and a table of plugins (by
default ``BUILTIN_PLUGINS``), and runs the steps in order (ssm-semantics.md §3-§4): preconditions
(2.2 only), the platform rules (a plugin that does not fit the node is skipped under 2.2 and fails
under 2.0 and 1.2), type-preserving substitution as the agent does it (``substitution`` with
``style="agent"``: the document's own text, ``$$`` included, is never rewritten), then
``{{ssm:name}}`` anywhere in the step's inputs through ``NodeContext.parameter_store`` (a reference
that cannot be used fails the step with the agent's message), ``interpolationType: ENV_VAR``, the control-flow
inputs ``onFailure``, ``onSuccess`` and ``finallyStep``, and the exit codes 168 and 169 that skip
the remaining steps. A failed step does not stop later steps. An overall deadline, and
cancellation through ``NodeContext.cancel``, stop the run; steps that never started are reported
as such. The plugin contract is ``ssm_local.engine.command.plugins.base``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ssm_local.documents.model import Document, Step
from ssm_local.engine.command.plugins import BUILTIN_PLUGINS
from ssm_local.engine.command.plugins.base import CommandPlugin, NodeContext, StepContext
from ssm_local.engine.command.results import (
    CANCELLED,
    FAILED,
    SUCCESS,
    TIMED_OUT,
    InvocationResult,
    PluginResult,
    skipped,
)
from ssm_local.engine.substitution import MISSING, SsmReferenceError, render, render_step_inputs
from ssm_local.engine.wire import to_string
from ssm_local.grammar.errors import TemplateSyntaxError
from ssm_local.grammar.template import ParameterRef, Reference, parse_template

CONTROL_INPUTS = ("onFailure", "onSuccess", "finallyStep")

PLUGIN_PLATFORMS: dict[str, frozenset[str]] = {
    "aws:runShellScript": frozenset({"Linux", "MacOS"}),
    "aws:runPowerShellScript": frozenset({"Windows", "Linux"}),
    "aws:runDocument": frozenset({"Linux", "Windows", "MacOS"}),
    "aws:downloadContent": frozenset({"Linux", "Windows", "MacOS"}),
    "aws:applications": frozenset({"Windows"}),
    "aws:psModule": frozenset({"Windows"}),
    "aws:cloudWatch": frozenset({"Windows"}),
    "aws:updateAgent": frozenset({"Windows"}),
    "aws:runScript": frozenset({"Windows", "Linux"}),
}
"""Where each plugin runs (ssm-semantics.md §4.1); a plugin not listed runs on Linux and Windows."""

DEFAULT_PLATFORMS = frozenset({"Linux", "Windows"})


def plugin_platforms(plugin: str) -> frozenset[str]:
    """The platform types ``plugin`` runs on."""
    return PLUGIN_PLATFORMS.get(plugin, DEFAULT_PLATFORMS)


def parameter_lookup(parameters: Mapping[str, Any]) -> Callable[[Reference], Any]:
    def lookup(ref: Reference) -> Any:
        if isinstance(ref, ParameterRef):
            return parameters.get(ref.name, MISSING)
        return MISSING

    return lookup


def env_var_parameters(document: Document, parameters: Mapping[str, Any]) -> dict[str, str]:
    """``SSM_<name>`` for every parameter declared with ``interpolationType: ENV_VAR``."""
    env: dict[str, str] = {}
    for name, definition in document.parameters.items():
        if definition.interpolation_type == "ENV_VAR" and name in parameters:
            value = parameters[name]
            if isinstance(value, list):
                value = "\n".join(to_string(v) for v in value)
            else:
                value = to_string(value)
            env[f"SSM_{name}"] = value
    return env


def _precondition(step: Step, document: Document, parameters: Mapping[str, Any],
                  platform: str) -> str | None:
    """None when the step may run; "skip" when the condition is false; else a failure message."""
    condition = step.precondition
    if condition is None:
        return None
    if document.schema_version != "2.2":
        return "Precondition is not supported for document schema version prior to 2.2"
    if not isinstance(condition, dict) or list(condition) != ["StringEquals"]:
        return "Unrecognized precondition(s)"
    arguments = condition["StringEquals"]
    if not isinstance(arguments, list) or len(arguments) != 2 or not all(
        isinstance(a, str) for a in arguments
    ):
        return "Unrecognized precondition(s): StringEquals takes exactly two arguments"
    first, second = arguments
    if "platformType" in (first, second):
        other = second if first == "platformType" else first
        return None if other.lower() == platform.lower() else "skip"
    if first == second:
        return "Unrecognized precondition(s): operator's arguments can't be identical"
    declared = False
    for text in arguments:
        try:
            refs = [p.ref for p in parse_template(text).placeholders]
        except TemplateSyntaxError:
            return "Unrecognized precondition(s): malformed placeholder"
        if any(getattr(r, "kind", "") == "ssm" for r in refs):
            return "Unrecognized precondition(s): operator's arguments can't contain SSM parameters"
        declared = declared or any(
            isinstance(r, ParameterRef) and r.name in document.parameters for r in refs
        )
    if not declared:
        return ("Unrecognized precondition(s): at least one of operator's arguments must contain "
                "a valid document parameter")
    lookup = parameter_lookup(parameters)
    left = render(first, lookup, style="agent")
    right = render(second, lookup, style="agent")
    return None if str(left) == str(right) else "skip"


def command_steps(document: Document) -> tuple[Step, ...]:
    """The steps to run. A 1.2 plugin whose ``properties`` the model could not read as a map or
    a list (``aws:cloudWatch`` carries them as text) becomes one step named after the plugin, so
    that it is reported (and fails or is skipped by the platform rules) instead of vanishing."""
    config = document.data.get("runtimeConfig") if document.schema_version == "1.2" else None
    if not isinstance(config, dict):
        return document.steps
    steps: list[Step] = []
    for plugin, body in config.items():
        own = [s for s in document.steps if s.action == plugin]
        if own:
            steps.extend(own)
            continue
        properties = body.get("properties", body.get("Properties")) if isinstance(body, dict) else body
        steps.append(Step(name=plugin, action=plugin, inputs={"properties": properties},
                          path=("runtimeConfig", plugin), index=len(steps), raw={}))
    return tuple(steps)


def _step_inputs(raw_inputs: dict[str, Any], parameters: Mapping[str, Any],
                 node: NodeContext) -> dict[str, Any]:
    """A step's inputs as the agent hands them to the plugin: parameters substituted and
    ``{{ssm:...}}`` resolved in one pass (``SsmReferenceError`` when one cannot be); text from a
    value is never expanded."""
    inputs: dict[str, Any] = render_step_inputs(raw_inputs, parameter_lookup(parameters),
                                                 node.parameter_store)
    return inputs


def _failed(step: Step, message: str, *, started: datetime | None = None,
            finished: datetime | None = None) -> PluginResult:
    return PluginResult(step.name, step.action, FAILED, "Failed", 1, started, finished,
                        stderr=message + "\n")


async def run_invocation(document: Document, parameters: Mapping[str, Any], node: NodeContext,
                         *, depth: int = 0,
                         plugins: Mapping[str, CommandPlugin] = BUILTIN_PLUGINS) -> InvocationResult:
    """Run every step of ``document`` on ``node`` with the handlers of ``plugins`` (plugin name ->
    handler) and aggregate the results; ``depth`` is the aws:runDocument nesting level."""
    started = node.clock.now()
    results: list[PluginResult] = []
    skip_rest = False
    steps = command_steps(document)
    environment = env_var_parameters(document, parameters)
    nested = functools.partial(run_invocation, node=node, depth=depth + 1, plugins=plugins)
    loop = asyncio.get_running_loop()
    for position, step in enumerate(steps):
        is_last = position == len(steps) - 1
        raw_inputs = step.inputs if isinstance(step.inputs, dict) else {}
        finally_step = is_last and str(raw_inputs.get("finallyStep", "")).lower() == "true"
        if node.cancel.is_set():
            results.append(PluginResult(step.name, step.action, CANCELLED, "Cancelled", -1))
            continue
        if node.deadline is not None and loop.time() >= node.deadline:
            results.append(PluginResult(step.name, step.action, TIMED_OUT,
                                        "Execution Timed Out", -1))
            continue
        if skip_rest and not finally_step:
            results.append(skipped(step.name, step.action))
            continue
        verdict = _precondition(step, document, parameters, node.platform)
        if verdict == "skip":
            results.append(skipped(step.name, step.action))
            continue
        if verdict is not None:
            results.append(_failed(step, verdict))
            continue
        if node.platform not in plugin_platforms(step.action):
            if document.schema_version == "2.2" and step.precondition is None:
                results.append(skipped(step.name, step.action))
            else:
                results.append(_failed(
                    step, f"{step.action} is not supported on {node.platform} nodes"))
            continue
        try:
            inputs = _step_inputs(raw_inputs, parameters, node)
        except SsmReferenceError as exc:
            results.append(_failed(step, exc.message))
            continue
        controls = {k: inputs.pop(k) for k in CONTROL_INPUTS if k in inputs}
        handler = plugins.get(step.action)
        if handler is None:
            result = _failed(step, f"plugin {step.action} is not supported by ssm-local")
        else:
            context = StepContext(node, document, step, inputs, parameters, dict(environment),
                                  depth, nested)
            result = await handler(context)
        results.append(result)
        on_failure = str(controls.get("onFailure", "")).strip()
        on_success = str(controls.get("onSuccess", "")).strip()
        if result.skip_remaining or (result.status == SUCCESS and on_success == "exit"):
            skip_rest = True
        elif result.status != SUCCESS and on_failure in ("exit", "successAndExit"):
            skip_rest = True
            if on_failure == "successAndExit":
                results[-1] = PluginResult(
                    result.name, result.plugin, SUCCESS, "Success", 168, result.started_at,
                    result.finished_at, result.stdout, result.stderr, skip_remaining=True)
    return InvocationResult.aggregate(results, started, node.clock.now())


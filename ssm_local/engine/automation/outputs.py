"""Outputs of Automation steps and runbooks, in the types a runbook declares.

A step's ``outputs`` name a Selector (``$.Payload.Items[0].Id``, ``$..Id``, a bare key) into its
action's response and a Type (String, Integer, Boolean, StringList, StringMap, MapList):
``declared_outputs`` evaluates them, ``typed_value`` converts a value to a declared type (also
used for variables and loop iterators). Inside the state outputs keep their native values;
``api_outputs`` and ``document_outputs`` give them AWS's wire shape, lists of strings keyed
``Step.Output``. ``loop_outputs`` are an ``aws:loop``'s CurrentIteration and
CurrentIteratorValue.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ssm_local.documents.model import Document, Step
from ssm_local.engine.automation.state import SUCCESS, ExecutionState, LoopFrame
from ssm_local.engine.wire import to_string_list
from ssm_local.grammar.errors import SelectorSyntaxError
from ssm_local.grammar.selector import evaluate_selector, parse_selector

__all__ = ["api_outputs", "declared_outputs", "document_outputs", "loop_outputs", "typed_value"]

NOT_YET = "No output available yet because the step is not successfully executed"


def typed_value(type_name: str, value: Any) -> Any:
    """``value`` as a ``type_name`` output; ValueError (or TypeError) when it is not one.
    Strings become Integer or Boolean when they spell one; String and StringList items that are
    not strings become their JSON text; an unknown type passes the value through."""
    if type_name == "String":
        return value if isinstance(value, str) else json.dumps(value)
    if type_name == "Integer":
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            return int(value)
        raise ValueError
    if type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if type_name == "StringList":
        return to_string_list(value)
    if type_name == "StringMap":
        if isinstance(value, dict):
            return value
        raise ValueError
    if type_name == "MapList":
        items = value if isinstance(value, list) else [value]
        if all(isinstance(v, dict) for v in items):
            return items
        raise ValueError
    return value


def declared_outputs(step: Step, response: Any) -> tuple[dict[str, Any], str | None]:
    """Evaluate the step's ``outputs`` Selectors against ``response``: ``(values, problem)``,
    where ``problem`` is the step's FailureMessage for a malformed selector or a value of the
    wrong type. A selector that matches nothing leaves its output unset (docs/decisions.md)."""
    values: dict[str, Any] = {}
    for output in step.outputs:
        try:
            selector = parse_selector(output.selector)
        except SelectorSyntaxError as exc:
            return values, f"output '{output.name}': {exc.message}"
        matches = evaluate_selector(selector, response)
        if not matches:
            continue
        value = matches[0] if selector.is_singular else matches
        try:
            values[output.name] = typed_value(output.type, value)
        except (ValueError, TypeError):
            shown = json.dumps(value, default=str)[:80]
            return values, (f"output '{output.name}' selected {shown}, which is not a "
                            f"{output.type}")
    return values, None


def api_outputs(outputs: dict[str, Any], step_name: str) -> dict[str, list[str]]:
    """``Step.Output`` → list of strings, the shape AWS reports a StepExecution's outputs in."""
    return {f"{step_name}.{name}": to_string_list(value) for name, value in outputs.items()}


def document_outputs(document: Document, state: ExecutionState, status: str
                     ) -> dict[str, list[str]]:
    """The runbook's declared ``outputs`` (``Step.Output`` entries) as an execution with
    ``status`` reports them: an output with no value is AWS's "No output available yet" note,
    or an empty list once the execution succeeded."""
    outputs: dict[str, list[str]] = {}
    for entry in document.outputs:
        step, _, name = entry.partition(".")
        value = state.outputs.get(step, {}).get(name)
        if value is None:
            outputs[entry] = [NOT_YET] if status != SUCCESS else []
            continue
        outputs[entry] = to_string_list(value)
    return outputs


def loop_outputs(frame: LoopFrame) -> dict[str, Any]:
    """An ``aws:loop``'s outputs on its current pass."""
    outputs: dict[str, Any] = {"CurrentIteration": frame.iteration}
    if frame.items:
        outputs["CurrentIteratorValue"] = frame.items[frame.iteration - 1]
    return outputs

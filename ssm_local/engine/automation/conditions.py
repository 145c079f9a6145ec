"""Conditions of ``aws:branch`` Choices and ``aws:loop``'s LoopCondition.

A condition is a ``Variable`` with one operator (StringEquals, EqualsIgnoreCase, StartsWith,
EndsWith, Contains, BooleanEquals, NumericEquals, NumericGreater, NumericLesser,
NumericGreaterOrEquals, NumericLesserOrEquals) or a combination with ``And`` / ``Or`` (lists) and
``Not`` (one condition), as in ssm-semantics.md §5. Values are resolved against the execution's
state at ``now``; string operators compare a non-string variable in its JSON text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ssm_local.engine.automation.references import resolve
from ssm_local.engine.automation.state import ExecutionState

__all__ = ["evaluate_condition"]


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return float(value)


def evaluate_condition(condition: dict[str, Any], state: ExecutionState, now: datetime) -> bool:
    """One branch-style condition: Variable + operator, or And / Or / Not.

    Raises ``references.Unresolved`` for a reference with no value, ValueError or TypeError for
    a value a numeric operator cannot compare, StopIteration for a condition with no operator."""
    if "And" in condition:
        return all(evaluate_condition(c, state, now) for c in condition["And"])
    if "Or" in condition:
        return any(evaluate_condition(c, state, now) for c in condition["Or"])
    if "Not" in condition:
        return not evaluate_condition(condition["Not"], state, now)
    variable = resolve(condition.get("Variable"), state, now)
    operator = next(k for k in condition if k not in ("Variable", "NextStep"))
    operand = resolve(condition[operator], state, now)
    text = variable if isinstance(variable, str) else json.dumps(variable)
    if operator == "StringEquals":
        return text == str(operand)
    if operator == "EqualsIgnoreCase":
        return text.lower() == str(operand).lower()
    if operator == "StartsWith":
        return text.startswith(str(operand))
    if operator == "EndsWith":
        return text.endswith(str(operand))
    if operator == "Contains":
        if isinstance(variable, list):
            return operand in variable or str(operand) in [str(v) for v in variable]
        return str(operand) in text
    if operator == "BooleanEquals":
        left = variable if isinstance(variable, bool) else str(variable).lower() == "true"
        right = operand if isinstance(operand, bool) else str(operand).lower() == "true"
        return left == right
    left_n, right_n = _number(variable), _number(operand)
    return {
        "NumericEquals": left_n == right_n,
        "NumericGreater": left_n > right_n,
        "NumericLesser": left_n < right_n,
        "NumericGreaterOrEquals": left_n >= right_n,
        "NumericLesserOrEquals": left_n <= right_n,
    }[operator]

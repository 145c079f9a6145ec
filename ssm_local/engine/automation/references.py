"""References in a runbook's inputs: ``{{ Param }}``, ``{{ step.Output }}``, ``variable:``,
``global:`` and ``automation:EXECUTION_ID``, resolved against an execution's state.

``lookup_for(state, now)`` is the resolver ``substitution.render`` calls for each reference;
``resolve(value, state, now)`` substitutes a whole input value. The time for ``global:DATE`` and
``global:DATE_TIME`` is the ``now`` given (the interpreter's, never the wall clock). A reference
with no value raises ``Unresolved`` (the step fails with ``describe(ref)`` in its message) unless
the resolver is built with ``strict=False``, which leaves it verbatim, as the SSM agent does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ssm_local.engine.automation.state import ExecutionState
from ssm_local.engine.substitution import MISSING, Lookup, render
from ssm_local.grammar.template import NamespacedRef, ParameterRef, Reference, StepOutputRef

__all__ = ["Unresolved", "describe", "global_value", "lookup_for", "resolve"]


class Unresolved(Exception):
    """A reference that has no value (yet): a parameter without one, an output the step has not
    produced, an unknown ``variable:`` or ``global:``."""

    def __init__(self, ref: Reference) -> None:
        super().__init__(ref)
        self.ref = ref


def global_value(name: str, now: datetime, region: str, account: str) -> Any:
    """``{{ global:NAME }}``: ACCOUNT_ID, REGION, AWS_PARTITION, DATE (``%Y-%m-%d``) or
    DATE_TIME (``%Y-%m-%d_%H.%M.%S``) at ``now``; ``MISSING`` for any other name."""
    if name == "ACCOUNT_ID":
        return account
    if name == "REGION":
        return region
    if name == "AWS_PARTITION":
        return "aws-cn" if region.startswith("cn-") else (
            "aws-us-gov" if region.startswith("us-gov-") else "aws")
    if name == "DATE":
        return now.strftime("%Y-%m-%d")
    if name == "DATE_TIME":
        return now.strftime("%Y-%m-%d_%H.%M.%S")
    return MISSING


def lookup_for(state: ExecutionState, now: datetime, *, region: str = "us-east-1",
               account: str = "123456789012", strict: bool = True) -> Lookup:
    """The reference resolver for this execution at ``now``."""

    def lookup(ref: Reference) -> Any:
        value: Any = MISSING
        if isinstance(ref, ParameterRef):
            value = state.parameters.get(ref.name, MISSING)
        elif isinstance(ref, StepOutputRef):
            step_outputs = state.outputs.get(ref.step)
            if step_outputs is not None:
                value = step_outputs.get(ref.output, MISSING)
        elif isinstance(ref, NamespacedRef):
            if ref.namespace == "variable":
                value = state.variables.get(ref.name, MISSING)
            elif ref.namespace == "global":
                value = global_value(ref.name, now, region, account)
            elif ref.name == "EXECUTION_ID":
                value = state.execution_id
        if value is MISSING and strict:
            raise Unresolved(ref)
        return value

    return lookup


def describe(ref: Reference) -> str:
    """``ref`` as a step's FailureMessage names it, with why it has no value."""
    if isinstance(ref, ParameterRef):
        return f"{{{{ {ref.name} }}}} (parameter has no value)"
    if isinstance(ref, StepOutputRef):
        return f"{{{{ {ref.step}.{ref.output} }}}} (step '{ref.step}' has not produced this output)"
    if isinstance(ref, NamespacedRef):
        return f"{{{{ {ref.namespace}:{ref.name} }}}} (no value)"
    return str(ref)


def resolve(value: Any, state: ExecutionState, now: datetime) -> Any:
    """Substitute ``value``; raise ``Unresolved`` for a reference with no value and
    ``TemplateSyntaxError`` for a malformed placeholder."""
    return render(value, lookup_for(state, now))

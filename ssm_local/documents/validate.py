"""Semantic validation of a loaded document: every check has a stable code and a location.

``validate(document)`` runs the JSON Schemas (``ssm_local.documents.schemas``) and then the checks that a
schema cannot express, on the step graph from ``ssm_local.documents.graph``: step names and targets,
cycles and unreachable steps, every ``{{ ... }}`` reference (parameters, step outputs and whether
that step can have run before, variables, ``global:`` and ``automation:`` names, ``ssm:`` where
AWS forbids it), parameter defaults against their own definitions, preconditions, ``isEnd`` with
``nextStep``, document outputs, ``aws:branch`` operators, ``aws:loop`` and ``aws:updateVariable``.
The catalogue of codes, with an example of each, is in docs/validation.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ssm_local.documents.diagnostics import Diagnostic, Severity
from ssm_local.documents.graph import build_graph, entry_step, loop_members, step_target
from ssm_local.documents.loader import Path, format_path
from ssm_local.documents.model import Document, Step, as_int
from ssm_local.documents.parameters import LIST_TYPES, PARAMETER_TYPES, check, type_problem
from ssm_local.documents.patterns import PatternTimeoutError, compile_pattern
from ssm_local.documents.schemas import schema_errors
from ssm_local.grammar.errors import TemplateSyntaxError
from ssm_local.grammar.template import (
    AUTOMATION_NAMES,
    GLOBAL_NAMES,
    NamespacedRef,
    ParameterRef,
    Placeholder,
    PseudoParameterRef,
    SsmParameterRef,
    StepOutputRef,
    parse_template,
)

PREDEFINED_OUTPUTS: dict[str, frozenset[str]] = {
    "aws:executeScript": frozenset({"Payload", "OutputPayload"}),
    "aws:runCommand": frozenset({"CommandId", "Status", "ResponseCode", "Output"}),
    "aws:executeAutomation": frozenset({"Output", "ExecutionId", "Status"}),
    "aws:createImage": frozenset({"ImageId", "ImageState"}),
    "aws:copyImage": frozenset({"ImageId", "ImageState"}),
    "aws:runInstances": frozenset({"InstanceIds", "InstanceStates"}),
    "aws:createStack": frozenset({"StackId", "StackStatus", "StackStatusReason"}),
    "aws:invokeLambdaFunction": frozenset({"StatusCode", "FunctionError", "LogResult", "Payload"}),
    "aws:executeStateMachine": frozenset(
        {"executionArn", "input", "name", "output", "startDate", "stateMachineArn", "status",
         "stopDate"}
    ),
    "aws:approve": frozenset({"ApprovalStatus", "ApproverDecisions"}),
    "aws:loop": frozenset({"CurrentIteratorValue", "CurrentIteration"}),
    "aws:invokeWebhook": frozenset({"Response", "ResponseCode"}),
}
"""Outputs an action provides without a declared ``outputs`` entry (ssm-semantics.md §3.2, §5.5)."""

DOCUMENTED_ACTIONS = frozenset(
    {
        "aws:approve", "aws:assertAwsResourceProperty", "aws:branch", "aws:changeInstanceState",
        "aws:copyImage", "aws:createImage", "aws:createStack", "aws:createTags",
        "aws:deleteImage", "aws:deleteStack", "aws:executeAutomation", "aws:executeAwsApi",
        "aws:executeScript", "aws:executeStateMachine", "aws:invokeLambdaFunction",
        "aws:invokeWebhook", "aws:loop", "aws:pause", "aws:runCommand", "aws:runInstances",
        "aws:sleep", "aws:updateVariable", "aws:waitForAwsResourceProperty",
    }
)
"""Automation actions AWS documents; outputs of other (internal) actions are not known."""

STRING_OPERATORS = {"StringEquals", "EqualsIgnoreCase", "StartsWith", "EndsWith", "Contains"}
NUMERIC_OPERATORS = {
    "NumericEquals",
    "NumericGreater",
    "NumericLesser",
    "NumericGreaterOrEquals",
    "NumericLesserOrEquals",
}
BRANCH_OPERATORS = STRING_OPERATORS | NUMERIC_OPERATORS | {"BooleanEquals"}
MAX_LOOP_ITERATIONS = 100
ON_CANCEL_FORBIDDEN = {
    "aws:approve",
    "aws:copyImage",
    "aws:createImage",
    "aws:createStack",
    "aws:createTags",
    "aws:pause",
    "aws:runInstances",
    "aws:sleep",
    "aws:loop",
    "aws:updateVariable",
}


@dataclass
class _Checker:
    document: Document
    found: list[Diagnostic] = field(default_factory=list)

    # -- reporting -----------------------------------------------------------------------
    def report(self, code: str, message: str, path: Path, *, key: bool = False,
               severity: Severity = Severity.ERROR) -> None:
        line, column = self.document.locator.locate(path, key=key)
        self.found.append(
            Diagnostic(code, severity, message, self.document.source, line, column,
                       format_path(path))
        )

    def report_in_string(self, code: str, message: str, path: Path, value: str, offset: int,
                         severity: Severity = Severity.ERROR) -> None:
        line, column = self.document.locator.locate_in_string(path, value, offset)
        self.found.append(
            Diagnostic(code, severity, message, self.document.source, line, column,
                       format_path(path))
        )


def _strings(value: Any, path: Path, *, skip_loop_steps: bool = False) -> Iterator[tuple[Path, str]]:
    """Every string inside ``value`` with its path; map keys are not templated."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            if "{{" in item or "$$" in item:
                yield here, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if skip_loop_steps and here == path and key == "Steps":
                    continue
                stack.append(((*here, key), child))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                stack.append(((*here, index), item[index]))


def validate(document: Document, *, create: bool = False) -> list[Diagnostic]:
    """Every diagnostic for ``document``, sorted by position; errors make it invalid.

    ``create=True`` checks the document as AWS's CreateDocument/UpdateDocument does: content
    over 64 KB (``MaxDocumentSizeExceeded``) is then an error. Otherwise it is a warning, as
    AWS publishes and runs larger documents of its own and ssm-local reads and runs any file."""
    checker = _Checker(document)
    for issue in document.loaded.issues:
        severity = Severity(issue.severity)
        message = issue.message
        if issue.code == "MaxDocumentSizeExceeded" and not create:
            severity = Severity.WARNING
            message += "; CreateDocument refuses it, but the file can be validated and run"
        checker.report(issue.code, message, (), severity=severity)
    if document.kind == "Other":
        return checker.found
    _check_parameters(checker)
    _check_steps(checker)
    if document.kind == "Automation":
        _check_automation(checker)
    else:
        _check_command(checker)
    # Where a semantic check and a schema rule point at the same spot, the semantic finding is
    # the more specific one; report it alone.
    semantic_spots = {(d.line, d.column) for d in checker.found if d.is_error}
    schema_checker = _Checker(document)
    for schema_issue in schema_errors(document.data):
        schema_checker.report(schema_issue.code, schema_issue.message, schema_issue.path,
                              key=schema_issue.at_key, severity=Severity(schema_issue.severity))
    checker.found.extend(d for d in schema_checker.found
                         if (d.line, d.column) not in semantic_spots)
    return sorted(checker.found, key=_order)


def _order(d: Diagnostic) -> tuple[int, int, str, str]:
    return (d.line or 0, d.column or 0, d.code, d.message)


# -- parameters ------------------------------------------------------------------------------


def _check_parameters(checker: _Checker) -> None:
    document = checker.document
    for name, definition in document.parameters.items():
        if definition.type and definition.type not in PARAMETER_TYPES:
            continue  # the schema reports unknown types
        if definition.type == "Array" and document.schema_version != "1.2":
            checker.report("InvalidParameterType",
                           f"parameter '{name}': type Array exists only in schemaVersion 1.2; "
                           "use StringList", (*definition.path, "type"))
        if definition.allowed_pattern is not None and compile_pattern(
            definition.allowed_pattern
        ) is None:
            checker.report("InvalidAllowedPattern",
                           f"parameter '{name}': allowedPattern {definition.allowed_pattern!r} "
                           "is not a valid regular expression",
                           (*definition.path, "allowedPattern"))
        if not definition.has_default:
            continue
        default = definition.default
        default_path = (*definition.path, "default")
        for path, text in _strings(default, default_path):
            _check_default_template(checker, name, path, text)
        problem = type_problem(definition, default)
        if problem is not None:
            checker.report("InvalidParameterDefault",
                           f"parameter '{name}': default {problem}", default_path)
            continue
        value = default
        if definition.type == "Boolean" and isinstance(value, str):
            value = value.lower() == "true"
        if definition.type == "StringMap" and isinstance(value, str) and value:
            value = json.loads(value)
        try:
            messages = check(definition, value, is_default=True)
        except PatternTimeoutError as exc:
            checker.report("PatternTimeout",
                           f"parameter '{name}': default could not be checked against the "
                           f"allowedPattern: {exc.message}", default_path,
                           severity=Severity.WARNING)
            continue
        for message in messages:
            checker.report("DefaultFailsValidation",
                           f"parameter '{name}': default {message}; a run that uses the default "
                           "will be refused", default_path, severity=Severity.WARNING)


def _check_default_template(checker: _Checker, name: str, path: Path, text: str) -> None:
    """Automation defaults are substituted like step inputs (AWS-UpdateLinuxAmi's TargetAmiName
    default reads ``{{SourceAmiId}}`` and ``{{global:DATE_TIME}}``), so their references are
    checked the same way; Command defaults resolve only ``{{ssm:...}}``."""
    try:
        template = parse_template(text)
    except TemplateSyntaxError as exc:
        _report_template_syntax(checker, path, text, exc)
        return
    automation = checker.document.kind == "Automation"
    for placeholder in template.placeholders:
        ref = placeholder.ref
        if isinstance(ref, SsmParameterRef):
            if ref.secure:
                checker.report_in_string(
                    "SecureStringNotAllowed",
                    f"parameter '{name}': a default cannot read a SecureString "
                    f"({placeholder.raw})", path, text, placeholder.start)
        elif automation and isinstance(ref, StepOutputRef):
            checker.report_in_string(
                "UnsupportedDefaultReference",
                f"parameter '{name}': a default cannot read a step output "
                f"({placeholder.raw}); no step has run when parameters are resolved",
                path, text, placeholder.start)
        elif not automation:
            checker.report_in_string(
                "UnsupportedDefaultReference",
                f"parameter '{name}': a Command document default cannot refer to "
                f"{placeholder.raw}; only {{{{ssm:...}}}} Parameter Store references are "
                "resolved in defaults", path, text, placeholder.start, severity=Severity.WARNING)
    if automation:
        _check_references(checker, None, path, text, None, where=f"parameter '{name}' default")


def _report_template_syntax(checker: _Checker, path: Path, text: str,
                            exc: TemplateSyntaxError) -> None:
    """Text with braces that do not make a placeholder (``awk '{{print $2}}'``, ``"{{}}"``) is
    left as it is by AWS and the agent, which substitute only ``{{ name }}`` forms that name
    something: a warning, never an error."""
    checker.report_in_string("TemplateSyntaxError",
                             f"{exc.message}; AWS leaves this text as it is",
                             path, text, (exc.column or 1) - 1, Severity.WARNING)


# -- steps and references ---------------------------------------------------------------------


def _check_steps(checker: _Checker) -> None:
    document = checker.document
    seen: dict[str, Step] = {}
    for step in document.all_steps():
        if step.name in seen:
            checker.report("DuplicateStepName",
                           f"step name '{step.name}' is already used by step "
                           f"{seen[step.name].index + 1}", (*step.path, "name"))
        else:
            seen[step.name] = step
    ancestors = _Ancestors(document) if document.kind == "Automation" else None
    for step in document.all_steps():
        inputs_path = step.inputs_path
        for path, text in _strings(step.inputs, inputs_path,
                                   skip_loop_steps=step.action == "aws:loop"):
            _check_references(checker, step, path, text, ancestors)
        if step.precondition is not None and document.kind == "Command":
            for path, text in _strings(step.precondition, (*step.path, "precondition")):
                _check_references(checker, step, path, text, ancestors, in_precondition=True)
    if document.assume_role is not None:
        _check_references(checker, None, ("assumeRole",), document.assume_role, ancestors)


class _Ancestors:
    """For each step, the steps that can have run before it (graph ancestors and the inner
    steps of every loop among them), computed on first question per step."""

    def __init__(self, document: Document) -> None:
        self._graph = build_graph(document)
        self._members = loop_members(document)
        self._found: dict[str, set[str]] = {}

    def get(self, name: str, default: set[str]) -> set[str]:
        if name not in self._graph:
            return default
        if name not in self._found:
            import networkx as nx

            before = set(nx.ancestors(self._graph, name))
            for loop, inner in self._members.items():
                if loop in before or name in inner:
                    before |= inner
            before.discard(name)
            self._found[name] = before
        return self._found[name]


def _check_references(checker: _Checker, step: Step | None, path: Path, text: str,
                      ancestors: _Ancestors | None, *,
                      in_precondition: bool = False, where: str | None = None) -> None:
    document = checker.document
    try:
        template = parse_template(text)
    except TemplateSyntaxError as exc:
        _report_template_syntax(checker, path, text, exc)
        return
    automation = document.kind == "Automation"
    in_default = where is not None
    if where is None:
        where = f"step '{step.name}'" if step else "assumeRole"
    for braces in template.literal_braces:  # AWS leaves these as written: at most a warning
        checker.report_in_string("TemplateSyntaxError", f"{where}: {braces.text[:60]!r} is not a "
                                 "placeholder; it is left as written", path, text, braces.start,
                                 Severity.WARNING)
    for placeholder in template.placeholders:
        ref = placeholder.ref

        def bad(code: str, message: str, severity: Severity = Severity.ERROR,
                _p: Placeholder = placeholder) -> None:
            checker.report_in_string(code, message, path, text, _p.start, severity)

        if isinstance(ref, ParameterRef):
            if ref.name not in document.parameters:
                bad("UndeclaredParameter",
                    f"{where}: {placeholder.raw} refers to parameter '{ref.name}', which the "
                    "document does not declare")
        elif isinstance(ref, PseudoParameterRef):
            if ref.name not in document.parameters and not _mw_allowed(step, path):
                bad("PseudoParameter",
                    f"{where}: {placeholder.raw} is a maintenance-window pseudo-parameter; it is "
                    "only filled in when the document runs as a maintenance window task",
                    Severity.WARNING)
        elif isinstance(ref, StepOutputRef):
            if in_default:
                continue  # reported by _check_default_template
            if not automation:
                bad("UndeclaredParameter",
                    f"{where}: {placeholder.raw} is not a parameter of this document (step "
                    "outputs exist only in Automation runbooks)")
            else:
                _check_output_ref(checker, step, ref, placeholder, ancestors, bad, where,
                                  step is not None and step.action == "aws:loop"
                                  and "LoopCondition" in path)
        elif isinstance(ref, NamespacedRef):
            _check_namespaced(document, ref, placeholder, bad, where)
        elif isinstance(ref, SsmParameterRef):
            if in_default:
                continue
            if in_precondition:
                bad("InvalidPrecondition",
                    f"{where}: a precondition cannot contain Parameter Store references "
                    f"({placeholder.raw})")
            elif automation:
                bad("SsmReferenceInStepInput",
                    f"{where}: {placeholder.raw} cannot be used in Automation step inputs or "
                    "assumeRole (AWS returns InvalidDocumentContent); declare a parameter with "
                    "this default instead")
            elif ref.secure and not _secure_allowed(step, path):
                bad("SecureStringNotAllowed",
                    f"{where}: {placeholder.raw} is only supported in aws:downloadContent "
                    "sourceInfo (tokenInfo, privateSSHKey, username, password)", Severity.WARNING)


def _mw_allowed(step: Step | None, path: Path) -> bool:
    return step is not None and step.action == "aws:runCommand" and "InstanceIds" in path


def _secure_allowed(step: Step | None, path: Path) -> bool:
    return step is not None and step.action == "aws:downloadContent" and "sourceInfo" in path


def _check_namespaced(document: Document, ref: NamespacedRef, placeholder: Placeholder,
                      bad: Any, where: str) -> None:
    if document.kind != "Automation":
        bad("UnsupportedReference",
            f"{where}: {placeholder.raw}: '{ref.namespace}:' references exist only in Automation "
            "runbooks")
    elif ref.namespace == "variable":
        if ref.name not in document.variables:
            bad("UndeclaredVariable",
                f"{where}: {placeholder.raw} refers to variable '{ref.name}', which the runbook "
                "does not declare in 'variables'")
    elif ref.namespace == "global":
        if ref.name not in GLOBAL_NAMES:
            bad("UnknownGlobalVariable",
                f"{where}: {placeholder.raw}: unknown global variable; known: "
                f"{', '.join(sorted(GLOBAL_NAMES))}")
    elif ref.name not in AUTOMATION_NAMES:
        bad("UnknownAutomationVariable",
            f"{where}: {placeholder.raw}: unknown automation variable; the only one is "
            "automation:EXECUTION_ID")


def _loop_condition_reads_inner(document: Document, step: Step, target: str,
                                in_condition: bool) -> bool:
    """A loop's LoopCondition is evaluated after each pass, so it may read its inner steps."""
    return in_condition and target in loop_members(document).get(step.name, set())


def _check_output_ref(checker: _Checker, step: Step | None, ref: StepOutputRef,
                      placeholder: Placeholder, ancestors: _Ancestors | None,
                      bad: Any, where: str, in_condition: bool) -> None:
    document = checker.document
    target = document.step(ref.step)
    if target is None:
        bad("UnknownStepOutput",
            f"{where}: {placeholder.raw} refers to step '{ref.step}', which does not exist")
        return
    output = ref.output.split(".")[0]
    declared = {o.name for o in target.outputs}
    undocumented = target.action not in DOCUMENTED_ACTIONS
    # An output the analysis cannot prove exists is a warning: AWS resolves references when
    # the step runs (and fails that step if the value is missing), and AWS's runbooks read
    # outputs ssm-local does not list (OutputPayload of any step, a branch's NextStep).
    if (output not in declared and output not in PREDEFINED_OUTPUTS.get(target.action, ())
            and not undocumented):
        known = sorted(declared | PREDEFINED_OUTPUTS.get(target.action, frozenset()))
        bad("UnknownStepOutput",
            f"{where}: {placeholder.raw}: step '{ref.step}' declares no output '{ref.output}'"
            + (f" (its outputs are {', '.join(known)})" if known else "")
            + "; AWS resolves it when the step runs", Severity.WARNING)
        return
    if step is None or ancestors is None:
        return
    if ref.step == step.name and target.action != "aws:loop":
        in_loop = any(step.name in inner for inner in loop_members(document).values())
        bad("OutputNotAvailable",
            f"{where}: {placeholder.raw} refers to the step's own output, which does not exist "
            "until the step has run" + (" (it exists from the loop's second pass)" if in_loop
                                        else ""),
            Severity.WARNING if in_loop else Severity.ERROR)
    elif (ref.step not in ancestors.get(step.name, set()) and ref.step != step.name
          and not _loop_condition_reads_inner(document, step, ref.step, in_condition)):
        bad("OutputNotAvailable",
            f"{where}: {placeholder.raw}: step '{ref.step}' cannot be shown to have run before "
            f"step '{step.name}'; AWS resolves it when the step runs", Severity.WARNING)


# -- Automation structure ---------------------------------------------------------------------


def _check_automation(checker: _Checker) -> None:
    document = checker.document
    names = {s.name for s in document.all_steps()}
    for step in document.all_steps():
        _check_targets(checker, step, names)
        if step.is_end and step.next_step is not None:
            checker.report("IsEndWithNextStep",
                           f"step '{step.name}' has both isEnd: true and nextStep "
                           f"'{step.next_step}'; nextStep is never followed",
                           (*step.path, "nextStep"), key=True, severity=Severity.WARNING)
        if step.on_cancel != "Abort" and step.action in ON_CANCEL_FORBIDDEN:
            checker.report("UnsupportedOnCancel",
                           f"step '{step.name}': AWS documents onCancel as not supported on "
                           f"{step.action}", (*step.path, "onCancel"), key=True,
                           severity=Severity.WARNING)
        if step.action == "aws:branch":
            _check_branch(checker, step)
        elif step.action == "aws:loop":
            _check_loop(checker, step)
        elif step.action == "aws:updateVariable":
            _check_update_variable(checker, step)
    _check_graph(checker, names)
    for index, output in enumerate(document.outputs):
        step_name, _, output_name = output.partition(".")
        target = document.step(step_name)
        path: Path = ("outputs", index)
        if target is None:
            checker.report("UnknownDocumentOutput",
                           f"document output '{output}' names step '{step_name}', which does "
                           "not exist", path)
        elif (output_name not in {o.name for o in target.outputs}
              and output_name not in PREDEFINED_OUTPUTS.get(target.action, frozenset())
              and target.action in DOCUMENTED_ACTIONS):
            checker.report("UnknownDocumentOutput",
                           f"document output '{output}': step '{step_name}' has no output "
                           f"'{output_name}'", path)


def _check_targets(checker: _Checker, step: Step, names: set[str]) -> None:
    fields: list[tuple[Path, str | None, str]] = [
        ((*step.path, "nextStep"), step.next_step, "nextStep"),
        ((*step.path, "onFailure"), step_target(step.on_failure), "onFailure"),
        ((*step.path, "onCancel"), step_target(step.on_cancel), "onCancel"),
    ]
    if step.action == "aws:branch":
        choices = step.inputs.get("Choices")
        if isinstance(choices, list):
            for i, choice in enumerate(choices):
                if isinstance(choice, dict) and isinstance(choice.get("NextStep"), str):
                    fields.append(((*step.inputs_path, "Choices", i, "NextStep"),
                                   choice["NextStep"], f"choice {i + 1} NextStep"))
        default = step.inputs.get("Default")
        if isinstance(default, str):
            fields.append(((*step.inputs_path, "Default"), default, "Default"))
    for path, target, what in fields:
        if target is not None and target not in names:
            checker.report("UnknownStepTarget",
                           f"step '{step.name}': {what} names step '{target}', which does not "
                           "exist", path)


def _check_graph(checker: _Checker, names: set[str]) -> None:
    document = checker.document
    import networkx as nx

    graph = build_graph(document)
    graph.remove_nodes_from([n for n in list(graph.nodes) if n not in names])
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        trace = " -> ".join([cycle[0][0], *(dst for _, dst, *_ in cycle)])
        first = document.step(cycle[0][0])
        checker.report("StepCycle",
                       f"the steps form a cycle ({trace}); AWS rejects runbooks that can loop "
                       "forever: use aws:loop or maxAttempts to repeat", first.path if first else ())
    start = entry_step(document)
    if start is None or start not in graph:
        return
    reachable = nx.descendants(graph, start) | {start}
    for step in document.all_steps():
        if step.name not in reachable:
            checker.report("UnreachableStep",
                           f"step '{step.name}' can never run: no step leads to it",
                           (*step.path, "name"), severity=Severity.WARNING)


def _check_branch(checker: _Checker, step: Step) -> None:
    choices = step.inputs.get("Choices")
    if not isinstance(choices, list):
        return
    for index, choice in enumerate(choices):
        _check_condition(checker, step, choice, (*step.inputs_path, "Choices", index),
                         top=True)


def _check_condition(checker: _Checker, step: Step, condition: Any, path: Path, *,
                     top: bool) -> None:
    if not isinstance(condition, dict):
        return
    allowed_extra = {"NextStep"} if top else set()
    if "And" in condition or "Or" in condition:
        key = "And" if "And" in condition else "Or"
        parts = condition[key]
        if isinstance(parts, list):
            for i, part in enumerate(parts):
                _check_condition(checker, step, part, (*path, key, i), top=False)
        return
    if "Not" in condition:
        _check_condition(checker, step, condition["Not"], (*path, "Not"), top=False)
        return
    operators = [k for k in condition if k not in {"Variable", *allowed_extra}]
    if "Variable" not in condition:
        checker.report("InvalidBranchChoice",
                       f"step '{step.name}': a choice needs a Variable (or And/Or/Not)", path)
        return
    if len(operators) != 1:
        checker.report("InvalidBranchChoice",
                       f"step '{step.name}': a choice needs exactly one operator; found "
                       f"{', '.join(operators) or 'none'}", path)
        return
    operator = operators[0]
    operand = condition[operator]
    operand_path = (*path, operator)
    if operator not in BRANCH_OPERATORS:
        checker.report("InvalidBranchChoice",
                       f"step '{step.name}': unknown operator '{operator}'; AWS supports "
                       f"{', '.join(sorted(BRANCH_OPERATORS))}", operand_path, key=True)
        return
    if isinstance(operand, str) and "{{" in operand:
        return
    if operator in NUMERIC_OPERATORS:
        ok = isinstance(operand, int | float) and not isinstance(operand, bool)
        expected = "a number"
    elif operator == "BooleanEquals":
        ok = isinstance(operand, bool) or (isinstance(operand, str)
                                           and operand.lower() in ("true", "false"))
        expected = "true or false"
    else:
        ok = isinstance(operand, str)
        expected = "a string"
    if not ok:
        checker.report("InvalidBranchChoice",
                       f"step '{step.name}': {operator} needs {expected}, not "
                       f"{json.dumps(operand)}", operand_path)


def _check_loop(checker: _Checker, step: Step) -> None:
    inputs = step.inputs
    path = step.inputs_path
    has_iterators = "Iterators" in inputs
    has_condition = "LoopCondition" in inputs
    if has_iterators == has_condition:
        checker.report("InvalidLoop",
                       f"step '{step.name}': aws:loop needs exactly one of Iterators and "
                       "LoopCondition", path)
    iterators = inputs.get("Iterators")
    if isinstance(iterators, list) and len(iterators) > MAX_LOOP_ITERATIONS:
        checker.report("InvalidLoop",
                       f"step '{step.name}': {len(iterators)} Iterators; aws:loop takes at most "
                       f"{MAX_LOOP_ITERATIONS}", (*path, "Iterators"))
    maximum = inputs.get("MaxIterations")
    if maximum is not None and not (isinstance(maximum, str) and "{{" in maximum):
        number = as_int(maximum)
        if number is None or not 1 <= number <= MAX_LOOP_ITERATIONS:
            checker.report("InvalidLoop",
                           f"step '{step.name}': MaxIterations must be an integer from 1 to "
                           f"{MAX_LOOP_ITERATIONS}, not {json.dumps(maximum)}",
                           (*path, "MaxIterations"))
    if isinstance(inputs.get("LoopCondition"), dict):
        _check_condition(checker, step, inputs["LoopCondition"], (*path, "LoopCondition"),
                         top=False)
    if not step.steps:
        checker.report("InvalidLoop", f"step '{step.name}': aws:loop needs at least one step "
                       "in Steps", path)


def _check_update_variable(checker: _Checker, step: Step) -> None:
    document = checker.document
    name = step.inputs.get("Name")
    path = (*step.inputs_path, "Name")
    if not isinstance(name, str) or not name.startswith("variable:"):
        checker.report("InvalidUpdateVariable",
                       f"step '{step.name}': Name must be the literal 'variable:<name>', not "
                       f"{json.dumps(name)}", path)
        return
    variable = document.variables.get(name[len("variable:"):])
    if variable is None:
        checker.report("UndeclaredVariable",
                       f"step '{step.name}': {name} is not declared in 'variables'", path)
        return
    value = step.inputs.get("Value")
    if value is None or (isinstance(value, str) and "{{" in value):
        return
    if not _matches_variable_type(variable.type, value):
        article = "an" if variable.type[:1] in "AEIOU" else "a"
        checker.report("InvalidUpdateVariable",
                       f"step '{step.name}': Value {json.dumps(value)[:60]} is not {article} "
                       f"{variable.type} (variable '{variable.name}'); aws:updateVariable does "
                       "not convert types", (*step.inputs_path, "Value"))


def _matches_variable_type(type_name: str, value: Any) -> bool:
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    if type_name in LIST_TYPES:
        return isinstance(value, list)
    if type_name == "StringMap":
        return isinstance(value, dict)
    if type_name == "MapList":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return True


# -- Command structure ------------------------------------------------------------------------


def _check_command(checker: _Checker) -> None:
    document = checker.document
    for step in document.steps:
        if step.precondition is None:
            continue
        path = (*step.path, "precondition")
        if document.schema_version != "2.2":
            checker.report("PreconditionNotSupported",
                           f"step '{step.name}': preconditions need schemaVersion 2.2; the agent "
                           f"fails this step under {document.schema_version}", path, key=True)
            continue
        _check_precondition(checker, step, step.precondition, path)


def _check_precondition(checker: _Checker, step: Step, precondition: Any, path: Path) -> None:
    document = checker.document
    if not isinstance(precondition, dict) or list(precondition) != ["StringEquals"]:
        operators = list(precondition) if isinstance(precondition, dict) else []
        checker.report("InvalidPrecondition",
                       f"step '{step.name}': the only precondition operator is StringEquals; "
                       f"found {', '.join(map(str, operators)) or json.dumps(precondition)}", path)
        return
    arguments = precondition["StringEquals"]
    args_path = (*path, "StringEquals")
    if not isinstance(arguments, list) or len(arguments) != 2 or not all(
        isinstance(a, str) for a in arguments
    ):
        checker.report("InvalidPrecondition",
                       f"step '{step.name}': StringEquals takes exactly two strings", args_path)
        return
    first, second = arguments
    if "platformType" in (first, second):
        return
    if first == second:
        checker.report("InvalidPrecondition",
                       f"step '{step.name}': the two StringEquals arguments are identical",
                       args_path)
        return
    declared = False
    for text in arguments:
        try:
            refs = [p.ref for p in parse_template(text).placeholders]
        except TemplateSyntaxError:
            continue  # reported by the reference walk
        declared = declared or any(
            isinstance(r, ParameterRef) and r.name in document.parameters for r in refs
        )
    if not declared:
        checker.report("InvalidPrecondition",
                       f"step '{step.name}': a StringEquals precondition must compare "
                       "platformType or contain a declared document parameter", args_path)

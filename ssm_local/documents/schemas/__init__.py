"""JSON Schemas for SSM documents: one per schemaVersion and one per plugin or action.

The schemas are package data (``command-1.2.json``, ``command-2.0.json``, ``command-2.2.json``,
``automation-0.3.json``, ``action-aws_<name>.json`` and the shared ``common.json``), written
for ssm-local from AWS's documentation and from what real documents contain. They are read
once per process, with importlib.resources, and compiled into ``Draft202012Validator``s once
(with their non-recursive ``$ref``s inlined). A fast yes/no check compiled from the same schemas
(``_fastcheck``) runs first; jsonschema is only asked for errors when that check fails, which
makes the common case, a valid document, about ten times faster.

- ``classify(data)`` says what a document is: ``("Command" | "Automation" | "Other", version)``.
  A missing, non-string or unknown ``schemaVersion`` raises ``UnsupportedSchemaVersion`` (a
  ``DocumentError`` with code ``UnsupportedSchemaVersion`` and path ``$.schemaVersion``).
- ``schema_errors(data)`` lists every ``SchemaIssue`` in a document: the top level by its
  version's schema, then every step's ``inputs`` by its action's schema, including the steps
  inside ``aws:loop``. It never raises for bad content in JSON-shaped data (string keys, as
  ``ssm_local.documents.loader`` guarantees); an unsupported version becomes one
  ``UnsupportedSchemaVersion`` issue, and "Other" documents (Session, Package, agent-only
  2.0.x ...) have no schema here, so they yield no issues.
- ``step_errors(step, path, ...)`` is the same check for one step (and the steps nested in it).

Issue codes: ``SchemaViolation`` (wrong type or value), ``MissingRequiredField``,
``UnknownField`` (a warning for a Command plugin's inputs, which the SSM Agent ignores, and
for an Automation action's inputs that AWS's action reference does not list),
``UnsupportedOperator`` (aws:branch, aws:loop and precondition operators), ``UnknownAction``
(an error for a Command plugin the agent does not know, or a plugin/action used in the wrong
kind of document; a warning for an Automation action that ssm-local does not know),
``UndocumentedAction`` (a warning: an internal AWS action seen in AWS's runbooks, such as
aws:shareSQLMedia, whose inputs are checked but which ssm-local cannot run) and
``UnsupportedSchemaVersion``.
Command plugin input names are matched case-insensitively, as the agent's JSON decoding does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ssm_local.documents.schemas._fastcheck import Check, Compiler
from ssm_local.documents.schemas._messages import (
    Describer,
    IssueSeverity,
    Path,
    SchemaIssue,
    Translator,
    Where,
)
from ssm_local.grammar.errors import DocumentError

__all__ = [
    "AUTOMATION_VERSIONS",
    "COMMAND_VERSIONS",
    "KNOWN_SCHEMA_VERSIONS",
    "OTHER_VERSIONS",
    "DocumentKind",
    "IssueSeverity",
    "SchemaIssue",
    "UnsupportedSchemaVersion",
    "action_kind",
    "classify",
    "iter_steps",
    "known_actions",
    "schema_errors",
    "step_errors",
]

DocumentKind = Literal["Command", "Automation", "Other"]

COMMAND_VERSIONS = ("1.2", "2.0", "2.2")
"""schemaVersions of Command documents (each has a schema here)."""

AUTOMATION_VERSIONS = ("0.3",)
"""schemaVersions of Automation runbooks."""

OTHER_VERSIONS = ("1.0", "2.0.1", "2.0.2", "2.0.3")
"""Session documents (1.0) and the agent-only configurePackage install scripts (2.0.x)."""

KNOWN_SCHEMA_VERSIONS = frozenset(COMMAND_VERSIONS + AUTOMATION_VERSIONS + OTHER_VERSIONS)
"""Every schemaVersion ssm-local accepts (the SSM Agent's list plus Automation's 0.3)."""

_DEPRECATED_VERSIONS = ("1.0.0", "1.1", "2.1")
_LOOP = "aws:loop"
_PLUGIN_NAME = re.compile(r"^aws:[A-Za-z0-9]+$")
_PACKAGE = "ssm_local.documents.schemas"
_BASE_ID = "https://ssm-local.invalid/schemas/"


class UnsupportedSchemaVersion(DocumentError):
    """The document's ``schemaVersion`` is missing, not a string, or not one ssm-local knows."""

    code = "UnsupportedSchemaVersion"


# --------------------------------------------------------------------------------------------
# Classification


def classify(data: Mapping[str, Any]) -> tuple[DocumentKind, str]:
    """``(kind, schemaVersion)`` of a loaded document; raises ``UnsupportedSchemaVersion``.

    0.3 is Automation; 1.2, 2.0 and 2.2 are Command, except a 2.x Distributor package manifest
    (``packages`` and no ``mainSteps``), which is Other like Session (1.0) and the agent-only
    2.0.1/2.0.2/2.0.3 documents.
    """
    version = data.get("schemaVersion")
    if version is None:
        raise UnsupportedSchemaVersion(
            "the document has no schemaVersion; use '0.3' for an Automation runbook or '2.2' "
            "for a Command document", path="$")
    if not isinstance(version, str):
        hint = ""
        if isinstance(version, int | float) and not isinstance(version, bool) \
                and str(version) in KNOWN_SCHEMA_VERSIONS:
            hint = f"; quote it: schemaVersion: '{version}'"
        raise UnsupportedSchemaVersion(
            f"schemaVersion must be a string such as '2.2', not {_kind_of(version)}{hint}",
            path="$.schemaVersion")
    if version in AUTOMATION_VERSIONS:
        return "Automation", version
    if version in COMMAND_VERSIONS:
        if version != "1.2" and "mainSteps" not in data and "packages" in data:
            return "Other", version
        return "Command", version
    if version in OTHER_VERSIONS:
        return "Other", version
    if version in _DEPRECATED_VERSIONS:
        why = "is deprecated and no longer supported"
    else:
        why = "is not supported"
    raise UnsupportedSchemaVersion(
        f"schemaVersion '{version}' {why}; ssm-local runs Automation runbooks (0.3) and "
        "Command documents (1.2, 2.0, 2.2)", path="$.schemaVersion")


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Loading the schemas (once per process)


@dataclass(frozen=True, slots=True)
class _Action:
    name: str
    kind: DocumentKind
    min_version: str | None
    internal: bool
    validator: Draft202012Validator
    valid: Check
    properties: frozenset[str]
    by_lower: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Catalog:
    documents: Mapping[str, tuple[Draft202012Validator, Check]]
    actions: Mapping[str, _Action]
    describer: Describer


@cache
def _catalog() -> _Catalog:
    schemas: dict[str, dict[str, Any]] = {}
    for entry in resources.files(_PACKAGE).iterdir():
        if entry.name.endswith(".json"):
            schemas[entry.name] = json.loads(entry.read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values()
    )
    defs: dict[str, Mapping[str, Any]] = {}
    for file, schema in schemas.items():
        for name, sub in schema.get("$defs", {}).items():
            defs[f"{file}#{name}"] = sub
            defs.setdefault(f"#{name}", sub)

    compiler = Compiler({schema["$id"]: schema for schema in schemas.values()})

    def build(schema: Mapping[str, Any]) -> tuple[Draft202012Validator, Check]:
        """jsonschema's validator (for the errors) and the fast yes/no check in front of it."""
        inlined = _inline(schema, schema["$id"].rsplit("/", 1)[-1], schemas, ())
        return (Draft202012Validator(inlined, registry=registry),
                compiler.compile(inlined, schema["$id"]))

    documents = {
        version: build(schemas[f"{prefix}-{version}.json"])
        for prefix, versions in (("command", COMMAND_VERSIONS),
                                 ("automation", AUTOMATION_VERSIONS))
        for version in versions
    }
    actions: dict[str, _Action] = {}
    for file, schema in schemas.items():
        if not file.startswith("action-"):
            continue
        properties = frozenset(schema.get("properties", {}))
        validator, valid = build(schema)
        actions[schema["x-action"]] = _Action(
            name=schema["x-action"],
            kind=schema["x-kind"],
            min_version=schema.get("x-min-schema-version"),
            internal=bool(schema.get("x-internal")),
            validator=validator,
            valid=valid,
            properties=properties,
            by_lower={name.lower(): name for name in properties},
        )
    return _Catalog(documents, actions, Describer(defs))


def _inline(node: Any, file: str, schemas: Mapping[str, Mapping[str, Any]],
            stack: tuple[str, ...]) -> Any:
    """A copy of ``node`` with every non-recursive ``$ref`` replaced by its target, so that
    validation does not resolve references at run time (they cost a third of the time)."""
    if isinstance(node, list):
        return [_inline(item, file, schemas, stack) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and all(k == "$ref" or k.startswith("x-") for k in node):
        target_file, _, fragment = ref.partition("#")
        target_file = target_file or file
        key = f"{target_file}#{fragment}"
        parts = [p for p in fragment.split("/") if p]
        target: Any = schemas.get(target_file)
        for part in parts:
            target = target.get(part) if isinstance(target, Mapping) else None
        if isinstance(target, Mapping) and key not in stack:
            merged = dict(_inline(target, target_file, schemas, (*stack, key)))
            merged.update({k: v for k, v in node.items() if k != "$ref"})
            return merged
        return {**node, "$ref": _BASE_ID + key}
    return {k: (v if k in ("enum", "const", "x-messages", "x-unknown-key")
                else _inline(v, file, schemas, stack)) for k, v in node.items()}


def known_actions(kind: DocumentKind) -> frozenset[str]:
    """Names of the Command plugins or Automation actions that have a schema."""
    return frozenset(a.name for a in _catalog().actions.values() if a.kind == kind)


def action_kind(action: str) -> DocumentKind | None:
    """``"Command"`` for a plugin, ``"Automation"`` for an action, None when unknown."""
    found = _catalog().actions.get(action)
    return found.kind if found else None


# --------------------------------------------------------------------------------------------
# Validation


def schema_errors(data: Mapping[str, Any]) -> list[SchemaIssue]:
    """Every schema issue in a loaded document, in path order (see the module docstring)."""
    try:
        kind, version = classify(data)
    except UnsupportedSchemaVersion as exc:
        path: Path = ("schemaVersion",) if "schemaVersion" in data else ()
        return [SchemaIssue("UnsupportedSchemaVersion", exc.message, path)]
    if kind == "Other":
        return []
    catalog = _catalog()
    validator, valid = catalog.documents[version]
    issues: list[SchemaIssue] = []
    if not valid(data):
        translator = Translator(catalog.describer, lambda p: _where_in_document(data, p))
        issues.extend(translator.issues(validator.iter_errors(data), ()))
    if version == "1.2":
        runtime = data.get("runtimeConfig")
        if isinstance(runtime, Mapping):
            issues.extend(_runtime_config_errors(runtime, catalog))
    else:
        steps = data.get("mainSteps")
        if isinstance(steps, list):
            for index, step in enumerate(steps):
                if isinstance(step, Mapping):
                    issues.extend(_step_errors(step, ("mainSteps", index), kind, version,
                                               catalog, index))
    return _ordered(issues)


def step_errors(step: Mapping[str, Any], path: Path, *, kind: DocumentKind,
                schema_version: str) -> list[SchemaIssue]:
    """Issues in one step's ``inputs`` (by its action's schema) and, for ``aws:loop``, in every
    step nested in it; ``path`` is where the step sits in its document. The step's own fields
    (name, onFailure...) are checked by the document schema, or for nested steps by the loop's."""
    return _ordered(_step_errors(step, path, kind, schema_version, _catalog(), None))


def iter_steps(data: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every step of a 2.x Command or 0.3 Automation document with its path, in document order,
    including the steps inside ``aws:loop`` (after their loop step)."""

    def walk(steps: Any, base: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        if not isinstance(steps, list):
            return
        for index, step in enumerate(steps):
            if not isinstance(step, Mapping):
                continue
            path = (*base, index)
            yield path, step
            inputs = step.get("inputs")
            if step.get("action") == _LOOP and isinstance(inputs, Mapping):
                yield from walk(inputs.get("Steps"), (*path, "inputs", "Steps"))

    yield from walk(data.get("mainSteps"), ("mainSteps",))


def _step_errors(step: Mapping[str, Any], path: Path, kind: DocumentKind, version: str,
                 catalog: _Catalog, index: int | None) -> list[SchemaIssue]:
    action = step.get("action")
    inputs = step.get("inputs")
    if not isinstance(action, str) or not _PLUGIN_NAME.match(action):
        return []  # the document schema reports a missing or malformed action
    label = _step_label(step, index)
    known = catalog.actions.get(action)
    issues: list[SchemaIssue] = []
    problem = _action_problem(action, known, kind, version)
    if problem is not None:
        code, severity, text = problem
        issues.append(SchemaIssue(code, f"{label}: {text}", (*path, "action"), False, severity))
        if severity == "error" or known is None or not known.internal:
            return issues
    if known is not None and inputs is None and kind == "Command":
        # The agent runs a plugin step without ``inputs`` as one with no inputs (AWS's own
        # documents write aws:refreshAssociation so); only the plugin's required inputs fail.
        issues.extend(_input_errors(known, {}, path, label, catalog))
        return issues
    if known is None or not isinstance(inputs, Mapping):
        return issues  # a missing or non-object inputs is reported by the document schema
    base = (*path, "inputs")
    issues.extend(_input_errors(known, inputs, base, label, catalog))
    if action == _LOOP and kind == "Automation":
        nested = inputs.get("Steps")
        if isinstance(nested, list):
            for position, inner in enumerate(nested):
                if isinstance(inner, Mapping):
                    issues.extend(_step_errors(inner, (*base, "Steps", position), kind,
                                               version, catalog, position))
    return issues


def _action_problem(action: str, known: _Action | None, kind: DocumentKind,
                    version: str) -> tuple[str, IssueSeverity, str] | None:
    if known is not None and known.kind == kind:
        if known.internal:
            return ("UndocumentedAction", "warning",
                    f"{action} is an undocumented internal AWS action; ssm-local checks its "
                    "inputs as AWS's runbooks use them but cannot run it")
        if known.min_version and _version_key(version) < _version_key(known.min_version):
            return ("SchemaViolation", "error",
                    f"plugin {action} needs schemaVersion {known.min_version} or later")
        return None
    if kind == "Command":
        if known is not None:
            return ("UnknownAction", "error",
                    f"{action} is an Automation action, not a Command plugin; Command documents "
                    "run plugins such as aws:runShellScript")
        return ("UnknownAction", "error",
                f"unknown plugin '{action}': neither ssm-local nor the SSM Agent knows it "
                f"(plugins: {', '.join(sorted(known_actions('Command')))})")
    if known is not None:
        return ("UnknownAction", "error",
                f"{action} is a Command plugin, not an Automation action; run it on a node "
                "with aws:runCommand and a Command document")
    return ("UnknownAction", "warning",
            f"unknown Automation action '{action}': ssm-local does not know it and will not "
            "check its inputs or run it (it may be an internal AWS action)")


def _input_errors(action: _Action, inputs: Mapping[str, Any], base: Path, label: str,
                  catalog: _Catalog) -> Iterator[SchemaIssue]:
    command = action.kind == "Command"
    renamed: dict[str, str] = {}
    checked: Any = inputs
    if command and isinstance(inputs, Mapping):
        checked, renamed = _match_case(inputs, action)
    if action.valid(checked):
        return

    def locate(path: Path) -> Where:
        rel = path[len(base):]
        if rel and isinstance(rel[0], str) and rel[0] in renamed:
            rel = (renamed[rel[0]], *rel[1:])
        return _where_in_inputs(inputs, rel, label, action.name, command)

    translator = Translator(catalog.describer, locate)
    for issue in translator.issues(action.validator.iter_errors(checked), base):
        if renamed and len(issue.path) > len(base):
            key = issue.path[len(base)]
            if isinstance(key, str) and key in renamed:
                path = (*base, renamed[key], *issue.path[len(base) + 1:])
                issue = SchemaIssue(issue.code, issue.message, path, issue.at_key,
                                    issue.severity)
        yield issue


def _match_case(inputs: Mapping[str, Any], action: _Action
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """The agent decodes plugin inputs with Go's case-insensitive JSON matching, so
    ``SourceType`` is ``sourceType``; returns the renamed inputs and canonical → original."""
    if all(key in action.properties for key in inputs):
        return dict(inputs), {}
    checked: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    for key, value in inputs.items():
        canonical = key
        if key not in action.properties:
            match = action.by_lower.get(key.lower()) if isinstance(key, str) else None
            if match is not None and match not in inputs:
                canonical = match
                renamed[match] = key
        checked[canonical] = value
    return checked, renamed


def _runtime_config_errors(runtime: Mapping[str, Any], catalog: _Catalog
                           ) -> Iterator[SchemaIssue]:
    """A 1.2 document's plugins: each entry of ``properties`` is one plugin's inputs."""
    for plugin, config in runtime.items():
        if not isinstance(plugin, str) or not _PLUGIN_NAME.match(plugin):
            continue  # reported by the document schema
        base: Path = ("runtimeConfig", plugin)
        known = catalog.actions.get(plugin)
        problem = _action_problem(plugin, known, "Command", "1.2")
        if problem is not None:
            code, severity, text = problem
            yield SchemaIssue(code, f"runtimeConfig: {text}", base, True, severity)
            continue
        if known is None or not isinstance(config, Mapping):
            continue
        key = "properties" if "properties" in config else "Properties"
        entries = config.get(key)
        if isinstance(entries, list):
            items = [((*base, key, i), entry) for i, entry in enumerate(entries)]
        elif entries is not None:
            items = [((*base, key), entries)]
        else:
            items = []
        for path, entry in items:
            name = entry.get("id") if isinstance(entry, Mapping) else None
            label = f"step '{name}' ({plugin})" if isinstance(name, str) \
                else f"plugin {plugin} in runtimeConfig"
            yield from _input_errors(known, entry, path, label, catalog)


# --------------------------------------------------------------------------------------------
# Naming spots in a document


def _step_label(step: Mapping[str, Any], index: int | None) -> str:
    name = step.get("name")
    action = step.get("action")
    label = f"step '{name}'" if isinstance(name, str) and name else (
        f"step #{index + 1}" if index is not None else "step")
    return f"{label} ({action})" if isinstance(action, str) and action else label


def _where_in_document(data: Mapping[str, Any], path: Path) -> Where:
    if len(path) >= 2:
        head, key = path[0], path[1]
        if head == "mainSteps" and isinstance(key, int):
            steps = data.get("mainSteps")
            step = steps[key] if isinstance(steps, list) and key < len(steps) else None
            if isinstance(step, Mapping):
                return _where_in_step(step, _step_label(step, key), path[2:])
            return Where(f"step #{key + 1}", "field", path[2:])
        names = {"parameters": "parameter", "variables": "variable", "files": "file"}
        if head in names and isinstance(key, str):
            return Where(f"{names[str(head)]} '{key}'", "field", path[2:])
        if head == "runtimeConfig" and isinstance(key, str):
            return Where(f"plugin {key} in runtimeConfig", "field", path[2:])
    return Where("", "field", path)


def _where_in_step(step: Mapping[str, Any], label: str, rel: Path) -> Where:
    if not rel or rel[0] != "inputs":
        return Where(label, "field", rel)
    inputs = step.get("inputs")
    rel = rel[1:]
    if step.get("action") == _LOOP and isinstance(inputs, Mapping):
        return _where_in_inputs(inputs, rel, label, _LOOP, False)
    return Where(label, "input", rel)


def _where_in_inputs(inputs: Any, rel: Path, label: str, action: str, command: bool) -> Where:
    if action == _LOOP and len(rel) >= 2 and rel[0] == "Steps" and isinstance(rel[1], int) \
            and isinstance(inputs, Mapping):
        steps = inputs.get("Steps")
        index = rel[1]
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], Mapping):
            inner = steps[index]
            return _where_in_step(inner, _step_label(inner, index), rel[2:])
    return Where(label, "input", rel, command, action_inputs=not command)


# --------------------------------------------------------------------------------------------
# Helpers


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _ordered(issues: list[SchemaIssue]) -> list[SchemaIssue]:
    """Issues without duplicates, sorted by path. An unsupported operator also breaks the
    "exactly one operator" rule of its condition; only the operator is reported."""
    seen: set[tuple[str, str, Path]] = set()
    operators = {issue.path[:-1] for issue in issues if issue.code == "UnsupportedOperator"}
    unique: list[SchemaIssue] = []
    for issue in issues:
        key = (issue.code, issue.message, issue.path)
        if issue.code == "SchemaViolation" and issue.path in operators:
            continue
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return sorted(unique, key=lambda issue: _path_key(issue.path))


def _path_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in path)

"""Document parameters: types, coercion of runtime values, and validation against definitions.

Runtime values arrive either as native JSON values or in AWS's wire form, a list of strings per
parameter (ssm-semantics.md §2.3). ``coerce`` turns either into the declared type; ``check``
applies allowedValues, allowedPattern, min/maxItems and min/maxChars the way the SSM agent does
(per item for lists, against JSON text for maps). ``resolve_parameters`` does both for a whole
document, fills defaults and rejects unknown or missing parameters, with messages that name the
parameter. The same checks validate a document's own defaults. A supplied value is checked as
written: ``{{`` in it is data, not a placeholder; only defaults may be templates. Pure:
``{{ssm:...}}`` references are resolved by a caller-supplied function; allowedPattern matches
are time-limited (``patterns``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ssm_local.documents.model import ParameterDefinition
from ssm_local.documents.patterns import (
    PatternTimeoutError,
    compile_pattern,
    pattern_deadline,
    pattern_search,
)
from ssm_local.grammar.errors import ParameterError
from ssm_local.grammar.limits import lone_surrogate

LIST_TYPES = {
    "StringList",
    "Array",
    "List<AWS::EC2::Instance::Id>",
    "List<AWS::S3::Bucket::Name>",
    "List<AWS::IAM::Role::Arn>",
}
AWS_PATTERNS = {
    "AWS::EC2::Instance::Id": r"^m?i-[a-z0-9]{8,17}$",
    "AWS::S3::Bucket::Name": r"^[0-9a-z][a-z0-9\-\.]{3,63}$",
    "AWS::IAM::Role::Arn": r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::[0-9]{12}:role/.*$",
}
SCALAR_TYPES = {"String", "Boolean", "Integer", *AWS_PATTERNS}
PARAMETER_TYPES = frozenset(
    {*SCALAR_TYPES, *LIST_TYPES, "StringMap", "MapList"}
)
"""Every parameter type ssm-local knows (``Array`` is the 1.2 name for StringList)."""


def element_type(type_name: str) -> str:
    """``List<AWS::S3::Bucket::Name>`` → ``AWS::S3::Bucket::Name``; StringList → String."""
    if type_name.startswith("List<") and type_name.endswith(">"):
        return type_name[5:-1]
    return "String"


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def coerce(definition: ParameterDefinition, value: Any) -> Any:
    """Convert a runtime value (native or wire form) to the declared type, or raise."""
    name, type_name = definition.name, definition.type
    wire = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if type_name in LIST_TYPES:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return value
        raise _bad_type(name, type_name, value)
    if type_name == "StringMap":
        if wire and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except (ValueError, RecursionError):  # also an integer over 4,300 digits
                raise _bad_type(name, type_name, value) from None
        if isinstance(value, dict):
            return value
        raise _bad_type(name, type_name, value)
    if type_name == "MapList":
        if wire:
            try:
                value = [json.loads(v) for v in value] if len(value) != 1 else json.loads(value[0])
            except (ValueError, RecursionError):
                raise _bad_type(name, type_name, value) from None
        elif isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise _bad_type(name, type_name, value) from None
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
        raise _bad_type(name, type_name, value)
    if wire:
        if len(value) != 1:
            raise ParameterError(
                f"parameter '{name}' of type {type_name} takes one value, got {len(value)}",
                path=f"$.{name}",
            )
        value = value[0]
    if type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _bad_type(name, type_name, value)
    if type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,4300}", value.strip()):
            return int(value.strip())
        raise _bad_type(name, type_name, value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise _bad_type(name, type_name, value)


def _bad_type(name: str, type_name: str, value: Any) -> ParameterError:
    shown = json.dumps(value, default=str)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ParameterError(
        f"parameter '{name}' must be of type {type_name}; got {shown}", path=f"$.{name}"
    )


def type_problem(definition: ParameterDefinition, value: Any) -> str | None:
    """Why ``value`` (as written in a document, e.g. a default) is not of the declared type."""
    type_name = definition.type
    if is_template(value):
        return None
    ok: bool
    if type_name in LIST_TYPES:
        ok = isinstance(value, list) or value == ""
    elif type_name == "StringMap":
        ok = isinstance(value, dict) or value == "" or _json_object_text(value)
    elif type_name == "MapList":
        ok = (isinstance(value, list) and all(isinstance(v, dict) for v in value)) or value == ""
    elif type_name == "Boolean":
        ok = isinstance(value, bool) or (
            isinstance(value, str) and value.lower() in ("true", "false")
        )
    elif type_name == "Integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,4300}", value.strip()) is not None
        )
    else:
        ok = (isinstance(value, str | int | float) and not isinstance(value, bool)) or (
            isinstance(value, bool) and type_name == "String"
        )
    if ok:
        return None
    article = "an" if type_name[:1] in "AEIOU" else "a"
    return f"is {_describe(value)}, not {article} {type_name}"


def _json_object_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except (ValueError, RecursionError):
        return False


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return "null" if value is None else type(value).__name__


def _items(definition: ParameterDefinition, value: Any) -> list[str]:
    """The strings the agent checks one by one: list items, or map/MapList items as JSON."""
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in value]
    if isinstance(value, dict):
        return [json.dumps(value, separators=(",", ":"))]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def check(definition: ParameterDefinition, value: Any, *, is_default: bool = False) -> list[str]:
    """Problems with a typed value against allowedValues, allowedPattern and min/max limits.

    Each message starts after the parameter's name, e.g. ``"value 'x' is not one of [...]"``.
    A supplied value is checked as written, ``{{`` and all: text in a value is data, never a
    placeholder. Only a document's own default (``is_default``) may be a template (``{{ Other }}``,
    ``{{ global:REGION }}``), which is resolved later and not checked here. Matching against
    allowedPattern is bounded by ``patterns.PATTERN_TIMEOUT_SECONDS`` for the whole value; past
    it, ``PatternTimeoutError`` (code PatternTimeout) is raised.
    """
    problems: list[str] = []
    if value is None or (is_default and is_template(value)):
        return problems
    items = _items(definition, value) if not (value == "" and definition.type in LIST_TYPES) else []
    element = element_type(definition.type) if definition.type in LIST_TYPES else definition.type
    aws_pattern = AWS_PATTERNS.get(element)
    if aws_pattern:
        compiled = compile_pattern(aws_pattern)
        for item in items:
            if item and compiled is not None and not compiled.search(item):
                problems.append(f"value {item!r} is not a valid {element}")
    if definition.allowed_values is not None:
        allowed = [a if isinstance(a, str) else json.dumps(a) for a in definition.allowed_values]
        skip = is_default and definition.type in ("Integer", "Boolean")
        if not skip:
            for item in items:
                if item not in allowed and not (value == "" and definition.type in LIST_TYPES):
                    problems.append(f"value {item!r} is not one of the allowed values {allowed}")
    if definition.allowed_pattern is not None:
        compiled = compile_pattern(definition.allowed_pattern)
        if compiled is not None:
            deadline = pattern_deadline()
            for item in items:
                try:
                    matched = pattern_search(compiled, item, deadline=deadline)
                except PatternTimeoutError as exc:
                    raise PatternTimeoutError(definition.allowed_pattern, exc.seconds) from None
                if not matched:
                    problems.append(
                        f"value {item!r} does not match the allowed pattern "
                        f"{definition.allowed_pattern!r}"
                    )
    count = len(value) if isinstance(value, list | dict) else None
    if count is not None:
        if definition.min_items is not None and count < definition.min_items:
            problems.append(f"has {count} items; at least {definition.min_items} are required")
        if definition.max_items is not None and count > definition.max_items:
            problems.append(f"has {count} items; at most {definition.max_items} are allowed")
    for item in items:
        if definition.min_chars is not None and len(item) < definition.min_chars:
            problems.append(
                f"value {item!r} has {len(item)} characters; at least {definition.min_chars} "
                "are required"
            )
        if definition.max_chars is not None and len(item) > definition.max_chars:
            shown = item if len(item) <= 40 else item[:37] + "..."
            problems.append(
                f"value {shown!r} has {len(item)} characters; at most {definition.max_chars} "
                "are allowed"
            )
    return problems


SsmResolver = Callable[[str], Any]
"""Resolves the name in a ``{{ssm:name}}`` reference to its Parameter Store value (a list for a
StringList)."""

SSM_DEFAULT = re.compile(r"^\{\{ *ssm:([/\w.:\-]+) *\}\}$")
SSM_REFERENCE = re.compile(r"\{\{ *ssm:([/\w.:\-]+) *\}\}")
"""A ``{{ssm:name}}`` reference anywhere in a string (the agent's ``parameterstore`` regex)."""


def resolve_parameters(
    definitions: Mapping[str, ParameterDefinition],
    supplied: Mapping[str, Any],
    *,
    resolve_ssm: SsmResolver | None = None,
) -> dict[str, Any]:
    """Typed values for every declared parameter, or ``ParameterError`` naming the first bad one.

    Unknown names and missing required parameters (no value, no default) are errors; defaults
    fill the rest. ``{{ssm:name}}`` references are resolved once with ``resolve_ssm`` before
    checking, in defaults and in supplied values alike, as the SSM agent resolves them
    (``parameterstore.ValidateSSMParameters``): a whole value or list item that is one reference
    takes the parameter's value, a StringList as a list; a reference inside longer text is
    replaced by the value's text (a StringList there is an error). Every supplied value is then
    checked as it stands (``check``): any other ``{{`` in it is data, and nothing in it is
    expanded later.

    Raises ``ParameterError`` (InvalidParameters), also when matching allowedPattern takes longer
    than ``patterns.PATTERN_TIMEOUT_SECONDS``; ``resolve_ssm``'s own errors pass through.
    """
    if (surrogate := lone_surrogate(dict(supplied))) is not None:
        raise ParameterError(f"a parameter value holds a lone surrogate ({surrogate}), which is "
                             "not Unicode text", code="InvalidParameters")
    unknown = sorted(set(supplied) - set(definitions))
    if unknown:
        raise ParameterError(
            f"parameter '{unknown[0]}' is not declared by the document; declared parameters: "
            f"{', '.join(sorted(definitions)) or 'none'}",
            code="InvalidParameters",
            path=f"$.{unknown[0]}",
        )
    values: dict[str, Any] = {}
    for name, definition in definitions.items():
        if name in supplied:
            raw, is_default = supplied[name], False
        elif definition.has_default:
            raw, is_default = definition.default, True
        else:
            raise ParameterError(
                f"parameter '{name}' is required: it has no default and no value was given",
                code="InvalidParameters",
                path=f"$.{name}",
            )
        raw = _resolve_ssm_value(name, raw, resolve_ssm)
        value = coerce(definition, raw)
        try:
            problems = check(definition, value, is_default=is_default)
        except PatternTimeoutError as exc:
            raise ParameterError(
                f"parameter '{name}' could not be checked against the allowed pattern "
                f"{definition.allowed_pattern!r}: the match took longer than {exc.seconds:g} s",
                code="InvalidParameters",
                path=f"$.{name}",
            ) from None
        if problems:
            raise ParameterError(
                f"parameter '{name}' {problems[0]}", code="InvalidParameters", path=f"$.{name}"
            )
        values[name] = value
    return values


def _no_store(name: str, item: str) -> ParameterError:
    return ParameterError(
        f"parameter '{name}' refers to the Parameter Store ({item}) but no store is "
        "available to resolve it",
        code="InvalidParameters",
        path=f"$.{name}",
    )


def _resolve_embedded(name: str, text: str, resolve_ssm: SsmResolver | None) -> str:
    """``text`` with each ``{{ssm:name}}`` inside it replaced by the parameter's value, once."""

    def value_text(match: re.Match[str]) -> str:
        if resolve_ssm is None:
            raise _no_store(name, match.group(0))
        value = resolve_ssm(match.group(1))
        if isinstance(value, list):  # the agent's message
            raise ParameterError(
                f"SSM parameter {match.group(1)} of type StringList cannot be used as a String",
                code="InvalidParameters",
                path=f"$.{name}",
            )
        return str(value)

    return SSM_REFERENCE.sub(value_text, text)


def _resolve_ssm_value(name: str, raw: Any, resolve_ssm: SsmResolver | None) -> Any:
    candidates = raw if isinstance(raw, list) else [raw]
    resolved: list[Any] = []
    changed = False
    for item in candidates:
        match = SSM_DEFAULT.match(item) if isinstance(item, str) else None
        if match is None:
            if isinstance(item, str) and SSM_REFERENCE.search(item):
                item = _resolve_embedded(name, item, resolve_ssm)
                changed = True
            resolved.append(item)
            continue
        if resolve_ssm is None:
            raise _no_store(name, item)
        value = resolve_ssm(match.group(1))
        changed = True
        if isinstance(value, list) and isinstance(raw, list):
            resolved.extend(value)
        else:
            resolved.append(value)
    if not changed:
        return raw
    return resolved if isinstance(raw, list) else resolved[0]

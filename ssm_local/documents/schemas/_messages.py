"""Turning jsonschema's errors into ``SchemaIssue``s with messages written for a user.

The schemas carry a few keywords of their own, which jsonschema ignores and this module reads:

- ``x-expected``: what a value should be, as a noun phrase ("an integer or a {{ }} template").
- ``x-messages``: ``{keyword: message}`` (or ``{keyword: {"code": ..., "message": ...}}``) used
  when that keyword fails at this schema, e.g. ``{"oneOf": "needs exactly one of ..."}``.
- ``x-unknown-key``: for ``additionalProperties: false``, either ``{"code", "message"}`` with a
  ``{key}`` placeholder, or ``{"hints": {key: hint}}`` added to the usual "unknown field".
- ``x-at-key``: the failing value is reported at its key (``at_key=True``).

A message names where the problem is (``step 'x' (aws:sleep)``, ``parameter 'P'``, ...), then
what is wrong; it never shows jsonschema's own wording or a Python repr of a schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema.exceptions import ValidationError

Path = tuple[str | int, ...]
IssueSeverity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation: a stable ``code``, a message for the user and where it points.

    ``path`` is the JSON path of the offending value as a tuple (``("mainSteps", 0, "inputs")``);
    for a missing key it is the object that lacks it, for an unknown key it is the key itself and
    ``at_key`` is true (so a locator can point at the key rather than its value).
    """

    code: str
    message: str
    path: Path
    at_key: bool = False
    severity: IssueSeverity = "error"


@dataclass(frozen=True, slots=True)
class Where:
    """How to name a spot in a document: ``prefix`` (the step, parameter... or ``""`` for the
    document itself), whether keys below it are ``input``s or ``field``s, and the path below it."""

    prefix: str
    noun: Literal["input", "field"]
    rel: Path
    command_inputs: bool = False
    action_inputs: bool = False


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object (map)",
    "null": "null",
}


def format_rel(rel: Path) -> str:
    """``("Choices", 0, "And", 1)`` → ``Choices[0].And[1]``."""
    out = ""
    for part in rel:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def describe_value(value: Any) -> str:
    """A short description of a value for "got ..." (never a long dump)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + text.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


class Describer:
    """Describes what a schema expects, following ``$ref``s through the loaded schemas."""

    def __init__(self, defs: Mapping[str, Mapping[str, Any]]) -> None:
        # every "$defs" entry of every file, keyed "file.json#name" and "#name"
        self._defs = defs

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        file, _, fragment = ref.partition("#")
        name = fragment.rsplit("/", 1)[-1]
        return self._defs.get(f"{file}#{name}") or self._defs.get(f"#{name}") or {}

    def expected(self, schema: Any) -> str:
        if not isinstance(schema, Mapping):
            return "a valid value" if schema else "absent"
        if "x-expected" in schema:
            return str(schema["x-expected"])
        if "$ref" in schema:
            return self.expected(self.resolve(schema))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                seen: list[str] = []
                for branch in schema[key]:
                    text = self.expected(branch)
                    if text not in seen:
                        seen.append(text)
                return " or ".join(seen)
        if "const" in schema:
            return describe_value(schema["const"])
        if "enum" in schema:
            values = [describe_value(v) if not isinstance(v, str) else v for v in schema["enum"]]
            return values[0] if len(values) == 1 else "one of " + ", ".join(values)
        kind = schema.get("type")
        if isinstance(kind, list):
            return " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kind)
        items = schema.get("items")
        if kind == "array" and isinstance(items, Mapping) and items.get("type") == "string":
            return "a list of strings"
        text = _TYPE_NAMES.get(kind, "a valid value") if isinstance(kind, str) else "a value"
        bounds = []
        if "minimum" in schema:
            bounds.append(f"at least {schema['minimum']}")
        if "maximum" in schema:
            bounds.append(f"at most {schema['maximum']}")
        if bounds:
            text += " " + " and ".join(bounds)
        if "pattern" in schema:
            text += f" matching {schema['pattern']}"
        return text


class Translator:
    """Builds ``SchemaIssue``s from the errors of one validation."""

    def __init__(self, describer: Describer, locate: Callable[[Path], Where]) -> None:
        self._describer = describer
        self._locate = locate

    def issues(self, errors: Iterable[ValidationError], base: Path) -> Iterator[SchemaIssue]:
        for error in errors:
            yield from self._error(error, base)

    # -- one error ---------------------------------------------------------------------------

    def _error(self, error: ValidationError, base: Path) -> Iterator[SchemaIssue]:
        path: Path = base + tuple(error.absolute_path)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        validator = str(error.validator)
        custom = schema.get("x-messages", {}).get(validator)
        if custom is not None:
            code, text = _custom(custom, validator)
            at_key = bool(schema.get("x-at-key"))
            yield SchemaIssue(code, self._compose(path, text, at_key=at_key), path, at_key)
            return
        if validator == "required":
            yield from self._missing(error, path)
        elif validator == "additionalProperties":
            yield from self._unknown(error, path, schema)
        elif validator == "dependentRequired":
            yield from self._dependent(error, path)
        elif validator in ("anyOf", "oneOf") and self._descend(error, base):
            yield from self._descend(error, base)
        else:
            yield self._value(error, path, schema, validator)

    def _missing(self, error: ValidationError, path: Path) -> Iterator[SchemaIssue]:
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        where = self._locate(path)
        for key in error.validator_value:
            if key in instance:
                continue
            if where.rel:
                what = f"missing required field '{key}' in {self._label(where)}"
            else:
                what = f"missing required {where.noun} '{key}'"
            yield SchemaIssue("MissingRequiredField", _join(where.prefix, what), path)

    def _unknown(self, error: ValidationError, path: Path,
                 schema: Mapping[str, Any]) -> Iterator[SchemaIssue]:
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        custom = schema.get("x-unknown-key", {})
        for key in instance:
            if key in known or (isinstance(key, str) and any(re.search(p, key)
                                                             for p in patterns)):
                continue
            key_path = (*path, key)
            where = self._locate(key_path)
            parent = self._locate(path)
            severity: IssueSeverity = "error"
            if "message" in custom:
                code = str(custom.get("code", "UnknownField"))
                text = _join(parent.prefix, str(custom["message"]).format(key=key))
            else:
                code = "UnknownField"
                noun = where.noun if not parent.rel else "field"
                if parent.rel:
                    inside = f"in {self._label(parent)} of {parent.prefix}" \
                        if parent.prefix else f"in {self._label(parent)}"
                else:
                    inside = f"in {parent.prefix}" if parent.prefix \
                        else "at the top level of the document"
                text = f"unknown {noun} '{key}' {inside}"
                hint = custom.get("hints", {}).get(key)
                if hint:
                    text += f" ({hint})"
                if where.command_inputs and len(where.rel) == 1:
                    severity = "warning"
                    text += "; the SSM Agent ignores it"
                elif where.action_inputs and len(where.rel) == 1:
                    severity = "warning"
                    text += ("; AWS's action reference does not list it (AWS's own runbooks "
                             "pass such inputs), so ssm-local does not check it")
            yield SchemaIssue(code, text, key_path, True, severity)

    def _dependent(self, error: ValidationError, path: Path) -> Iterator[SchemaIssue]:
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        where = self._locate(path)
        for key, needs in error.validator_value.items():
            if key not in instance:
                continue
            for need in needs:
                if need not in instance:
                    target = f" in {self._label(where)}" if where.rel else ""
                    text = f"'{key}' needs '{need}' beside it{target}"
                    yield SchemaIssue("MissingRequiredField", _join(where.prefix, text), path)

    def _descend(self, error: ValidationError, base: Path) -> list[SchemaIssue]:
        """For a list or object that fits one branch of an anyOf/oneOf by type, that branch's
        own errors say more than "must be A or B"."""
        if not isinstance(error.instance, dict | list) or not error.context:
            return []
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
            if isinstance(branch, int):
                branches.setdefault(branch, []).append(sub)
        fitting = [
            subs for subs in branches.values()
            if not any(not sub.relative_path and sub.validator in ("type", "const", "enum")
                       for sub in subs)
        ]
        if len(fitting) != 1:
            return []
        issues: list[SchemaIssue] = []
        for sub in fitting[0]:
            issues.extend(self._error(sub, base))
        return issues

    def _value(self, error: ValidationError, path: Path, schema: Mapping[str, Any],
               validator: str) -> SchemaIssue:
        value = error.instance
        limit = error.validator_value
        if validator in ("minItems", "maxItems"):
            more = "at least" if validator == "minItems" else "at most"
            text = f"must have {more} {limit} item{'s' if limit != 1 else ''}"
        elif validator in ("minLength", "maxLength"):
            more = "at least" if validator == "minLength" else "at most"
            text = f"must be {more} {limit} character{'s' if limit != 1 else ''} long"
        elif validator in ("minProperties", "maxProperties"):
            more = "at least" if validator == "minProperties" else "at most"
            text = f"must have {more} {limit} entr{'ies' if limit != 1 else 'y'}"
        elif validator in ("not", "false"):
            text = "is not allowed here"
        else:
            text = f"must be {self._describer.expected(schema)}; got {describe_value(value)}"
        at_key = bool(schema.get("x-at-key"))
        return SchemaIssue("SchemaViolation", self._compose(path, text, at_key=at_key), path,
                           at_key)

    # -- wording -----------------------------------------------------------------------------

    def _compose(self, path: Path, text: str, *, at_key: bool = False) -> str:
        """``prefix: label text``: "step 'x' (aws:loop): input 'Steps' must contain ...";
        the label is left out for a message about a key (``at_key``) or the object itself."""
        where = self._locate(path)
        if where.rel and not at_key:
            return _join(where.prefix, f"{self._label(where)} {text}")
        if not text.startswith("must") or at_key:
            return _join(where.prefix, text)
        if where.noun == "input":
            return _join(where.prefix, f"inputs {text}")
        return f"{where.prefix} {text}" if where.prefix else f"the document {text}"

    @staticmethod
    def _label(where: Where) -> str:
        rel = format_rel(where.rel)
        return f"input '{rel}'" if where.noun == "input" else f"'{rel}'"


def _custom(custom: Any, validator: str) -> tuple[str, str]:
    if isinstance(custom, Mapping):
        return str(custom.get("code", "SchemaViolation")), str(custom.get("message", ""))
    code = "MissingRequiredField" if str(custom).startswith("missing required") \
        else "SchemaViolation"
    return code, str(custom)


def _join(prefix: str, text: str) -> str:
    return f"{prefix}: {text}" if prefix else text

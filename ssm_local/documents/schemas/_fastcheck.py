"""A fast yes/no check for the keywords ssm-local's schemas use, in front of jsonschema.

Nearly every document is valid, and jsonschema spends most of its time creating a validator per
keyword it descends into. ``compile_check(schema)`` turns a schema into plain Python closures
that only answer "valid or not"; when the answer is "not valid", the caller asks jsonschema for
the errors, so every message still comes from jsonschema's verdict. The two must agree:
``tests/documents/test_schemas.py`` compares them on the corpus and on mutated documents.

Only the draft 2020-12 keywords the schemas use are supported; any other keyword raises
``ValueError`` when compiling, so a schema can never be half-checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

Check = Callable[[Any], bool]

_IGNORED = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default",
                      "examples"})


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class Compiler:
    """Compiles schemas; ``documents`` maps each schema's ``$id`` to its content for ``$ref``."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = documents
        self._refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any, base: str) -> Check:
        if schema is True or schema == {}:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, Mapping):
            raise ValueError(f"not a schema: {schema!r}")
        checks: list[Check] = []
        for keyword, argument in schema.items():
            if keyword in _IGNORED or keyword.startswith("x-") or keyword in ("then", "else"):
                continue
            checks.append(self._keyword(keyword, argument, schema, base))
        if len(checks) == 1:
            return checks[0]

        def all_of(value: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a plain loop is faster than all(...)
                if not check(value):
                    return False
            return True

        return all_of

    def _ref(self, ref: str, base: str) -> Check:
        uri = urljoin(base, ref)
        cell = self._refs.get(uri)
        if cell is None:
            cell = self._refs[uri] = []  # filled below; a recursive $ref reads it when called
            document_uri, _, pointer = uri.partition("#")
            target: Any = self._documents[document_uri]
            for part in (p for p in pointer.split("/") if p):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            cell.append(self.compile(target, document_uri))
        found = cell
        return lambda value: found[0](value)

    def _keyword(self, keyword: str, arg: Any, schema: Mapping[str, Any], base: str) -> Check:
        if keyword == "$ref":
            return self._ref(arg, base)
        if keyword == "type":
            kinds = [_TYPES[t] for t in ([arg] if isinstance(arg, str) else arg)]
            if len(kinds) == 1:
                return kinds[0]
            return lambda v: any(kind(v) for kind in kinds)
        if keyword == "properties":
            props = {name: self.compile(sub, base) for name, sub in arg.items()}

            def properties(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for key, item in v.items():
                    check = props.get(key)
                    if check is not None and not check(item):
                        return False
                return True

            return properties
        if keyword == "patternProperties":
            patterns = [(re.compile(p), self.compile(sub, base)) for p, sub in arg.items()]

            def pattern_properties(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for key, item in v.items():
                    for pattern, check in patterns:
                        if pattern.search(key) and not check(item):
                            return False
                return True

            return pattern_properties
        if keyword == "additionalProperties":
            known = frozenset(schema.get("properties", {}))
            pats = [re.compile(p) for p in schema.get("patternProperties", {})]
            extra = self.compile(arg, base)

            def additional(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for key, item in v.items():
                    if key in known or (isinstance(key, str) and any(p.search(key)
                                                                     for p in pats)):
                        continue
                    if not extra(item):
                        return False
                return True

            return additional
        if keyword == "required":
            names = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if keyword == "items":
            item = self.compile(arg, base)
            return lambda v: not isinstance(v, list) or all(item(x) for x in v)
        if keyword == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        if keyword == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= arg
        if keyword == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= arg
        if keyword == "maxProperties":
            return lambda v: not isinstance(v, dict) or len(v) <= arg
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= arg
        if keyword == "minimum":
            return lambda v: not _is_number(v) or v >= arg
        if keyword == "maximum":
            return lambda v: not _is_number(v) or v <= arg
        if keyword == "pattern":
            compiled = re.compile(arg)
            return lambda v: not isinstance(v, str) or compiled.search(v) is not None
        if keyword == "enum":
            if any(isinstance(x, dict | list) for x in arg):
                raise ValueError("enum of objects or lists is not supported")
            values = list(arg)
            return lambda v: any(_equal(v, x) for x in values)
        if keyword == "const":
            if isinstance(arg, dict | list):
                raise ValueError("const object or list is not supported")
            return lambda v: _equal(v, arg)
        if keyword in ("anyOf", "oneOf", "allOf"):
            branches = [self.compile(sub, base) for sub in arg]
            if keyword == "anyOf":
                return lambda v: any(b(v) for b in branches)
            if keyword == "allOf":
                return lambda v: all(b(v) for b in branches)
            return lambda v: sum(1 for b in branches if b(v)) == 1
        if keyword == "not":
            negated = self.compile(arg, base)
            return lambda v: not negated(v)
        if keyword == "if":
            condition = self.compile(arg, base)
            then = self.compile(schema.get("then", True), base)
            otherwise = self.compile(schema.get("else", True), base)
            return lambda v: then(v) if condition(v) else otherwise(v)
        if keyword == "dependentRequired":
            pairs = [(key, tuple(needs)) for key, needs in arg.items()]
            return lambda v: not isinstance(v, dict) or all(
                all(n in v for n in needs) for key, needs in pairs if key in v)
        if keyword == "dependentSchemas":
            deps = [(key, self.compile(sub, base)) for key, sub in arg.items()]
            return lambda v: not isinstance(v, dict) or all(
                check(v) for key, check in deps if key in v)
        raise ValueError(f"keyword {keyword!r} is not supported by the fast check")

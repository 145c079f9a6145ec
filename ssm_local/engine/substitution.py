"""Substituting ``{{ ... }}`` references in step inputs, with AWS's typing rules.

``render(value, lookup, style=...)`` walks a value (maps, lists, strings) and replaces
placeholders (ssm-semantics.md §3.3): a string that is exactly one placeholder becomes the
referenced value with its type (a list stays a list); a placeholder inside a longer string is
inserted as text (strings verbatim, anything else as Go's ``json.Marshal`` writes it,
``go_json``); a list element that is exactly one placeholder whose value is a list is spliced into
the list; a reference that ``lookup`` does not know is left verbatim, as the SSM Agent does; text
that is not a placeholder (``awk '{{print $2}}'``) is never touched. Map keys are never
substituted. Two styles differ only in ``$``:

- ``"agent"`` (Command documents, as the SSM Agent's ``parameters.go`` does it): the document's
  own text is left exactly as written, ``$$`` included; an inserted value goes through Go's
  ``regexp.ReplaceAllString``, so ``$$`` in the value becomes ``$``, ``$0`` / ``${0}`` the
  placeholder itself and any other ``$name``, ``${name}``, ``$1`` nothing (``go_expand``).
- ``"automation"`` (Automation runbooks, AWS's service): ``$$`` in the document's text becomes
  ``$``; values are inserted verbatim.

``render_step_inputs(inputs, lookup, read)`` renders a Command step's inputs and resolves the
``{{ssm:name}}`` references of the document's own text in the same single pass (the agent's
``parameterstore.Resolve`` rules: a StringList that is a whole list element splits into elements,
a StringList anywhere else is an error, a SecureString is refused, ``SsmReferenceError``); text a
value brings in is never expanded, so ``{{`` in a parameter value or a Parameter Store value is
data. ``resolve_ssm_references(value, read)`` resolves references in any value by itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal, Protocol

from ssm_local.grammar.errors import ApiError, ExecutionError
from ssm_local.grammar.template import Escape, Placeholder, Reference, SsmParameterRef, Text, parse_template

MISSING = object()
"""What a lookup returns for a reference it does not know."""

Lookup = Callable[[Reference], Any]

Style = Literal["agent", "automation"]
"""Whose substitution rules: the SSM Agent's (Command documents) or Automation's."""

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}
_HTML_CHARS = re.compile("[<>&\u2028\u2029]")


def _go_numbers(value: Any) -> Any:
    """Floats that Go prints without a fraction (``1.0`` -> ``1``) as ints; the rest as is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_go_numbers(item) for item in value]
    return value


def go_json(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes it: compact, map keys sorted, ``<`` ``>`` ``&``
    (and U+2028, U+2029) escaped as ``\\u003c`` ``\\u003e`` ``\\u0026``, other non-ASCII kept."""
    text = json.dumps(_go_numbers(value), separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    # these characters occur in JSON text only inside strings, so a plain rewrite is exact
    return _HTML_CHARS.sub(lambda m: _HTML_ESCAPES[m.group(0)], text)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else go_json(value)


def _is_name_char(char: str) -> bool:
    return char.isalpha() or char.isdecimal() or char == "_"


def go_expand(replacement: str, match: str) -> str:
    """``replacement`` as Go's ``Regexp.ReplaceAllString`` inserts it for a match ``match`` of a
    pattern with no groups: ``$$`` -> ``$``; ``$0`` / ``${0}`` -> ``match``; any other ``$name``
    or ``${name}`` (name: letters, digits, ``_``, as long as possible) -> nothing; a ``$`` that
    starts no such form stays."""
    if "$" not in replacement:
        return replacement
    out: list[str] = []
    rest = replacement
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        rest = after
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        brace = rest.startswith("{")
        body = rest[1:] if brace else rest
        length = 0
        while length < len(body) and _is_name_char(body[length]):
            length += 1
        if length == 0 or (brace and body[length:length + 1] != "}"):
            out.append("$")  # malformed: the $ is text
            continue
        name = body[:length]
        rest = body[length + 1:] if brace else body[length:]
        if name == "0":
            out.append(match)


def render_string(text: str, lookup: Lookup, *, style: Style = "automation") -> Any:
    """One string: the typed value for a whole-string placeholder, else the substituted text."""
    if "{{" not in text and "$$" not in text:
        return text
    template = parse_template(text)
    single = template.single_placeholder
    if single is not None:
        value = lookup(single.ref)
        return single.raw if value is MISSING else value
    if template.is_literal and style == "agent":
        return text
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, Text):
            out.append(part.text)
        elif isinstance(part, Escape):
            out.append("$$" if style == "agent" else "$")
        else:
            assert isinstance(part, Placeholder)
            value = lookup(part.ref)
            if value is MISSING:
                out.append(part.raw)
            elif style == "agent" and not isinstance(part.ref, SsmParameterRef):
                out.append(go_expand(_as_text(value), part.raw))
            else:
                out.append(_as_text(value))
    return "".join(out)


def render(value: Any, lookup: Lookup, *, style: Style = "automation") -> Any:
    """``value`` with every placeholder replaced (see the module docstring for the rules)."""
    if isinstance(value, str):
        return render_string(value, lookup, style=style)
    if isinstance(value, dict):
        return {key: render(item, lookup, style=style) for key, item in value.items()}
    if isinstance(value, list):
        rendered: list[Any] = []
        for item in value:
            if isinstance(item, str) and "{{" in item:
                template = parse_template(item)
                if template.single_placeholder is not None:
                    result = render_string(item, lookup, style=style)
                    if isinstance(result, list):
                        rendered.extend(result)
                        continue
                    rendered.append(result)
                    continue
            rendered.append(render(item, lookup, style=style))
        return rendered
    return value


# -- {{ssm:name}} in Command step inputs ------------------------------------------------------


class StoredParameter(Protocol):
    """What reference resolution reads of a Parameter Store parameter."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def value(self) -> str: ...


class ParameterReader(Protocol):
    """The Parameter Store as reference resolution uses it (``services.parameters.ParameterStore``)."""

    def get_parameter(self, name: str) -> StoredParameter:
        """The parameter ``name`` (``name:VERSION`` / ``name:LABEL``); raises ``ApiError``
        (ParameterNotFound, ...) when there is none."""
        ...


class SsmReferenceError(ExecutionError):
    """A ``{{ssm:...}}`` in step inputs that cannot be used; the message is the agent's."""


_STRING_LIST_ITEM = re.compile(r"([^',]+)|('[^']+')")


def split_string_list(value: str) -> list[str]:
    """A StringList value as the agent splits it for step inputs: on ``,`` except inside
    ``'...'``, quotes removed, each item trimmed (``"'echo a,b',ls"`` -> ``["echo a,b", "ls"]``)."""
    return [m.group(0).replace("'", "").strip() for m in _STRING_LIST_ITEM.finditer(value)]


def _ssm_placeholders(text: str) -> list[Placeholder]:
    if "{{" not in text:
        return []
    return [p for p in parse_template(text).placeholders
            if isinstance(p.ref, SsmParameterRef) and not p.ref.secure]


def _collect(value: Any, found: dict[str, str]) -> None:
    if isinstance(value, str):
        for placeholder in _ssm_placeholders(value):
            assert isinstance(placeholder.ref, SsmParameterRef)
            ref = placeholder.ref
            found[placeholder.raw] = ref.name + (f":{ref.selector}" if ref.selector else "")
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def _replace_in_string(text: str, values: dict[str, StoredParameter]) -> str:
    placeholders = _ssm_placeholders(text)
    if not placeholders:
        return text
    out: list[str] = []
    at = 0
    for placeholder in placeholders:
        parameter = values[placeholder.raw]
        if parameter.type == "StringList":
            raise SsmReferenceError(f"SSM parameter {parameter.name} of type StringList cannot be "
                                    "used as a String", code="InvalidParameters")
        out.append(text[at:placeholder.start])
        out.append(parameter.value)
        at = placeholder.end
    out.append(text[at:])
    return "".join(out)


def _whole_string_list(item: Any, values: dict[str, StoredParameter]) -> str | None:
    """The reference (``{{ssm:name}}`` text) when a list element is exactly one reference to a
    StringList, spaces around it allowed: such an element becomes the list's items."""
    if not isinstance(item, str):
        return None
    placeholders = _ssm_placeholders(item.strip())
    whole = placeholders[0] if len(placeholders) == 1 else None
    if whole is not None and whole.raw == item.strip() and values[whole.raw].type == "StringList":
        return whole.raw
    return None


def _replace(value: Any, values: dict[str, StoredParameter]) -> Any:
    if isinstance(value, str):
        return _replace_in_string(value, values)
    if isinstance(value, dict):
        return {key: _replace(item, values) for key, item in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            whole = _whole_string_list(item, values)
            if whole is not None:
                out.extend(split_string_list(values[whole].value))
                continue
            out.append(_replace(item, values))
        return out
    return value


def _read_references(value: Any, read: ParameterReader) -> dict[str, StoredParameter]:
    """The Parameter Store parameter behind each ``{{ssm:name}}`` in ``value`` (by placeholder
    text), or ``SsmReferenceError`` with the agent's message."""
    found: dict[str, str] = {}
    _collect(value, found)
    values: dict[str, StoredParameter] = {}
    missing: list[str] = []
    for raw, name in found.items():
        try:
            values[raw] = read.get_parameter(name)
        except ApiError:  # ParameterNotFound, ParameterVersionNotFound, a bad name
            missing.append(name)
    if missing:
        raise SsmReferenceError(f"Input contains invalid parameters [{' '.join(missing)}]",
                                code="InvalidParameters")
    secure = sorted({p.name for p in values.values() if p.type == "SecureString"})
    if secure:
        raise SsmReferenceError(f"Parameters [{' '.join(secure)}] of type SecureString are not "
                                "supported", code="InvalidParameters")
    return values


def resolve_ssm_references(value: Any, read: ParameterReader) -> Any:
    """``value`` (rendered step inputs) with every ``{{ssm:name}}`` replaced by the parameter's
    value. A StringList is allowed only as a whole list element, which becomes its items
    (``split_string_list``). ``{{ssm-secure:...}}`` is left for the plugins that read it.

    Raises ``SsmReferenceError`` (InvalidParameters) with the agent's message: ``Input contains
    invalid parameters [name]`` when a parameter cannot be read, ``Parameters [name] of type
    SecureString are not supported``, ``SSM parameter name of type StringList cannot be used as a
    String``."""
    values = _read_references(value, read)
    return _replace(value, values) if values else value


def _whole_list_items(value: Any, values: dict[str, StoredParameter]) -> Any:
    """``value`` with each list element that is one StringList reference (spaces around it
    allowed) trimmed to exactly that reference; a StringList reference anywhere else raises
    ``SsmReferenceError`` as ``resolve_ssm_references`` does."""
    if isinstance(value, str):
        _replace_in_string(value, values)  # raises for a StringList inside text
        return value
    if isinstance(value, dict):
        return {key: _whole_list_items(item, values) for key, item in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            whole = _whole_string_list(item, values)
            if whole is not None:
                out.append(whole)
                continue
            out.append(_whole_list_items(item, values))
        return out
    return value


def render_step_inputs(inputs: Any, lookup: Lookup, read: ParameterReader | None) -> Any:
    """A Command step's inputs as the agent hands them to the plugin: document parameters
    (``lookup``, agent style) and ``{{ssm:name}}`` references (read through ``read``) replaced in
    one pass over the document's own text, so text that a value brings in (a ``{{`` in a
    parameter value or in a Parameter Store value) is data and is never expanded. A StringList
    that is a whole list element becomes its items; anywhere else it is an error.

    Raises ``SsmReferenceError`` (InvalidParameters) as ``resolve_ssm_references`` does, and when
    the inputs read the Parameter Store but ``read`` is None."""
    found: dict[str, str] = {}
    _collect(inputs, found)
    if not found:
        return render(inputs, lookup, style="agent")
    if read is None:
        raise SsmReferenceError("the step's inputs read the Parameter Store ({{ssm:...}}) but this "
                                "run has no Parameter Store", code="InvalidParameters")
    values = _read_references(inputs, read)
    by_ref = {found[raw]: parameter for raw, parameter in values.items()}
    inputs = _whole_list_items(inputs, values)

    def both(ref: Reference) -> Any:
        if isinstance(ref, SsmParameterRef) and not ref.secure:
            parameter = by_ref[ref.name + (f":{ref.selector}" if ref.selector else "")]
            if parameter.type == "StringList":  # only a whole list element gets here
                return split_string_list(parameter.value)
            return parameter.value
        return lookup(ref)

    return render(inputs, both, style="agent")

"""Substituting ``{{ ... }}`` references in step inputs, with AWS's typing rules.

``render(value, lookup)`` walks a value (maps, lists, strings) and replaces placeholders
(ssm-semantics.md §3.3): a string that is exactly one placeholder becomes the referenced value
with its type (a list stays a list); a placeholder inside a longer string is inserted as text
(strings verbatim, anything else as JSON); a list element that is exactly one placeholder whose
value is a list is spliced into the list; ``$$`` becomes ``$``; a reference that ``lookup`` does
not know is left verbatim, as the SSM agent does. Map keys are never substituted. Shared by the
Command and Automation interpreters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ssm_local.grammar.template import Escape, Placeholder, Reference, Text, parse_template

MISSING = object()
"""What a lookup returns for a reference it does not know."""

Lookup = Callable[[Reference], Any]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render_string(text: str, lookup: Lookup) -> Any:
    """One string: the typed value for a whole-string placeholder, else the substituted text."""
    if "{{" not in text and "$$" not in text:
        return text
    template = parse_template(text)
    single = template.single_placeholder
    if single is not None:
        value = lookup(single.ref)
        return single.raw if value is MISSING else value
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, Text):
            out.append(part.text)
        elif isinstance(part, Escape):
            out.append("$")
        else:
            assert isinstance(part, Placeholder)
            value = lookup(part.ref)
            out.append(part.raw if value is MISSING else _as_text(value))
    return "".join(out)


def render(value: Any, lookup: Lookup) -> Any:
    """``value`` with every placeholder replaced (see the module docstring for the rules)."""
    if isinstance(value, str):
        return render_string(value, lookup)
    if isinstance(value, dict):
        return {key: render(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        rendered: list[Any] = []
        for item in value:
            if isinstance(item, str) and "{{" in item:
                template = parse_template(item)
                if template.single_placeholder is not None:
                    result = render_string(item, lookup)
                    if isinstance(result, list):
                        rendered.extend(result)
                        continue
                    rendered.append(result)
                    continue
            rendered.append(render(item, lookup))
        return rendered
    return value

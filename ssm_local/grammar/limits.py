"""Bounds on input that every layer shares: integer length and text that is not Unicode.

These sit in the lowest layer, beside the root error class, so that the document loader, the
wire helpers and the services refuse the same inputs the same way. Each caller raises its own
error class (``DocumentError``, ``ParameterError``, a service's ValidationException) with the
message built here.
"""

from __future__ import annotations

import re
from typing import Any

MAX_INTEGER_DIGITS = 4300
"""Longest integer accepted, in digits: Python's own limit on converting integers to and from
text (``sys.get_int_max_str_digits()``'s default), so every integer read can be printed back."""


def lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate (``"U+D800"``) in ``value``'s strings, keys included, walking
    lists and dicts; None when every string is valid Unicode text.

    Such a string (from a ``\\ud800`` JSON escape, or undecodable bytes read with
    ``surrogateescape``) cannot be written as UTF-8, so it is refused where values come in
    rather than stored to break every later read.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                found = _SURROGATE.search(item)
                if found:
                    return f"U+{ord(found.group()):04X}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def huge_integer(digits: int) -> str:
    """The message for an integer of ``digits`` digits, over ``MAX_INTEGER_DIGITS``."""
    return f"an integer has {digits} digits; at most {MAX_INTEGER_DIGITS} are allowed"


__all__ = ["MAX_INTEGER_DIGITS", "huge_integer", "lone_surrogate"]

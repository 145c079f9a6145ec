"""Regular expressions written by users (allowedPattern, AllowedPattern), matched in bounded time.

A pattern comes from a document or a Parameter Store request, so it may backtrack without end
(``^(a|a)+$`` against ``aaaa...a!``). Every match of such a pattern goes through
``pattern_search`` / ``pattern_fullmatch``, which run the ``regex`` module with a time limit and
raise ``PatternTimeoutError`` (code ``PatternTimeout``) when it is hit; callers turn that into
their own AWS error (InvalidParameters, ParameterPatternMismatchException) or a diagnostic.
``compile_pattern`` reads Java's regex dialect the way AWS does (``\\p{L}`` classes, escaped
UTF-16 surrogate pairs) and caches the result.

The limit is ``PATTERN_TIMEOUT_SECONDS`` (read at each match, so an embedding application or a
test may set ``ssm_local.documents.patterns.PATTERN_TIMEOUT_SECONDS``); a caller checking many
strings against one pattern passes one ``deadline`` so the whole check stays within the limit.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any

import regex

from ssm_local.grammar.errors import ParameterError

PATTERN_TIMEOUT_SECONDS = 1.0
"""Wall-clock seconds one check of a value against a user's pattern may take (the ``regex``
module checks the limit while it backtracks, so a match may overrun it by a fraction)."""


class PatternTimeoutError(ParameterError):
    """Matching a value against a user's pattern took longer than ``PATTERN_TIMEOUT_SECONDS``."""

    code = "PatternTimeout"

    def __init__(self, pattern: str, seconds: float) -> None:
        super().__init__(
            f"matching against the pattern {pattern!r} took longer than {seconds:g} s "
            "(the pattern backtracks too much on this value)"
        )
        self.pattern, self.seconds = pattern, seconds


_JAVA_SURROGATE_PAIR = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")
"""An escaped UTF-16 surrogate pair (``\\uD83D\\uDE00``) not preceded by an odd backslash."""


def java_surrogates(pattern: str) -> str:
    """``pattern`` with every escaped UTF-16 surrogate pair written as the one code point it
    stands for (``\\uD800\\uDC00`` → ``\\U00010000``), as Java's regex reads it; so the Java
    class ``[\\uD800\\uDC00-\\uDBFF\\uDFFF]`` matches U+10000..U+10FFFF in Python too."""
    if "\\u" not in pattern:
        return pattern

    def code_point(match: re.Match[str]) -> str:
        high, low = int(match.group(2), 16), int(match.group(3), 16)
        point = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"{match.group(1)}\\U{point:08X}"

    return _JAVA_SURROGATE_PAIR.sub(code_point, pattern)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The pattern compiled with the ``regex`` module (which also reads Java's ``\\p{L}``
    classes; Java's escaped surrogate pairs are read as code points first, ``java_surrogates``);
    None when it is not a valid regular expression."""
    try:
        return regex.compile(java_surrogates(pattern))
    except (regex.error, RecursionError, OverflowError, ValueError):
        return None


def _timeout(deadline: float | None) -> float:
    if deadline is None:
        return PATTERN_TIMEOUT_SECONDS
    return max(deadline - time.monotonic(), 0.001)


def pattern_deadline() -> float:
    """A ``time.monotonic()`` deadline ``PATTERN_TIMEOUT_SECONDS`` from now, for one check of
    several strings against one pattern."""
    return time.monotonic() + PATTERN_TIMEOUT_SECONDS


def pattern_search(compiled: Any, text: str, *, deadline: float | None = None) -> bool:
    """Whether ``compiled`` (from ``compile_pattern``) matches somewhere in ``text`` (AWS's
    allowedPattern semantics for documents). Raises ``PatternTimeoutError`` when the match runs
    past ``deadline`` (``time.monotonic()``), else past ``PATTERN_TIMEOUT_SECONDS``."""
    try:
        return compiled.search(text, timeout=_timeout(deadline)) is not None
    except TimeoutError:
        raise PatternTimeoutError(compiled.pattern, PATTERN_TIMEOUT_SECONDS) from None


def pattern_fullmatch(compiled: Any, text: str, *, deadline: float | None = None) -> bool:
    """Whether ``compiled`` matches the whole of ``text`` (Parameter Store's AllowedPattern).
    Raises ``PatternTimeoutError`` as ``pattern_search`` does."""
    try:
        return compiled.fullmatch(text, timeout=_timeout(deadline)) is not None
    except TimeoutError:
        raise PatternTimeoutError(compiled.pattern, PATTERN_TIMEOUT_SECONDS) from None


__all__ = [
    "PATTERN_TIMEOUT_SECONDS",
    "PatternTimeoutError",
    "compile_pattern",
    "java_surrogates",
    "pattern_deadline",
    "pattern_fullmatch",
    "pattern_search",
]

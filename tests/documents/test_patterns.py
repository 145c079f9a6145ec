"""User patterns are matched in bounded time: a backtracking allowedPattern ends with a clear
error (check, resolve_parameters, validate) instead of hanging; Java's regex dialect keeps working."""

from __future__ import annotations

import time

import pytest

from ssm_local import documents
from ssm_local.documents import patterns
from ssm_local.documents.model import ParameterDefinition
from ssm_local.documents.parameters import check, resolve_parameters
from ssm_local.documents.patterns import (
    PatternTimeoutError,
    compile_pattern,
    pattern_fullmatch,
    pattern_search,
)
from ssm_local.grammar.errors import ParameterError

EVIL = "^(a|a)+$"
"""Exponential backtracking in every engine ssm-local could use (``re``, ``regex``)."""
INPUT = "a" * 40 + "!"
LIMIT = 0.2
BOUND = 10.0
"""Seconds a refused match may take in these tests (the limit, plus the engine's overrun and a
loaded test machine); without the limit each would run for hours."""


@pytest.fixture(autouse=True)
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "PATTERN_TIMEOUT_SECONDS", LIMIT)


def definition(type_name: str = "String") -> ParameterDefinition:
    return ParameterDefinition(
        name="Message", type=type_name, description=None, default=None, has_default=False,
        allowed_values=None, allowed_pattern=EVIL, min_items=None, max_items=None,
        min_chars=None, max_chars=None, interpolation_type=None, path=("parameters", "Message"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("match", [pattern_search, pattern_fullmatch])
def test_a_match_past_the_limit_raises(match: object) -> None:
    compiled = compile_pattern(EVIL)
    started = time.monotonic()
    with pytest.raises(PatternTimeoutError) as info:
        match(compiled, INPUT)  # type: ignore[operator]
    assert time.monotonic() - started < BOUND
    assert info.value.code == "PatternTimeout"
    assert "took longer than 0.2 s" in info.value.message
    assert match(compiled, "aaaa") is True  # type: ignore[operator]


@pytest.mark.timeout(60)
def test_a_list_shares_one_limit() -> None:
    started = time.monotonic()
    with pytest.raises(PatternTimeoutError, match=r"'\^\(a\|a\)\+\$'"):
        check(definition("StringList"), [INPUT] * 20)
    assert time.monotonic() - started < BOUND


@pytest.mark.timeout(60)
def test_a_run_is_refused_with_invalid_parameters() -> None:
    with pytest.raises(ParameterError) as info:
        resolve_parameters({"Message": definition()}, {"Message": INPUT})
    assert info.value.code == "InvalidParameters"
    assert info.value.message == (
        "parameter 'Message' could not be checked against the allowed pattern '^(a|a)+$': "
        "the match took longer than 0.2 s")


@pytest.mark.timeout(60)
def test_validate_reports_a_default_it_cannot_check() -> None:
    document = documents.load(
        '{"schemaVersion": "2.2", "description": "d", "parameters": {"Message": {"type": '
        f'"String", "allowedPattern": "{EVIL}", "default": "{INPUT}"'
        '}}, "mainSteps": [{"action": "aws:runShellScript", "name": "s", "inputs": '
        '{"runCommand": ["echo {{ Message }}"]}}]}', source="evil.json")
    found = [d for d in documents.validate(document) if d.code == "PatternTimeout"]
    assert [(d.severity.value, d.path) for d in found] == [
        ("warning", "$.parameters.Message.default")]
    assert "took longer than 0.2 s" in found[0].message


@pytest.mark.parametrize(("pattern", "text", "found"), [
    (r"^\p{L}+$", "héllo", True),
    (r"^[\uD800\uDC00-\uDBFF\uDFFF]+$", "\U0001F600", True),
    (r"^[\uD800\uDC00-\uDBFF\uDFFF]+$", "a", False),
    (r"^\d{3}$", "123", True),
])
def test_java_dialect_still_matches(pattern: str, text: str, found: bool) -> None:
    assert pattern_search(compile_pattern(pattern), text) is found

"""The template grammar: references by namespace, spans, ``$$``, and errors with columns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_local.grammar.errors import TemplateSyntaxError
from ssm_local.grammar.template import (
    Escape,
    NamespacedRef,
    ParameterRef,
    PseudoParameterRef,
    SsmParameterRef,
    StepOutputRef,
    Text,
    parse_template,
)

VALID = [
    ("{{ Message }}", [ParameterRef("Message")]),
    ("{{Message}}", [ParameterRef("Message")]),
    ("PT{{ Wait.Seconds }}S", [StepOutputRef("Wait", "Seconds")]),
    ("{{ Loop.CurrentIteratorValue }}", [StepOutputRef("Loop", "CurrentIteratorValue")]),
    ("{{ variable:Counter }}", [NamespacedRef("variable", "Counter")]),
    ("{{global:ACCOUNT_ID}}", [NamespacedRef("global", "ACCOUNT_ID")]),
    ("ami-{{ automation:EXECUTION_ID }}", [NamespacedRef("automation", "EXECUTION_ID")]),
    ("{{ ssm:/app/db/host }}", [SsmParameterRef("/app/db/host", None, False)]),
    ("{{ssm:name:3}}", [SsmParameterRef("name", "3", False)]),
    ("{{ ssm-secure:token }}", [SsmParameterRef("token", None, True)]),
    ("{{ RESOURCE_ID }}", [PseudoParameterRef("RESOURCE_ID")]),
    ("{{ a }}-{{ b.c }}", [ParameterRef("a"), StepOutputRef("b", "c")]),
    ("plain text with { braces } and $dollar", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "refs"), VALID)
def test_references(text: str, refs: list[object]) -> None:
    assert [p.ref for p in parse_template(text).placeholders] == refs


def test_spans_and_single_placeholder() -> None:
    template = parse_template("a {{ x }} b")
    assert template.parts[0] == Text("a ", 0, 2)
    placeholder = template.placeholders[0]
    assert (placeholder.start, placeholder.end, placeholder.raw) == (2, 9, "{{ x }}")
    assert template.single_placeholder is None
    assert parse_template("{{ x }}").single_placeholder is not None


def test_dollar_escape() -> None:
    parts = parse_template("cost $$5").parts
    assert parts == (Text("cost ", 0, 5), Escape(5, 7), Text("5", 7, 8))


INVALID = [
    ("{{ x", 1, "unclosed placeholder: '{{' has no matching '}}'"),
    ("ok {{ a }} then {{ b", 17, "unclosed placeholder: '{{' has no matching '}}'"),
    ("{{ }}", 4, "malformed placeholder '{{ }}': expected 'ssm:' or a name or a namespace at column 4, "
                "found '}}'"),
    ("{{ a b }}", 5, "malformed placeholder '{{ a b }}': expected '.' or '}}' at column 5, found ' '"),
    ("{{ a. }}", 6, "malformed placeholder '{{ a. }}': expected a name at column 6, found ' '"),
    ("{{ foo:bar }}", 7, "malformed placeholder '{{ foo:bar }}': expected '.' or '}}' at column 7, "
                         "found ':'"),
]


@pytest.mark.parametrize(("text", "column", "message"), INVALID)
def test_errors_have_columns(text: str, column: int, message: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template(text)
    assert caught.value.column == column
    assert caught.value.message == message


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}$ .:-_/aZ9\n\t\u00e9\u4e2d")), max_size=40))
def test_random_strings_only_raise_template_errors(text: str) -> None:
    try:
        template = parse_template(text)
    except TemplateSyntaxError as exc:
        assert exc.column is not None and 1 <= exc.column <= len(text) + 1
        return
    rebuilt = "".join(
        p.text if isinstance(p, Text) else "$$" if isinstance(p, Escape) else p.raw
        for p in template.parts
    )
    assert rebuilt == text

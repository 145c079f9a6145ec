"""The template grammar: references by namespace, spans, ``$$``, and braces that stay text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssm_local.grammar.template import (
    Escape,
    NamespacedRef,
    ParameterRef,
    Placeholder,
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


LITERAL = [
    # AWS substitutes only a {{ ... }} that names something; everything else stays as written.
    ("awk '{{print $2}}'", [], ["{{print $2}}"]),
    ('"{{}}"', [], ["{{}}"]),
    ('{{\\"a\\": 1}}', [], ['{{\\"a\\": 1}}']),
    ("# a {{ in a shell comment\necho ok", [], ["{{ in a shell comment"]),
    ("{{ x", [], ["{{ x"]),
    ("ok {{ a }} then {{ b", [ParameterRef("a")], ["{{ b"]),
    ("{{ }}", [], ["{{ }}"]),
    ("{{ a b }}", [], ["{{ a b }}"]),
    ("{{ a. }}", [], ["{{ a. }}"]),
    ("{{ foo:bar }}", [], ["{{ foo:bar }}"]),
    ("{{{{x}}}}", [ParameterRef("x")], ["{{{{x}}"]),
]


@pytest.mark.parametrize(("text", "refs", "braces"), LITERAL)
def test_braces_that_are_not_placeholders_are_text(text: str, refs: list[object],
                                                   braces: list[str]) -> None:
    template = parse_template(text)
    assert [p.ref for p in template.placeholders] == refs
    assert [b.text for b in template.literal_braces] == braces
    assert all(text[b.start:b.end] == b.text for b in template.literal_braces)


def test_powershell_triple_braces_hold_one_placeholder() -> None:
    template = parse_template("Write-Output {{{ Path }}}")
    assert template.parts == (
        Text("Write-Output {", 0, 14),
        Placeholder(ParameterRef("Path"), 14, 24, "{{ Path }}"),
        Text("}", 24, 25),
    )
    assert template.literal_braces == ()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}$ .:-_/aZ9\n\t\u00e9\u4e2d")), max_size=40))
def test_every_string_parses_and_rebuilds(text: str) -> None:
    template = parse_template(text)
    rebuilt = "".join(
        p.text if isinstance(p, Text) else "$$" if isinstance(p, Escape) else p.raw
        for p in template.parts
    )
    assert rebuilt == text

"""Output selectors: parsing into the typed tree, error messages, evaluation and the corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import ssm_local.grammar.selector as selector_module
from ssm_local.grammar.errors import SelectorSyntaxError
from ssm_local.grammar.selector import (
    SYNTAX_HINTS,
    And,
    Child,
    Comparison,
    Constant,
    CurrentPath,
    Exists,
    Filter,
    Index,
    Not,
    Or,
    RecursiveDescent,
    Selector,
    Slice,
    Span,
    Wildcard,
    evaluate_selector,
    parse_selector,
)
from tests.conftest import corpus_dir


def _absolute(*segments: Any) -> Selector:
    return Selector(True, tuple(segments))


def _relative(*segments: Any) -> Selector:
    return Selector(False, tuple(segments))


def _at(*names: str | int) -> CurrentPath:
    return CurrentPath(tuple(Index(n) if isinstance(n, int) else Child(n) for n in names))


TAG_IS_NAME = Comparison(_at("Key"), "==", Constant("Name"))

PARSES: list[tuple[str, Selector]] = [
    # What the corpus uses.
    ("$", _absolute()),
    ("$.Payload", _absolute(Child("Payload"))),
    ("$.a.b", _absolute(Child("a"), Child("b"))),
    ("$..x", _absolute(RecursiveDescent(Child("x")))),
    ("$.Reservations..Instances..InstanceId", _absolute(
        Child("Reservations"),
        RecursiveDescent(Child("Instances")),
        RecursiveDescent(Child("InstanceId")),
    )),
    ("$.a[0].b", _absolute(Child("a"), Index(0), Child("b"))),
    ("$.Payload.x[-1]", _absolute(Child("Payload"), Child("x"), Index(-1))),
    ("$.Tags[?(@.Key == 'Name')].Value", _absolute(
        Child("Tags"), Filter(TAG_IS_NAME), Child("Value")
    )),
    ("$['SubnetId']", _absolute(Child("SubnetId"))),
    ('$.a["b c"]', _absolute(Child("a"), Child("b c"))),
    ("$.AutomationExecution.Outputs.'step.output'[0]", _absolute(
        Child("AutomationExecution"), Child("Outputs"), Child("step.output"), Index(0)
    )),
    ("SnapshotId", _relative(Child("SnapshotId"))),
    ("InstanceIds[0]", _relative(Child("InstanceIds"), Index(0))),
    ("Payload.x", _relative(Child("Payload"), Child("x"))),
    ("$[*]", _absolute(Wildcard())),
    ("$.*", _absolute(Wildcard())),
    ("$.a[*].b", _absolute(Child("a"), Wildcard(), Child("b"))),
    # Names: anything that is not special, including keywords and digits.
    ("$.alb_network_setting[1].security-groups", _absolute(
        Child("alb_network_setting"), Index(1), Child("security-groups")
    )),
    ("$.aws:cloudformation:stack-name", _absolute(Child("aws:cloudformation:stack-name"))),
    ("$.true.null.0", _absolute(Child("true"), Child("null"), Child("0"))),
    ("$.Größe.名前", _absolute(Child("Größe"), Child("名前"))),
    ("$ . a [ 0 ]", _absolute(Child("a"), Index(0))),
    # Quoted names and escapes.
    ("$['']", _absolute(Child(""))),
    ("$['it\\'s']", _absolute(Child("it's"))),
    ('$["say \\"hi\\""]', _absolute(Child('say "hi"'))),
    ("$['a\\\\b\\/c\\n\\t']", _absolute(Child("a\\b/c\n\t"))),
    ("$['\\u00e9\\ud83d\\ude00']", _absolute(Child("é😀"))),
    ("'dotted.name'.x", _relative(Child("dotted.name"), Child("x"))),
    ("['a b'][0]", _relative(Child("a b"), Index(0))),
    ("[0]", _relative(Index(0))),
    ("[*]", _relative(Wildcard())),
    # Deep scans of every kind.
    ("$..*", _absolute(RecursiveDescent(Wildcard()))),
    ("$..[0]", _absolute(RecursiveDescent(Index(0)))),
    ("$..['a b']", _absolute(RecursiveDescent(Child("a b")))),
    ("$..'a.b'", _absolute(RecursiveDescent(Child("a.b")))),
    ("$..[?(@.Key)]", _absolute(RecursiveDescent(Filter(Exists(_at("Key")))))),
    # Slices.
    ("$[1:3]", _absolute(Slice(1, 3))),
    ("$[:2]", _absolute(Slice(None, 2))),
    ("$[-2:]", _absolute(Slice(-2, None))),
    ("$[::-1]", _absolute(Slice(None, None, -1))),
    ("$[:]", _absolute(Slice())),
    ("$[0:10:2]", _absolute(Slice(0, 10, 2))),
    # Filters.
    ("$[?@.Key == 'Name']", _absolute(Filter(TAG_IS_NAME))),
    ('$[?(@.Key=="Name")]', _absolute(Filter(TAG_IS_NAME))),
    ("$[?(@)]", _absolute(Filter(Exists(CurrentPath())))),
    ("$[?(@ == 'x')]", _absolute(Filter(Comparison(CurrentPath(), "==", Constant("x"))))),
    ("$[?(@.a[0]['b c'] != null)]", _absolute(
        Filter(Comparison(_at("a", 0, "b c"), "!=", Constant(None)))
    )),
    ("$[?(@.n < 1)]", _absolute(Filter(Comparison(_at("n"), "<", Constant(1))))),
    ("$[?(@.n <= -2.5)]", _absolute(Filter(Comparison(_at("n"), "<=", Constant(-2.5))))),
    ("$[?(@.n > 1e3)]", _absolute(Filter(Comparison(_at("n"), ">", Constant(1000.0))))),
    ("$[?(@.n >= 0)]", _absolute(Filter(Comparison(_at("n"), ">=", Constant(0))))),
    ("$[?(true == @.b)]", _absolute(Filter(Comparison(Constant(True), "==", _at("b"))))),
    ("$[?(@.b != false)]", _absolute(Filter(Comparison(_at("b"), "!=", Constant(False))))),
    ("$[?(@.a == @.b)]", _absolute(Filter(Comparison(_at("a"), "==", _at("b"))))),
    ("$[?(!@.a)]", _absolute(Filter(Not(Exists(_at("a")))))),
    ("$[?(!(@.a == 1))]", _absolute(Filter(Not(Comparison(_at("a"), "==", Constant(1)))))),
    ("$[?(@.a && @.b || @.c)]", _absolute(
        Filter(Or((And((Exists(_at("a")), Exists(_at("b")))), Exists(_at("c")))))
    )),
    ("$[?(@.a && (@.b || @.c))]", _absolute(
        Filter(And((Exists(_at("a")), Or((Exists(_at("b")), Exists(_at("c")))))))
    )),
    ("$[?(@.a || @.b || @.c)]", _absolute(
        Filter(Or((Exists(_at("a")), Exists(_at("b")), Exists(_at("c")))))
    )),
    ("$[?((((@.a))))]", _absolute(Filter(Exists(_at("a"))))),
    ("$[?(@.s == 'a]b)c')]", _absolute(Filter(Comparison(_at("s"), "==", Constant("a]b)c"))))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[text for text, _ in PARSES])
def test_parses_into_the_typed_tree(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[text for text, _ in PARSES])
def test_str_is_canonical_and_parses_back(text: str, expected: Selector) -> None:
    rendered = str(parse_selector(text))
    assert parse_selector(rendered) == expected
    assert str(parse_selector(rendered)) == rendered


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("$", "$"),
        ("$['SubnetId']", "$.SubnetId"),
        ("$[*]", "$.*"),
        ("$.a['b c']", "$.a['b c']"),
        ("$.Outputs.'step.output'[0]", "$.Outputs['step.output'][0]"),
        ("Payload.x", "Payload.x"),
        ("[*].a", "[*].a"),
        ("$..['x']", "$..x"),
        ("$..[?(@.a)]", "$..[?(@.a)]"),
        ('$[?@.Key=="it\'s"]', "$[?(@.Key == 'it\\'s')]"),
        ("$[?(!(@.a) && (@.b || @.c))]", "$[?(!@.a && (@.b || @.c))]"),
        ("$[?(@.n == 1e999)]", "$[?(@.n == 1e999)]"),
        ("$[0:2]", "$[0:2]"),
    ],
)
def test_canonical_rendering(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


def test_the_source_and_spans_are_kept_but_not_compared() -> None:
    parsed = parse_selector("$.Tags[?(@.Key == 'Name')].Value")
    assert parsed.source == "$.Tags[?(@.Key == 'Name')].Value"
    tags, tag_filter, value = parsed.segments
    assert (tags.span, tag_filter.span, value.span) == (Span(1, 6), Span(6, 26), Span(26, 32))
    assert tag_filter.span is not None and tag_filter.span.column == 7
    assert isinstance(tag_filter, Filter) and isinstance(tag_filter.expression, Comparison)
    assert tag_filter.expression.span == Span(9, 24)
    assert tag_filter.expression.right.span == Span(18, 24)
    assert parsed == Selector(True, (Child("Tags"), Filter(TAG_IS_NAME), Child("Value")))


@pytest.mark.parametrize(
    ("text", "singular"),
    [("$", True), ("Payload.x", True), ("$.a[0]['b']", True), ("$..x", False), ("$.a[*]", False),
     ("$[0:1]", False), ("$[?(@.a)]", False)],
)
def test_is_singular(text: str, singular: bool) -> None:
    assert parse_selector(text).is_singular is singular


ERRORS: list[tuple[str, int, str]] = [
    ("", 1, "a selector must not be empty: use '$' for the whole response"),
    ("   ", 1, "a selector must not be empty: use '$' for the whole response"),
    ("$.", 3, "expected a name, a quoted name or '*' at column 3, found the end of the selector"),
    ("$. ", 3, "expected a name, a quoted name or '*' at column 3, found the end of the selector"),
    ("$..", 4,
     "expected a name, a quoted name, '*' or '[' at column 4, found the end of the selector"),
    ("$...x", 4, "expected a name, a quoted name, '*' or '[' at column 4, found '.'"),
    ("$.a[", 5, "expected a quoted name, '*', an index, ':' or '?' at column 5, "
                "found the end of the selector"),
    ("$[]", 3, "expected a quoted name, '*', an index, ':' or '?' at column 3, found ']'"),
    ("$[0", 4, "expected ':' or ']' at column 4, found the end of the selector"),
    ("$[1.5]", 4, "expected ':' or ']' at column 4, found '.'"),
    ("$[0,1]", 4, "expected ':' or ']' at column 4, found ','"),
    ("$ $", 3, "expected '.', '..', '[' or the end of the selector at column 3, found '$'"),
    ("$.a b", 5, "expected '.', '..', '[' or the end of the selector at column 5, found 'b'"),
    ("$Payload", 2,
     "expected '.', '..', '[' or the end of the selector at column 2, found 'Payload'"),
    ("$.a'b'", 4,
     "expected '.', '..', '[' or the end of the selector at column 4, found \"'b'\""),
    ("$.'abc", 3, "unclosed quote: the string starting at column 3 has no closing '"),
    ('$["abc', 3, 'unclosed quote: the string starting at column 3 has no closing "'),
    ("$[?(@.a == 'x)]", 12, "unclosed quote: the string starting at column 12 has no closing '"),
    ("$['a\\x']", 5, "unknown escape '\\\\x' at column 5: inside quotes use "
                     "\\\\, \\', \\\", \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX"),
    ("$[?()]", 5, "expected '@', '!', '(', a quoted string, a number, true, false or null "
                  "at column 5, found ')'"),
    ("$[?(@.a)", 9, "expected '&&', '||' or ']' at column 9, found the end of the selector"),
    ("$[?(@.a == 1]", 13, "expected ')' at column 13, found ']'"),
    ("$[?(@.b > )]", 11, "expected '@', a quoted string, a number, true, false or null "
                         "at column 11, found ')'"),
    ("$[?(@.a == 1 &&)]", 16, "expected '@', '!', '(', a quoted string, a number, true, false "
                              "or null at column 16, found ')'"),
    ("$[?(@.a[*])]", 9, "expected a quoted name or an index at column 9, found '*' "
                        "(a filter path leads to one value: no '..', '*' or slices in it)"),
    ("$[?(@..a)]", 7, "expected a name or a quoted name at column 7, found '.' "
                      "(a filter path leads to one value: no '..', '*' or slices in it)"),
    ("$.a,b", 4, "expected '.', '..', '[' or the end of the selector at column 4, found ','"),
    ("$[?(@.Key = 'Name')]", 11,
     "expected '.', '[', a comparison (==, !=, <, <=, >, >=), '&&', '||' or ')' at column 11, "
     "found '=' (compare with '==', not '=')"),
    ("$[?(!@.a == 1)]", 10, "expected '&&', '||' or ')' at column 10, found '==' "
                            "('!' negates a parenthesised test: write !(@.a == 1))"),
    ("$[?(@.a == 1 and @.b)]", 14, "expected '&&', '||' or ')' at column 14, found 'and' "
                                   "(combine tests with && and ||)"),
    ("$[?(@.Key == Name)]", 14, "expected '@', a quoted string, a number, true, false or null "
                                "at column 14, found 'Name' "
                                "(quote string values, as in @.Key == 'Name')"),
    ("@.a", 1, "expected '$', a name, a quoted name or '[' at column 1, found '@' "
               "('@' only appears inside a filter [?(...)]; start a selector with '$')"),
    ("$.a.[0]", 5, "expected a name, a quoted name or '*' at column 5, found '[' "
                   "(write '[' straight after a name, without a '.' in between)"),
    ("$[?(Key == 'Name')]", 5, "expected '@', '!', '(', a quoted string, a number, true, false "
                               "or null at column 5, found 'Key' (a filter tests '@', the element "
                               "being filtered, as in [?(@.Key == 'Name')])"),
    ("$[" + "1" * 5000 + "]", 3, "the number at column 3 has too many digits"),
    ("$[?(@.n > -" + "9" * 5000 + ")]", 11, "the number at column 11 has too many digits"),
    ("$['\\u12']", 4, "unknown escape '\\\\u' at column 4: inside quotes use "
                       "\\\\, \\', \\\", \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX"),
    ("$[?(" + "!(" * 70 + "@.a" + ")" * 71 + "]", 133,
     "the filter expression at column 133 is nested more than 64 levels deep"),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS, ids=[t[:40] for t, _, _ in ERRORS])
def test_syntax_errors_say_what_was_expected_where(text: str, column: int, message: str) -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        parse_selector(text)
    assert caught.value.message == message
    assert caught.value.column == column
    assert caught.value.code == "SelectorSyntaxError"
    assert caught.value.__cause__ is None
    assert str(caught.value) == f"SelectorSyntaxError: {message}"


HINT_EXAMPLES = [(hint, example) for hint, examples in SYNTAX_HINTS.items() for example in examples]


@pytest.mark.parametrize(("hint", "example"), HINT_EXAMPLES, ids=[e for _, e in HINT_EXAMPLES])
def test_every_known_mistake_gets_its_hint(hint: str, example: str) -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        parse_selector(example)
    assert caught.value.message.endswith(f" ({hint})")


def test_errors_on_later_lines_count_columns_from_the_start_of_the_string() -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        parse_selector("$\n  .a b")
    assert caught.value.column == 8
    assert "at column 8, found 'b'" in caught.value.message


def test_the_parser_is_built_once() -> None:
    parse_selector("$.a")
    assert selector_module._parser() is selector_module._parser()


def test_all_lists_the_public_names() -> None:
    public = {
        name
        for name, value in vars(selector_module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == selector_module.__name__
    }
    assert public <= set(selector_module.__all__)
    assert all(hasattr(selector_module, name) for name in selector_module.__all__)


# --- random input ----------------------------------------------------------------------------

# Pieces of selector syntax: joined at random they reach deep into the grammar's states.
FRAGMENTS = [
    "$", ".", "..", "[", "]", "a", "'b c'", '"d"', "0", "-1", "*", ":", "?", "(", ")", "@",
    "==", "=", "<=", ">", "!", "&&", "||", "&", "1.5", "true", "null", " ", "'", "\\", ",",
]


def _parse_or_syntax_error(text: str) -> Selector | None:
    try:
        return parse_selector(text)
    except SelectorSyntaxError as error:
        assert error.column is not None and 1 <= error.column <= len(text) + 1
        return None


@settings(max_examples=300, deadline=2000, database=None)
@given(st.text())
def test_random_text_only_ever_raises_selector_syntax_error(text: str) -> None:
    _parse_or_syntax_error(text)


@settings(max_examples=1000, deadline=2000, database=None)
@given(
    st.sampled_from(["", "$", "$.a", "$[?(@.", "$.a[?(@.k == "]),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
)
def test_selector_like_text_parses_or_raises_and_round_trips(prefix: str, rest: str) -> None:
    text = prefix + rest
    parsed = _parse_or_syntax_error(text)
    if parsed is not None:
        assert parse_selector(str(parsed)) == parsed


_NAMES = st.text(max_size=6)
_PATHS = st.lists(st.one_of(_NAMES.map(Child), st.integers(-3, 3).map(Index)), max_size=3).map(
    lambda segments: CurrentPath(tuple(segments))
)
_CONSTANTS = st.one_of(
    st.text(max_size=6),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
).map(Constant)
_OPERANDS = st.one_of(_PATHS, _CONSTANTS)
_EXPRESSIONS = st.recursive(
    st.one_of(
        st.builds(Comparison, _OPERANDS, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                  _OPERANDS),
        st.builds(Exists, _PATHS),
    ),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=8,
)
_SEGMENTS = st.one_of(
    _NAMES.map(Child),
    st.integers(-5, 5).map(Index),
    st.just(Wildcard()),
    st.builds(Slice, st.none() | st.integers(-3, 3), st.none() | st.integers(-3, 3),
              st.none() | st.integers(-2, 2)),
    _EXPRESSIONS.map(Filter),
)


@settings(max_examples=300, deadline=2000, database=None)
@given(st.booleans(), st.lists(st.one_of(_SEGMENTS, _SEGMENTS.map(RecursiveDescent)), max_size=5))
def test_built_selectors_render_to_text_that_parses_back(root: bool, segments: list[Any]) -> None:
    if not root and (not segments or isinstance(segments[0], RecursiveDescent)):
        root = True  # a relative selector starts with a name or a bracket
    built = Selector(root, tuple(segments))
    assert parse_selector(str(built)) == built


# --- the corpus ------------------------------------------------------------------------------


def _selectors_in(value: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key in ("Selector", "PropertySelector"):
                    found.append((key, item))
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def test_every_selector_in_the_corpus_parses() -> None:
    corpus = corpus_dir()
    failures: list[str] = []
    count = 0
    for path in sorted(corpus.rglob("*")):
        if path.suffix not in (".json", ".yaml", ".yml"):
            continue
        for key, value in _selectors_in(_load(path)):
            count += 1
            if not isinstance(value, str):
                failures.append(f"{path.relative_to(corpus)}: {key} is not a string: {value!r}")
                continue
            try:
                parse_selector(value)
            except SelectorSyntaxError as error:
                failures.append(f"{path.relative_to(corpus)}: {key} {value!r}: {error.message}")
    assert count > 0, f"no Selector or PropertySelector found under {corpus}"
    assert failures == []


# --- evaluation ------------------------------------------------------------------------------

TAGS = {"Tags": [{"Key": "Env", "Value": "prod"}, {"Key": "Name", "Value": "web"}]}
ITEMS = {
    "items": [
        {"n": 1, "s": "a", "flag": True, "v": None},
        {"n": 2.0, "s": "b", "flag": 1},
        {"n": "3", "s": "c", "flag": False, "v": 0, "sub": {"k": [10, 20]}},
        {"s": "d", "b c": 2},
    ]
}
NESTED = {"x": 1, "a": {"x": 2, "b": [{"x": 3}, {"y": {"x": {"x": 4}}}]}}
EXECUTION = {
    "AutomationExecution": {
        "AutomationExecutionStatus": "Success",
        "Outputs": {"step.output": ["ami-1"], "other.Output": []},
    }
}

EVALUATES: list[tuple[str, Any, list[Any]]] = [
    ("$", {"a": 1}, [{"a": 1}]),
    ("$", None, [None]),
    ("$.a.b", {"a": {"b": 2}}, [2]),
    ("a.b", {"a": {"b": 2}}, [2]),
    ("$.a.b", {"a": {"b": None}}, [None]),
    ("$.a.missing", {"a": {"b": 2}}, []),
    ("$.a.b.c", {"a": {"b": "text"}}, []),
    ("$.l[0]", {"l": [5, 6, 7]}, [5]),
    ("$.l[-1]", {"l": [5, 6, 7]}, [7]),
    ("$.l[-3]", {"l": [5, 6, 7]}, [5]),
    ("$.l[3]", {"l": [5, 6, 7]}, []),
    ("$.l[-4]", {"l": [5, 6, 7]}, []),
    ("$.l[0]", {"l": {"0": "key"}}, []),
    ("$.l.0", {"l": {"0": "key"}}, ["key"]),
    ("$.l.a", {"l": [{"a": 1}]}, []),
    ("$.s[0]", {"s": "abc"}, []),
    ("$.s.*", {"s": "abc"}, []),
    ("$.l[*]", {"l": [5, 6, 7]}, [5, 6, 7]),
    ("$.o.*", {"o": {"b": 1, "a": 2}}, [1, 2]),
    ("$[*]", [[1], [2]], [[1], [2]]),
    ("$.l[*].a", {"l": [{"a": 1}, {"b": 2}, {"a": 3}]}, [1, 3]),
    ("$.l[1:3]", {"l": [5, 6, 7, 8]}, [6, 7]),
    ("$.l[-2:]", {"l": [5, 6, 7, 8]}, [7, 8]),
    ("$.l[::-1]", {"l": [5, 6, 7]}, [7, 6, 5]),
    ("$.l[::2]", {"l": [5, 6, 7]}, [5, 7]),
    ("$.l[::0]", {"l": [5, 6, 7]}, []),
    ("$.l[5:]", {"l": [5, 6, 7]}, []),
    ("$.o[0:1]", {"o": {"a": 1}}, []),
    ("$['a b'].c", {"a b": {"c": 1}}, [1]),
    ("$.AutomationExecution.Outputs.'step.output'[0]", EXECUTION, ["ami-1"]),
    ("$.AutomationExecution.Outputs['other.Output'][0]", EXECUTION, []),
    ("$..x", NESTED, [1, 2, 3, {"x": 4}, 4]),
    ("$.a..x", NESTED, [2, 3, {"x": 4}, 4]),
    ("$..x.x", NESTED, [4]),
    ("$..nothing", NESTED, []),
    ("$..[0]", {"a": [1, 2], "b": {"c": [3]}}, [1, 3]),
    ("$..*", {"a": [1, {"b": 2}], "c": 3}, [[1, {"b": 2}], 3, 1, {"b": 2}, 2]),
    ("$..[1:]", [[1, 2], [3, 4]], [[3, 4], 2, 4]),
    ("$.Tags[?(@.Key == 'Name')].Value", TAGS, ["web"]),
    ("$.Tags[?(@.Key != 'Name')].Value", TAGS, ["prod"]),
    ("$.Tags[?(@.Key == 'Missing')].Value", TAGS, []),
    ("$..[?(@.Key == 'Env')].Value", TAGS, ["prod"]),
    ("$.items[?(@.n == 2)].s", ITEMS, ["b"]),
    ("$.items[?(@.n == 1.0)].s", ITEMS, ["a"]),
    ("$.items[?(@.n > 1)].s", ITEMS, ["b"]),
    ("$.items[?(@.n >= 1)].s", ITEMS, ["a", "b"]),
    ("$.items[?(@.n < 2)].s", ITEMS, ["a"]),
    ("$.items[?(@.n <= 2)].s", ITEMS, ["a", "b"]),
    ("$.items[?(@.n == '3')].s", ITEMS, ["c"]),
    ("$.items[?(@.n != 2)].s", ITEMS, ["a", "c", "d"]),
    ("$.items[?(@.n < 'z')].s", ITEMS, ["c"]),
    ("$.items[?(@.s > 'b')].s", ITEMS, ["c", "d"]),
    ("$.items[?(@.s <= 'b')].s", ITEMS, ["a", "b"]),
    ("$.items[?(@.flag == true)].s", ITEMS, ["a"]),
    ("$.items[?(@.flag == 1)].s", ITEMS, ["b"]),
    ("$.items[?(@.flag == false)].s", ITEMS, ["c"]),
    ("$.items[?(@.v == null)].s", ITEMS, ["a"]),
    ("$.items[?(@.v)].s", ITEMS, ["a", "c"]),
    ("$.items[?(!@.v)].s", ITEMS, ["b", "d"]),
    ("$.items[?(@.missing == @.absent)].s", ITEMS, ["a", "b", "c", "d"]),
    ("$.items[?(@.missing < 1 || @.missing >= 1)].s", ITEMS, []),
    ("$.items[?(@.sub.k[-1] == 20)].s", ITEMS, ["c"]),
    ("$.items[?(@.sub.k == @.sub.k)].s", ITEMS, ["a", "b", "c", "d"]),
    ("$.l[?(@.a == @.b)].a", {"l": [
        {"a": [1, {"x": 2}], "b": [1, {"x": 2.0}]},
        {"a": [1], "b": [True]},
        {"a": {"k": 1}, "b": {"k": 1, "j": 2}},
        {"a": {"k": "1"}, "b": {"k": 1}},
        {"a": [1, 2], "b": [1]},
    ]}, [[1, {"x": 2}]]),
    ("$.items[?(@['b c'] == 2)].s", ITEMS, ["d"]),
    ("$.items[?(@.n && @.v)].s", ITEMS, ["a", "c"]),
    ("$.items[?(@.n == 2 || @.s == 'd')].s", ITEMS, ["b", "d"]),
    ("$.items[?(!(@.n == 2 || @.s == 'd'))].s", ITEMS, ["a", "c"]),
    ("$.items[?(@.flag == true && @.n == 1 || @.s == 'd')].s", ITEMS, ["a", "d"]),
    ("$.l[?(@ == 'x')]", {"l": ["x", "y", "x"]}, ["x", "x"]),
    ("$.l[?(@ > 1)]", {"l": [0, 1, 2, True, 3.5]}, [2, 3.5]),
    ("$.l[?(@ == 1)]", {"l": [1, True, 1.0, "1"]}, [1, 1.0]),
    ("$.o[?(@.a)]", {"o": {"p": {"a": 1}, "q": {"b": 2}}}, [{"a": 1}]),
    ("$.o[?(@ == @)]", {"o": {"p": [1, {"q": True}]}}, [[1, {"q": True}]]),
]


@pytest.mark.parametrize(("text", "data", "expected"), EVALUATES, ids=[t for t, _, _ in EVALUATES])
def test_evaluation_returns_matches_in_document_order(
    text: str, data: Any, expected: list[Any]
) -> None:
    result = evaluate_selector(parse_selector(text), data)
    assert result == expected
    assert [type(value) for value in result] == [type(value) for value in expected]


def test_deep_scan_of_deeply_nested_data_does_not_recurse() -> None:
    data: Any = {"x": "bottom"}
    for _ in range(5000):
        data = {"a": [data]}
    assert evaluate_selector(parse_selector("$..x"), data) == ["bottom"]


def test_evaluation_works_on_a_hand_built_selector_and_leaves_data_alone() -> None:
    data = {"Reservations": [{"Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]}]}
    before = json.dumps(data)
    built = Selector(True, (Child("Reservations"), RecursiveDescent(Child("InstanceId"))))
    assert evaluate_selector(built, data) == ["i-1", "i-2"]
    assert json.dumps(data) == before


def test_comparisons_with_infinity_and_large_numbers() -> None:
    data = {"l": [{"n": 10**30}, {"n": 1.5}]}
    assert evaluate_selector(parse_selector("$.l[?(@.n < 1e999)].n"), data) == [10**30, 1.5]
    selected = evaluate_selector(parse_selector("$.l[?(@.n > 1e29)].n"), data)
    assert selected == [10**30] and not math.isinf(selected[0])

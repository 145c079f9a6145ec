"""Parsing and evaluating Automation output selectors (``Selector`` / ``PropertySelector``).

A selector is the JSONPath subset that SSM runbooks use to pick a value out of a step's response
(ssm-semantics.md §5.4): ``$`` (the whole response), ``.name`` / ``['name']`` / ``.'dotted.name'``
children, ``[n]`` indexes (negative counts from the end), ``[start:stop:step]`` slices, ``*`` /
``[*]`` wildcards, ``..`` deep scans and ``[?(...)]`` filters over ``@.path`` tests, and the
same without the leading ``$.`` (``Payload.x``). ``parse_selector`` turns one string into a
``Selector``, a tree of frozen dataclasses with 0-based spans; any syntax error is raised as
``SelectorSyntaxError`` with the 1-based column and what was expected there. ``evaluate_selector``
is a separate pure function that returns the matched values in document order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeAlias, cast

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ssm_local.grammar.errors import SelectorSyntaxError

__all__ = [
    "SYNTAX_HINTS",
    "And",
    "Child",
    "Comparator",
    "Comparison",
    "Constant",
    "CurrentPath",
    "Exists",
    "Expression",
    "Filter",
    "Index",
    "Not",
    "Operand",
    "Or",
    "RecursiveDescent",
    "Segment",
    "Selector",
    "Slice",
    "Span",
    "Wildcard",
    "evaluate_selector",
    "parse_selector",
]

MAX_FILTER_DEPTH = 64
"""How deeply filter expressions may nest (parentheses, ``!``, ``&&`` inside ``||``)."""


# --- the typed tree --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node sits in the selector string: 0-based ``start``, exclusive ``end``."""

    start: int
    end: int

    @property
    def column(self) -> int:
        """The 1-based column of the node's first character."""
        return self.start + 1


@dataclass(frozen=True, slots=True)
class Child:
    """``.name``, ``.'quoted.name'`` or ``['name']``: the member ``name`` of an object."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``.*`` or ``[*]``: every member value of an object, every element of an array."""

    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: one array element; a negative ``index`` counts from the end (``[-1]`` = last)."""

    index: int
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Slice:
    """``[start:stop:step]``: array elements as Python slices them; a ``step`` of 0 selects none."""

    start: int | None = None
    stop: int | None = None
    step: int | None = None
    span: Span | None = field(default=None, compare=False, repr=False)


JsonScalar: TypeAlias = str | int | float | bool | None
Comparator: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class CurrentPath:
    """``@``, ``@.a.b``, ``@['a'][0]``: a single value below the node a filter is testing."""

    segments: tuple[Child | Index, ...] = ()
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Constant:
    """A literal in a filter: a quoted string, a number, ``true``, ``false`` or ``null``."""

    value: JsonScalar
    span: Span | None = field(default=None, compare=False, repr=False)


Operand: TypeAlias = CurrentPath | Constant


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right``; a missing path equals only a missing path and orders with nothing."""

    left: Operand
    operator: Comparator
    right: Operand
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Exists:
    """``@.path`` on its own: true when the path leads to a value (even ``null`` or ``false``)."""

    path: CurrentPath
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    """``!(expr)`` or ``!@.path``."""

    operand: Expression
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    """``a && b && ...``: true when every operand is."""

    operands: tuple[Expression, ...]
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    """``a || b || ...``: true when any operand is."""

    operands: tuple[Expression, ...]
    span: Span | None = field(default=None, compare=False, repr=False)


Expression: TypeAlias = Comparison | Exists | Not | And | Or


@dataclass(frozen=True, slots=True)
class Filter:
    """``[?(expression)]`` (or ``[?expression]``): the children for which the expression holds."""

    expression: Expression
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecursiveDescent:
    """``..target``: ``target`` applied to the node and every node below it, in document order."""

    target: Child | Wildcard | Index | Slice | Filter
    span: Span | None = field(default=None, compare=False, repr=False)


Segment: TypeAlias = Child | Wildcard | Index | Slice | Filter | RecursiveDescent


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector: its segments, applied left to right to the step's response.

    ``root_explicit`` records whether the text started with ``$``; ``Payload.x`` and ``$.Payload.x``
    select the same value. ``str(selector)`` renders a canonical form that parses back to it.
    """

    root_explicit: bool
    segments: tuple[Segment, ...]
    source: str = field(default="", compare=False, repr=False)

    @property
    def is_singular(self) -> bool:
        """True when the selector can match at most one value (names and indexes only)."""
        return all(isinstance(segment, Child | Index) for segment in self.segments)

    def __str__(self) -> str:
        text = "$" if self.root_explicit else ""
        for position, segment in enumerate(self.segments):
            rendered = _render_segment(segment)
            if position == 0 and not self.root_explicit:
                # A relative selector starts with a bare name or a bracket, never with a dot.
                rendered = "[*]" if isinstance(segment, Wildcard) else rendered.removeprefix(".")
            text += rendered
        return text


# --- parsing ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark.open_from_package(
        "ssm_local.grammar", "selector.lark", parser="lalr", propagate_positions=True,
        maybe_placeholders=True,
    )


def parse_selector(text: str) -> Selector:
    """Parse one selector; a malformed one raises ``SelectorSyntaxError`` with a 1-based column."""
    if not text.strip():
        raise SelectorSyntaxError(
            "a selector must not be empty: use '$' for the whole response", column=1
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except LarkError as exc:  # pragma: no cover - any other lark failure is still ours
        raise SelectorSyntaxError(f"malformed selector: {exc}", column=1) from None
    return _Builder(text).selector(tree)


# What each terminal looks like to the user, in the order an error message lists them.
_EXPECTED = {
    "ROOT": "'$'",
    "AT": "'@'",
    "NOT": "'!'",
    "_LPAR": "'('",
    "NAME": "a name",
    "STRING": "a quoted name",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "STAR": "'*'",
    "INT": "an index",
    "COLON": "':'",
    "QMARK": "'?'",
    "DOT": "'.'",
    "DOTDOT": "'..'",
    "LSQB": "'['",
    "COMPARATOR": "a comparison (==, !=, <, <=, >, >=)",
    "_AND": "'&&'",
    "_OR": "'||'",
    "_RPAR": "')'",
    "RSQB": "']'",
    "$END": "the end of the selector",
}

SYNTAX_HINTS: dict[str, tuple[str, ...]] = {
    "compare with '==', not '='": ("$[?(@.Key = 'Name')]", "$[?@.a = 1]"),
    "'!' negates a parenthesised test: write !(@.a == 1)": ("$[?(!@.a == 1)]", "$[?!@.a > 1]"),
    "combine tests with && and ||": (
        "$[?(@.a == 1 and @.b == 2)]",
        "$[?(@.a and @.b)]",
        "$[?@.a == 1 or @.b == 2]",
    ),
    "quote string values, as in @.Key == 'Name'": ("$[?(@.Key == Name)]", "$[?@.a != b]"),
    "'@' only appears inside a filter [?(...)]; start a selector with '$'": ("@.a", "@"),
    "write '[' straight after a name, without a '.' in between": ("$.a.[0]", "$.['a']"),
    "a filter tests '@', the element being filtered, as in [?(@.Key == 'Name')]": (
        "$[?(Key == 'Name')]",
        "$[?Key == 'Name']",
        "$.a[?(.Key)]",
    ),
    "a filter path leads to one value: no '..', '*' or slices in it": (
        "$[?(@..a)]",
        "$[?(@.*)]",
        "$[?(@.a[*])]",
        "$[?(@.a[0:1])]",
    ),
}
"""Known mistakes → the hint added to their error message. The tests run every example."""


def _syntax_error(text: str, exc: UnexpectedInput) -> SelectorSyntaxError:
    expected = _acceptable(exc)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        if text[pos] in "'\"" and "STRING" in expected:
            quote = text[pos]
            return SelectorSyntaxError(
                f"unclosed quote: the string starting at column {pos + 1} has no closing {quote}",
                column=pos + 1,
            )
        found = repr(text[pos])
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        pos = exc.token.start_pos if exc.token.start_pos is not None else 0
        found = repr(str(exc.token))
    else:
        pos, found = len(text.rstrip()), "the end of the selector"
    message = f"expected {_describe(expected)} at column {pos + 1}, found {found}"
    hint = _hint_for(exc)
    if hint:
        message += f" ({hint})"
    return SelectorSyntaxError(message, column=pos + 1)


def _acceptable(exc: UnexpectedInput) -> frozenset[str]:
    """The terminals the parser would have taken where it stopped, ``$END`` included."""
    parser = getattr(exc, "interactive_parser", None)
    if parser is not None:
        return frozenset(parser.accepts())
    if isinstance(exc, UnexpectedToken):  # pragma: no cover - lark always attaches the parser
        return frozenset(exc.expected)
    return frozenset(getattr(exc, "allowed", None) or ())  # pragma: no cover


def _describe(expected: frozenset[str]) -> str:
    names = [description for term, description in _EXPECTED.items() if term in expected]
    if "NUMBER" in expected and "STRING" in expected:
        names = ["a quoted string" if name == "a quoted name" else name for name in names]
    if not names:  # pragma: no cover - every terminal of the grammar is described
        return "a valid selector"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _error_key(exc: UnexpectedInput) -> tuple[frozenset[str], str]:
    """What makes two errors the same mistake: what was acceptable, and what came instead."""
    if isinstance(exc, UnexpectedCharacters):
        return _acceptable(exc), exc.char
    if isinstance(exc, UnexpectedToken):
        return _acceptable(exc), exc.token.type
    return _acceptable(exc), "$END"  # pragma: no cover


def _hint_for(exc: UnexpectedInput) -> str | None:
    """The hint whose examples fail the same way: same acceptable terminals, same offender."""
    key = _error_key(exc)
    for hint, examples in SYNTAX_HINTS.items():
        for example in examples:
            try:
                _parser().parse(example)
            except UnexpectedInput as other:
                if _error_key(other) == key:
                    return hint
    return None


_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


class _Builder:
    """Turns the lark tree of one selector into the typed tree (no evaluation happens here)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def selector(self, tree: Tree[Token]) -> Selector:
        segments = tuple(self.segment(child) for child in _trees(tree))
        return Selector(tree.data == "absolute", segments, self.text)

    def segment(self, tree: Tree[Token]) -> Segment:
        kind = tree.data
        if kind == "descendant":
            target = self.segment(_trees(tree)[0])
            assert not isinstance(target, RecursiveDescent)
            return RecursiveDescent(target, _span(tree))
        if kind == "wildcard":
            return Wildcard(_span(tree))
        if kind == "slice":
            # LSQB [INT] COLON [INT] [COLON] [INT] RSQB, with None for each absent part.
            parts = tree.children[1:-1]
            start, stop, step = (None if p is None else _integer(p) for p in parts[0:5:2])
            return Slice(start, stop, step, _span(tree))
        if kind == "filter":
            return Filter(self.expression(_trees(tree)[0], 1), _span(tree))
        return self.singular(tree)

    def singular(self, tree: Tree[Token]) -> Child | Index:
        if tree.data == "index":
            return Index(_integer(_token(tree, "INT")), _span(tree))
        if tree.data == "quoted_name":
            return Child(self.unquote(_token(tree, "STRING")), _span(tree))
        return Child(str(_token(tree, "NAME")), _span(tree))

    def expression(self, tree: Tree[Token], depth: int) -> Expression:
        span = _span(tree)
        if depth > MAX_FILTER_DEPTH:
            column = span.column if span else 1
            raise SelectorSyntaxError(
                f"the filter expression at column {column} is nested more than "
                f"{MAX_FILTER_DEPTH} levels deep",
                column=column,
            )
        kind, operands = tree.data, _trees(tree)
        if kind == "or_expr":
            return Or(tuple(self.expression(op, depth + 1) for op in operands), span)
        if kind == "and_expr":
            return And(tuple(self.expression(op, depth + 1) for op in operands), span)
        if kind == "not_expr":
            inner = operands[0]
            if inner.data == "current":
                return Not(Exists(self.current(inner), _span(inner)), span)
            return Not(self.expression(inner, depth + 1), span)
        if kind == "exists":
            return Exists(self.current(operands[0]), span)
        left, right = (self.operand(op) for op in operands)
        operator = cast(Comparator, str(_token(tree, "COMPARATOR")))
        return Comparison(left, operator, right, span)

    def current(self, tree: Tree[Token]) -> CurrentPath:
        return CurrentPath(tuple(self.singular(child) for child in _trees(tree)), _span(tree))

    def operand(self, tree: Tree[Token]) -> Operand:
        kind = tree.data
        if kind == "current":
            return self.current(tree)
        token = tree.children[0]
        assert isinstance(token, Token)
        value: JsonScalar
        if kind == "string":
            value = self.unquote(token)
        elif kind == "number":
            value = _number(token)
        else:
            value = {"true": True, "false": False, "null": None}[kind]
        return Constant(value, _span(tree))

    def unquote(self, token: Token) -> str:
        """The text between the quotes, with JSON-style escapes (``\\'``, ``\\n``, ``\\u00e9``)."""
        start = token.start_pos or 0

        def replace(match: re.Match[str]) -> str:
            escape = match.group(1)
            if escape[0] == "u" and len(escape) == 5:
                return chr(int(escape[1:], 16))
            if escape in _ESCAPES:
                return _ESCAPES[escape]
            column = start + 1 + match.start() + 1
            raise SelectorSyntaxError(
                f"unknown escape {match.group(0)!r} at column {column}: inside quotes use "
                "\\\\, \\', \\\", \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX",
                column=column,
            )

        return _join_surrogates(_ESCAPE.sub(replace, str(token)[1:-1]))


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [child for child in tree.children if isinstance(child, Tree)]


def _token(tree: Tree[Token], kind: str) -> Token:
    for child in tree.children:
        if isinstance(child, Token) and child.type == kind:
            return child
    raise AssertionError(f"{tree.data} has no {kind}")  # pragma: no cover


def _integer(token: Token | Tree[Token]) -> int:
    try:
        return int(str(token))
    except ValueError:  # longer than sys.get_int_max_str_digits()
        column = (getattr(token, "start_pos", None) or 0) + 1
        raise SelectorSyntaxError(
            f"the number at column {column} has too many digits", column=column
        ) from None


def _number(token: Token) -> int | float:
    if any(c in token for c in ".eE"):
        return float(token)
    return _integer(token)


def _span(tree: Tree[Token]) -> Span | None:
    meta = tree.meta
    if meta.empty:
        return None
    return Span(meta.start_pos, meta.end_pos)


def _join_surrogates(text: str) -> str:
    """``\\ud83d\\ude00`` arrives as two code points; JSON means the one character they encode."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


# --- rendering -------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[^\s.\[\]'\"*$@()?=!<>&|,]+")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _render_segment(segment: Segment) -> str:
    if isinstance(segment, Child):
        if _PLAIN_NAME.fullmatch(segment.name):
            return f".{segment.name}"
        return f"[{_quote(segment.name)}]"
    if isinstance(segment, Wildcard):
        return ".*"
    if isinstance(segment, Index):
        return f"[{segment.index}]"
    if isinstance(segment, Slice):
        bounds = ["" if b is None else str(b) for b in (segment.start, segment.stop)]
        step = "" if segment.step is None else f":{segment.step}"
        return f"[{bounds[0]}:{bounds[1]}{step}]"
    if isinstance(segment, Filter):
        return f"[?({_render_expression(segment.expression)})]"
    target = _render_segment(segment.target)
    return "." + target if target.startswith(".") else ".." + target


def _render_expression(expression: Expression) -> str:
    # Parenthesise an operand that would otherwise merge into its parent (or bind the wrong way),
    # so that the text parses back to the same tree.
    if isinstance(expression, Or):
        return " || ".join(
            f"({_render_expression(op)})" if isinstance(op, Or) else _render_expression(op)
            for op in expression.operands
        )
    if isinstance(expression, And):
        return " && ".join(
            f"({_render_expression(op)})" if isinstance(op, And | Or) else _render_expression(op)
            for op in expression.operands
        )
    if isinstance(expression, Not):
        inner = expression.operand
        if isinstance(inner, Exists):
            return "!" + _render_operand(inner.path)
        return f"!({_render_expression(inner)})"
    if isinstance(expression, Exists):
        return _render_operand(expression.path)
    left, right = _render_operand(expression.left), _render_operand(expression.right)
    return f"{left} {expression.operator} {right}"


def _render_operand(operand: Operand) -> str:
    if isinstance(operand, CurrentPath):
        return "@" + "".join(_render_segment(segment) for segment in operand.segments)
    value = operand.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, float) and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return repr(value)


# --- evaluation ------------------------------------------------------------------------------

_NOTHING: Any = object()
"""What a filter path yields when it leads nowhere (distinct from a JSON ``null``)."""


def evaluate_selector(selector: Selector, data: Any) -> list[Any]:
    """The values ``selector`` matches in ``data``, in document order (``[]`` when none match).

    ``data`` is a JSON-like value: mappings, sequences (not strings) and scalars. A bare ``$``
    matches ``data`` itself. Nothing here raises for a shape mismatch: ``.name`` on an array or
    ``[0]`` on an object simply matches nothing.
    """
    nodes: list[Any] = [data]
    for segment in selector.segments:
        nodes = [value for node in nodes for value in _apply(segment, node)]
    return nodes


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_array(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _children(node: Any) -> Iterator[Any]:
    if _is_object(node):
        yield from node.values()
    elif _is_array(node):
        yield from node


def _apply(segment: Segment, node: Any) -> Iterator[Any]:
    if isinstance(segment, Child | Index):
        value = _singular(segment, node)
        if value is not _NOTHING:
            yield value
    elif isinstance(segment, Wildcard):
        yield from _children(node)
    elif isinstance(segment, Slice):
        if _is_array(node) and segment.step != 0:
            yield from node[segment.start : segment.stop : segment.step]
    elif isinstance(segment, Filter):
        for child in _children(node):
            if _test(segment.expression, child):
                yield child
    else:
        for descendant in _descendants_or_self(node):
            yield from _apply(segment.target, descendant)


def _singular(segment: Child | Index, node: Any) -> Any:
    if isinstance(segment, Child):
        if _is_object(node) and segment.name in node:
            return node[segment.name]
        return _NOTHING
    if _is_array(node):
        index = segment.index + len(node) if segment.index < 0 else segment.index
        if 0 <= index < len(node):
            return node[index]
    return _NOTHING


def _descendants_or_self(node: Any) -> Iterator[Any]:
    """The node, then everything below it, depth first in document order (no recursion)."""
    stack: list[Iterator[Any]] = [iter((node,))]
    while stack:
        for value in stack[-1]:
            yield value
            stack.append(_children(value))
            break
        else:
            stack.pop()


def _test(expression: Expression, node: Any) -> bool:
    if isinstance(expression, Or):
        return any(_test(op, node) for op in expression.operands)
    if isinstance(expression, And):
        return all(_test(op, node) for op in expression.operands)
    if isinstance(expression, Not):
        return not _test(expression.operand, node)
    if isinstance(expression, Exists):
        return _resolve(expression.path, node) is not _NOTHING
    left, right = _resolve(expression.left, node), _resolve(expression.right, node)
    return _compare(left, expression.operator, right)


def _resolve(operand: Operand, node: Any) -> Any:
    if isinstance(operand, Constant):
        return operand.value
    value = node
    for segment in operand.segments:
        value = _singular(segment, value)
        if value is _NOTHING:
            break
    return value


def _compare(left: Any, operator: Comparator, right: Any) -> bool:
    if operator == "==":
        return _equal(left, right)
    if operator == "!=":
        return not _equal(left, right)
    if operator == "<":
        return _less(left, right)
    if operator == ">":
        return _less(right, left)
    if operator == "<=":
        return _less(left, right) or _equal(left, right)
    return _less(right, left) or _equal(left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: ``1 == 1.0``, but ``true`` is not ``1``; arrays and objects compare deeply."""
    if left is _NOTHING or right is _NOTHING:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if _is_array(left) and _is_array(right):
        return len(left) == len(right) and all(map(_equal, left, right))
    if _is_object(left) and _is_object(right):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    if _is_array(left) or _is_array(right) or _is_object(left) or _is_object(right):
        return False
    return type(left) is type(right) and bool(left == right)


def _less(left: Any, right: Any) -> bool:
    """Numbers order with numbers and strings with strings; anything else is never less."""
    if _is_number(left) and _is_number(right):
        return bool(left < right)
    if isinstance(left, str) and isinstance(right, str):
        return left < right
    return False

"""Parsing SSM template strings into literal text, ``$$`` escapes and typed ``{{ ... }}`` references.

Every string in a document (step inputs, preconditions, defaults, assumeRole...) may contain
placeholders. ``parse_template`` turns one string into a ``Template``: a tuple of parts with
0-based character spans, so a later diagnostic can point at the exact column. References are
typed by namespace (ssm-semantics.md §3.2): document parameters, step outputs
(``Step.Output``, including ``Loop.CurrentIteratorValue``), ``variable:``, ``global:``,
``automation:``, ``ssm:`` / ``ssm-secure:`` Parameter Store references and maintenance-window
pseudo-parameters. A string without ``{{`` or ``$$`` never reaches the lark parser. An unclosed
or malformed placeholder raises ``TemplateSyntaxError`` with its 1-based column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from ssm_local.grammar.errors import TemplateSyntaxError

MAINTENANCE_WINDOW_PSEUDO_PARAMETERS = frozenset(
    {
        "WINDOW_ID",
        "WINDOW_TASK_ID",
        "WINDOW_TARGET_ID",
        "WINDOW_EXECUTION_ID",
        "TASK_EXECUTION_ID",
        "INVOCATION_ID",
        "TARGET_TYPE",
        "TARGET_ID",
        "RESOURCE_ID",
        "LOGGING_S3_BUCKET_NAME",
        "LOGGING_S3_KEY_PREFIX",
        "LOGGING_S3_REGION",
    }
)
"""``{{NAME}}`` values that maintenance windows fill in, not the document engine."""

GLOBAL_NAMES = frozenset({"ACCOUNT_ID", "REGION", "AWS_PARTITION", "DATE", "DATE_TIME"})
AUTOMATION_NAMES = frozenset({"EXECUTION_ID"})


@dataclass(frozen=True, slots=True)
class ParameterRef:
    """``{{ Name }}``: a document parameter."""

    name: str
    kind: Literal["parameter"] = "parameter"


@dataclass(frozen=True, slots=True)
class PseudoParameterRef:
    """``{{ RESOURCE_ID }}`` and friends: filled in by maintenance windows."""

    name: str
    kind: Literal["pseudo"] = "pseudo"


@dataclass(frozen=True, slots=True)
class StepOutputRef:
    """``{{ Step.Output }}``: an output of an earlier step (``output`` may contain dots)."""

    step: str
    output: str
    kind: Literal["output"] = "output"


@dataclass(frozen=True, slots=True)
class NamespacedRef:
    """``{{ variable:Name }}``, ``{{ global:REGION }}`` or ``{{ automation:EXECUTION_ID }}``."""

    namespace: Literal["variable", "global", "automation"]
    name: str
    kind: Literal["namespaced"] = "namespaced"


@dataclass(frozen=True, slots=True)
class SsmParameterRef:
    """``{{ ssm:/path }}`` / ``{{ ssm-secure:name:3 }}``: a Parameter Store value."""

    name: str
    selector: str | None
    secure: bool
    kind: Literal["ssm"] = "ssm"


Reference = ParameterRef | PseudoParameterRef | StepOutputRef | NamespacedRef | SsmParameterRef


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text, kept verbatim."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Escape:
    """``$$``, which renders as a single ``$``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{{ ... }}`` with its reference and span in the string."""

    ref: Reference
    start: int
    end: int
    raw: str


Part = Text | Escape | Placeholder


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed string: its parts in order."""

    source: str
    parts: tuple[Part, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    @property
    def is_literal(self) -> bool:
        """True when the string has no placeholder (it may still contain ``$$``)."""
        return not any(isinstance(p, Placeholder) for p in self.parts)

    @property
    def single_placeholder(self) -> Placeholder | None:
        """The placeholder when the whole string is exactly one (AWS keeps its value's type)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return self.parts[0]
        return None


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark.open_from_package(
        "ssm_local.grammar", "template.lark", parser="lalr", propagate_positions=True,
        maybe_placeholders=False,
    )


_EXPECTED = {
    "CLOSE": "'}}'",
    "NAME": "a name",
    "SSM_NAME": "a parameter name",
    "DOT": "'.'",
    "SSM_PREFIX": "'ssm:'",
    "NAMESPACE": "a namespace",
}


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    names = sorted({_EXPECTED.get(e, e) for e in expected if e not in ("TEXT", "ESCAPE", "OPEN")})
    return " or ".join(names) if names else "'}}'"


@lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """Parse one string. Raises ``TemplateSyntaxError`` (with a 1-based ``column``) if malformed."""
    if "{{" not in text and "$$" not in text:
        return Template(text, (Text(text, 0, len(text)),) if text else ())
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as exc:
        raise _syntax_error(text, exc.pos_in_stream or 0, exc.allowed) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise _unclosed(text) from None
        pos = exc.token.start_pos if exc.token.start_pos is not None else 0
        raise _syntax_error(text, pos, exc.expected) from None
    except UnexpectedEOF:
        raise _unclosed(text) from None
    except LarkError as exc:  # pragma: no cover - any other lark failure is still ours
        raise TemplateSyntaxError(f"malformed template: {exc}", column=1) from None
    return Template(text, tuple(_parts(tree, text)))


def _unclosed(text: str) -> TemplateSyntaxError:
    start = text.rfind("{{")
    return TemplateSyntaxError(
        "unclosed placeholder: '{{' has no matching '}}'", column=max(start, 0) + 1
    )


def _syntax_error(text: str, pos: int, expected: set[str] | frozenset[str]) -> TemplateSyntaxError:
    opening = text.rfind("{{", 0, pos + 1)
    snippet = text[opening : text.find("}}", pos) + 2] if "}}" in text[pos:] else text[opening:]
    if "}}" not in text[opening:]:
        return _unclosed(text)
    found = text[pos] if pos < len(text) else "end of text"
    if pos < len(text) and text[pos : pos + 2] == "}}":
        found = "'}}'"
    else:
        found = repr(found)
    return TemplateSyntaxError(
        f"malformed placeholder {snippet[:60]!r}: expected {_describe_expected(expected)} "
        f"at column {pos + 1}, found {found}",
        column=pos + 1,
    )


def _parts(tree: Tree[Token], text: str) -> list[Part]:
    parts: list[Part] = []
    for child in tree.children:
        if isinstance(child, Token):
            start = child.start_pos or 0
            end = child.end_pos if child.end_pos is not None else start + len(child)
            if child.type == "ESCAPE":
                parts.append(Escape(start, end))
            else:
                parts.append(Text(str(child), start, end))
        else:
            parts.append(_placeholder(child, text))
    return parts


def _placeholder(node: Tree[Token], text: str) -> Placeholder:
    open_tok, ref_tree, close_tok = node.children
    assert isinstance(open_tok, Token) and isinstance(close_tok, Token)
    assert isinstance(ref_tree, Tree)
    start = open_tok.start_pos or 0
    end = close_tok.end_pos if close_tok.end_pos is not None else start
    tokens = [str(t) for t in ref_tree.children]
    ref: Reference
    if ref_tree.data == "ssm_ref":
        secure = tokens[0].startswith("ssm-secure")
        name, _, selector = tokens[1].partition(":")
        ref = SsmParameterRef(name, selector or None, secure)
    elif ref_tree.data == "namespaced_ref":
        namespace = tokens[0][:-1]
        ref = NamespacedRef(namespace, tokens[1])  # type: ignore[arg-type]
    else:
        names = [t for t in tokens if t != "."]
        if len(names) == 1:
            if names[0] in MAINTENANCE_WINDOW_PSEUDO_PARAMETERS:
                ref = PseudoParameterRef(names[0])
            else:
                ref = ParameterRef(names[0])
        else:
            ref = StepOutputRef(names[0], ".".join(names[1:]))
    return Placeholder(ref, start, end, text[start:end])


def references(text: str) -> tuple[Reference, ...]:
    """The references in ``text`` (raises ``TemplateSyntaxError`` like ``parse_template``)."""
    return tuple(p.ref for p in parse_template(text).placeholders)

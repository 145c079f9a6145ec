"""Parsing SSM template strings into literal text, ``$$`` escapes and typed ``{{ ... }}`` references.

Every string in a document (step inputs, preconditions, defaults, assumeRole...) may contain
placeholders. ``parse_template`` turns one string into a ``Template``: a tuple of parts with
0-based character spans, so a later diagnostic can point at the exact column. References are
typed by namespace (ssm-semantics.md §3.2): document parameters, step outputs
(``Step.Output``, including ``Loop.CurrentIteratorValue``), ``variable:``, ``global:``,
``automation:``, ``ssm:`` / ``ssm-secure:`` Parameter Store references and maintenance-window
pseudo-parameters. As AWS substitutes only a ``{{ ... }}`` that names something, every other
text is literal: ``awk '{{print $2}}'`` is one ``Text``, ``{{{ Path }}}`` is ``{``, a placeholder
and ``}``. No string is a syntax error; ``Template.literal_braces`` lists the ``{{`` that did not
open a placeholder, for a validator that wants to mention them. A string without ``{{`` or ``$$``
never reaches the lark parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

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
    """``$$`` in a document's own text: Automation renders it as ``$``; the SSM Agent, which runs
    Command documents, leaves it as written (``ssm_local.engine.substitution``)."""

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
class LiteralBraces:
    """A ``{{`` that does not open a placeholder (so AWS leaves it as written): ``start`` is the
    0-based offset of the ``{{``, ``text`` runs to the next ``}}`` (included) or the line's end."""

    start: int
    end: int
    text: str


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
    def literal_braces(self) -> tuple[LiteralBraces, ...]:
        """Every ``{{`` inside literal text, in order (``{{{{`` counts once per pair)."""
        found: list[LiteralBraces] = []
        for part in self.parts:
            if not isinstance(part, Text):
                continue
            at = part.text.find("{{")
            while at != -1:
                start = part.start + at
                close = self.source.find("}}", start + 2)
                newline = self.source.find("\n", start + 2)
                if close != -1 and (newline == -1 or close < newline):
                    end = close + 2
                else:
                    end = newline if newline != -1 else len(self.source)
                found.append(LiteralBraces(start, end, self.source[start:end]))
                at = part.text.find("{{", at + 2)
        return tuple(found)

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


@lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """Parse one string; never fails on user text: braces that do not form a placeholder are
    ``Text`` (listed by ``Template.literal_braces``)."""
    if "{{" not in text and "$$" not in text:
        return Template(text, (Text(text, 0, len(text)),) if text else ())
    try:
        tree = _parser().parse(text)
    except LarkError as exc:  # pragma: no cover - the grammar accepts every string
        raise TemplateSyntaxError(f"template parser failed: {exc}", column=1) from None
    return Template(text, tuple(_parts(tree, text)))


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
    """The references in ``text``, in order."""
    return tuple(p.ref for p in parse_template(text).placeholders)

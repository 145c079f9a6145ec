"""The pure document model: text in, a validated ``Document`` out, with no I/O of its own.

``load`` parses JSON or YAML text into a ``Document`` (raising ``DocumentError`` with
file:line:column when the text cannot be read as a document); ``validate`` returns
``Diagnostic``s with stable codes and locations; ``check`` does both and never raises for bad
input. ``build_graph`` gives the step graph. Nothing here imports ``engine``.
"""

from __future__ import annotations

from ssm_local.documents.diagnostics import Diagnostic, Severity
from ssm_local.documents.graph import build_graph
from ssm_local.documents.loader import Format, load_text
from ssm_local.documents.model import Document, ParameterDefinition, Step
from ssm_local.documents.schemas import classify as _classify
from ssm_local.documents.validate import validate
from ssm_local.grammar.errors import DocumentError


def load(content: str | bytes, *, source: str = "<document>", format: Format | None = None
         ) -> Document:
    """Parse document text. Raises ``DocumentError`` (with a code and location) when it is not a
    readable SSM document: malformed JSON/YAML, duplicate keys, not an object, no or an unknown
    schemaVersion."""
    from ssm_local.documents.model import build_document

    loaded = load_text(content, source=source, format=format)
    kind, version = _classify(loaded.data)
    return build_document(loaded, kind, version)


def check(content: str | bytes, *, source: str = "<document>", format: Format | None = None,
          create: bool = False) -> tuple[Document | None, list[Diagnostic]]:
    """Load and validate; a document that cannot load yields one error diagnostic.
    ``create=True`` checks as CreateDocument does (see ``validate``)."""
    try:
        document = load(content, source=source, format=format)
    except DocumentError as exc:
        return None, [Diagnostic(exc.code, Severity.ERROR, exc.message, source, exc.line,
                                 exc.column, exc.path or "$")]
    return document, validate(document, create=create)


__all__ = [
    "Diagnostic",
    "Document",
    "DocumentError",
    "Format",
    "ParameterDefinition",
    "Severity",
    "Step",
    "build_graph",
    "check",
    "load",
    "load_text",
    "validate",
]

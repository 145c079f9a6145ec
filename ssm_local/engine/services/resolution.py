"""Document and Parameter Store resolution shared by Run Command and Automation.

``resolve_document`` finds the document a request names: a file, else ``name[:version]`` in the
document registry (through a ``DocumentLookup``), else a document bundled with ssm-local; it
returns a ``ResolvedDocument`` (the loaded document and the name and version it is reported
under). ``load_document`` loads and validates a document's text once (cached). The adapters turn
the engine's services into the small callables the resolvers take: ``registry_lookup`` and
``registry_content`` over the document registry, ``parameter_store_resolver`` and
``parameter_store_value`` over the Parameter Store (``{{ssm:name}}`` references; a StringList
becomes a list).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ssm_local import documents
from ssm_local.documents import Document
from ssm_local.documents import library as bundled
from ssm_local.documents.loader import format_path, read_document_file
from ssm_local.grammar.errors import ApiError, DocumentError, ParameterError

DocumentLookup = Callable[[str, str | None], "tuple[Document, str] | None"]
"""``lookup(name, version)`` -> (document, version) from a registry, or None when it has none."""

DocumentContent = Callable[[str, str | None], tuple[str, str, str]]
"""``content(name, version)`` -> (name, version, content text); raises ``ApiError`` when the
registry has no such document (InvalidDocument) or version (InvalidDocumentVersion)."""

SsmResolver = Callable[[str], Any]
"""``resolve(name)`` -> the value of Parameter Store parameter ``name`` (a list for a StringList)."""


class DocumentRegistryReader(Protocol):
    """What the resolvers need of the document registry (``services.documents.DocumentRegistry``)."""

    def get_document(self, name: str, *, document_version: str | None = None) -> dict[str, Any]:
        """GetDocument's shape, with ``Content`` and ``DocumentVersion``."""
        ...


class ParameterReader(Protocol):
    """What the resolvers need of the Parameter Store (``services.parameters.ParameterStore``)."""

    def get_parameter(self, name: str) -> Any:
        """The parameter (with ``type`` and ``value``); raises ``ApiError`` ParameterNotFound."""
        ...


@dataclass(frozen=True)
class ResolvedDocument:
    """The document a command runs, with the name and version it is reported under."""

    name: str
    version: str
    document: Document

    @property
    def hash(self) -> str:
        """SHA-256 of the document's text, hex (GetCommand's DocumentHash)."""
        return hashlib.sha256(self.document.text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def load_document(text: str, source: str, plugins: frozenset[str] = frozenset()) -> Document:
    """Load and validate; cached, as the same document is sent again and again (it is frozen).

    ``plugins`` are the names of the Command plugins the caller injected: a step that runs one
    of them is not an ``UnknownAction`` even when neither ssm-local nor the SSM Agent knows the
    name. Raises ``DocumentError`` (InvalidDocument) for a document with errors."""
    document = documents.load(text, source=source)
    injected = {format_path((*step.path, "action")) for step in document.all_steps()
                if step.action in plugins}
    injected.update(format_path(("runtimeConfig", name)) for name in plugins)
    # The 64 KB limit is CreateDocument's; AWS runs its own larger documents, and so does
    # ssm-local when it runs a file (docs/decisions.md).
    errors = [d for d in documents.validate(document)
              if d.is_error and d.code != "MaxDocumentSizeExceeded"
              and not (d.code == "UnknownAction" and d.path in injected)]
    if errors:
        raise DocumentError(f"{source} is not valid: {errors[0].format_text()}",
                            code="InvalidDocument")
    return document


def resolve_document(name_or_path: str, version: str | None = None, *,
                     registry: DocumentLookup | None = None,
                     plugins: frozenset[str] = frozenset()) -> ResolvedDocument:
    """A document file, else ``name[:version]`` in the registry, else a bundled document.

    ``plugins``: injected Command plugin names a file may run (see ``load_document``); the
    registry holds only documents CreateDocument accepted. Raises ``DocumentError``
    (InvalidDocument) when none of them has it or it is not valid."""
    path = Path(name_or_path)
    if path.exists() and not path.is_dir():  # a file, or a pipe such as <(...)
        try:
            text = read_document_file(path, name_or_path).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(f"cannot read {name_or_path}: {exc}", code="InvalidDocument") from None
        document = load_document(text, name_or_path, plugins)
        return ResolvedDocument(name_or_path, version or "$DEFAULT", document)
    name = name_or_path
    if version is None and ":" in name and not name.startswith("arn:"):
        name, _, version = name.rpartition(":")
    if registry is not None:
        found = registry(name, version)
        if found is not None:
            return ResolvedDocument(name, found[1], found[0])
    if name in bundled.names() and version in (None, "$DEFAULT", "$LATEST", "1"):
        return ResolvedDocument(name, version or "$DEFAULT", load_document(bundled.read(name), name))
    raise DocumentError(f"document {name_or_path!r} was not found: it is not a file, not in the "
                        f"registry and not bundled (bundled: {', '.join(bundled.names())})",
                        code="InvalidDocument")


def registry_content(registry: DocumentRegistryReader) -> DocumentContent:
    """A ``DocumentContent`` over the document registry: GetDocument's content and version."""

    def content(name: str, version: str | None) -> tuple[str, str, str]:
        found = registry.get_document(name, document_version=version)
        return name, str(found["DocumentVersion"]), str(found["Content"])

    return content


def registry_lookup(registry: DocumentRegistryReader) -> DocumentLookup:
    """A ``DocumentLookup`` over the document registry (``ssm_local.engine.services.documents``);
    a name the registry does not have gives None (so the bundled documents are tried)."""

    def lookup(name: str, version: str | None) -> tuple[Document, str] | None:
        try:
            found = registry.get_document(name, document_version=version)
        except ApiError as exc:
            if exc.code == "InvalidDocument":  # no document by that name: try the bundled ones
                return None
            raise
        return load_document(found["Content"], name), str(found.get("DocumentVersion") or "$DEFAULT")

    return lookup


def parameter_store_value(parameters: ParameterReader) -> SsmResolver:
    """Resolves ``{{ssm:name}}`` through the Parameter Store; a StringList becomes a list. The
    store's errors pass through (``ApiError`` ParameterNotFound); a SecureString is refused with
    the agent's message (``ParameterError`` InvalidParameters), never inserted."""

    def value(name: str) -> Any:
        parameter = parameters.get_parameter(name)
        if parameter.type == "SecureString":
            raise ParameterError(f"Parameters [{parameter.name}] of type SecureString are not "
                                 "supported", code="InvalidParameters")
        return parameter.value.split(",") if parameter.type == "StringList" else parameter.value

    return value


def parameter_store_resolver(parameters: ParameterReader) -> SsmResolver:
    """As ``parameter_store_value``, but a parameter that cannot be read raises
    ``ParameterError`` (ParameterNotFound) naming the reference, as SendCommand reports it."""
    value = parameter_store_value(parameters)

    def resolve(name: str) -> Any:
        try:
            return value(name)
        except ApiError as exc:
            raise ParameterError(f"{{{{ssm:{name}}}}} cannot be resolved: {exc.message}",
                                 code="ParameterNotFound") from None

    return resolve


__all__ = [
    "DocumentContent",
    "DocumentLookup",
    "DocumentRegistryReader",
    "ParameterReader",
    "ResolvedDocument",
    "SsmResolver",
    "load_document",
    "parameter_store_resolver",
    "parameter_store_value",
    "registry_content",
    "registry_lookup",
    "resolve_document",
]

"""The root of every error ssm-local raises, shared by all three packages.

It lives in the lowest layer so that ``grammar``, ``documents`` and ``engine`` can all derive from
it without importing upward. Each error carries a stable ``code`` (what tests and API clients
match on), a message written for the user, and where known a location: the source name, a
1-based line and column, and a JSON path into the document. Third-party exceptions are translated
into these at the boundary where they occur; nothing above that boundary sees a lark, yaml or
sqlalchemy exception.
"""

from __future__ import annotations


class SsmLocalError(Exception):
    """Base class: a user-facing error with a stable code and an optional location."""

    code: str = "SsmLocalError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.source = source
        self.line = line
        self.column = column
        self.path = path

    def location(self) -> str:
        """``source:line:column`` with the parts that are known."""
        parts = [self.source or "<document>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        if self.line is None and self.source is None:
            return f"{self.code}: {self.message}"
        return f"{self.location()}: {self.code}: {self.message}"


class GrammarError(SsmLocalError):
    """A string did not parse under one of ssm-local's grammars (template, selector, schedule)."""

    code = "GrammarError"


class TemplateSyntaxError(GrammarError):
    """A ``{{ ... }}`` placeholder is unclosed or malformed; ``column`` is 1-based in the string."""

    code = "TemplateSyntaxError"


class SelectorSyntaxError(GrammarError):
    """An Automation output ``Selector`` is not a JSONPath expression ssm-local understands."""

    code = "SelectorSyntaxError"


class DocumentError(SsmLocalError):
    """A document could not be loaded or is invalid (syntax, size, schema, semantics)."""

    code = "InvalidDocument"


class ParameterError(SsmLocalError):
    """A runtime parameter value is missing, undeclared or breaks its definition."""

    code = "InvalidParameters"


class ExecutionError(SsmLocalError):
    """Running a document failed in a way that is not a step's own failure."""

    code = "ExecutionError"


class ExecutorError(SsmLocalError):
    """An executor is unknown, broken or could not reach its node."""

    code = "ExecutorError"


class StoreError(SsmLocalError):
    """The store could not be opened, migrated or written."""

    code = "StoreError"


class ApiError(SsmLocalError):
    """An error answered by the SSM API surface (the HTTP endpoint or the Python services)."""

    code = "ValidationException"

"""Diagnostics: what the validator reports about a document, with a stable code and a location.

A ``Diagnostic`` is plain data (a frozen dataclass) so that the CLI, the JSON output, the
registry's ``InvalidDocumentContent`` error and the tests all read the same thing. ``format_text``
renders the ``file:line:col: severity CODE message`` line with an optional caret under the spot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a diagnostic is: errors make a document invalid, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a document: a stable ``code``, a message and where it points."""

    code: str
    severity: Severity
    message: str
    source: str
    line: int | None
    column: int | None
    path: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        """The shape ``validate --format json`` prints for one diagnostic."""
        data = asdict(self)
        data.pop("source")
        data["severity"] = str(self.severity)
        return data

    def format_text(self, text: str | None = None) -> str:
        """``file:line:col: severity CODE message``, plus the line and a caret when ``text`` is given."""
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        out = f"{where}: {self.severity} {self.code} {self.message}"
        if text is not None and self.line is not None:
            lines = text.splitlines()
            if 0 < self.line <= len(lines):
                src = lines[self.line - 1].replace("\t", " ")
                if len(src) <= 240:
                    col = max((self.column or 1) - 1, 0)
                    out += f"\n    {src}\n    {' ' * min(col, len(src))}^"
        return out

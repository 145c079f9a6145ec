"""The pure document model: text in, a validated ``Document`` out, with no I/O of its own.

``load`` parses JSON or YAML text into a ``Document``; ``validate`` returns ``Diagnostic``s with
stable codes and file:line:column locations. Nothing here imports ``engine``.
"""

from __future__ import annotations

from documents.diagnostics import Diagnostic, Severity
from documents.loader import load_text

__all__ = ["Diagnostic", "Severity", "load_text"]

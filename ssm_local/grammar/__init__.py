"""Pure parsing for ssm-local: the lark grammars and the thin modules that turn them into trees.

This is the lowest layer. It imports neither ``documents`` nor ``engine``. It holds the template
grammar (``{{ ... }}`` placeholders), the output-selector grammar and the root error class that
every other package derives its errors from.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ssm_local.grammar.errors import (
    ApiError,
    DocumentError,
    ExecutionError,
    ExecutorError,
    GrammarError,
    ParameterError,
    SelectorSyntaxError,
    SsmLocalError,
    StoreError,
    TemplateSyntaxError,
)

if TYPE_CHECKING:
    from ssm_local.grammar.selector import Selector, evaluate_selector, parse_selector
    from ssm_local.grammar.template import Template, parse_template

_LAZY = {
    "Selector": "selector", "evaluate_selector": "selector", "parse_selector": "selector",
    "Template": "template", "parse_template": "template",
}
"""Names whose modules import lark: loaded on first use, so that importing the error classes
(which every layer does) costs no grammar (see "Fast start" in docs/decisions.md)."""

__all__ = [
    "ApiError",
    "DocumentError",
    "ExecutionError",
    "ExecutorError",
    "GrammarError",
    "ParameterError",
    "Selector",
    "SelectorSyntaxError",
    "SsmLocalError",
    "StoreError",
    "Template",
    "TemplateSyntaxError",
    "evaluate_selector",
    "parse_selector",
    "parse_template",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ssm_local.grammar' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ssm_local.grammar.{module}"), name)
    globals()[name] = value
    return value

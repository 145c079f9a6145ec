"""Pure parsing for ssm-local: the lark grammars and the thin modules that turn them into trees.

This is the lowest layer. It imports neither ``documents`` nor ``engine``. It holds the template
grammar (``{{ ... }}`` placeholders), the output-selector grammar and the root error class that
every other package derives its errors from.
"""

from __future__ import annotations

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
from ssm_local.grammar.selector import Selector, evaluate_selector, parse_selector
from ssm_local.grammar.template import Template, parse_template

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

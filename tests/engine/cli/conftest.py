"""Fixtures for the CLI tests: the executor plugin installed for real, shared with the Run
Command tests (``tests/engine/commands/executor_plugin.py``)."""

from __future__ import annotations

from tests.engine.commands.executor_plugin import installed_plugin

__all__ = ["installed_plugin"]

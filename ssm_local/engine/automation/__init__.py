"""Automation runbooks (schemaVersion 0.3): the pure interpreter, the async runner and the action
interface (see ``interpreter``, ``runner`` and ``actions``)."""

from __future__ import annotations

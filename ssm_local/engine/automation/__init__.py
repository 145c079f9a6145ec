"""Automation runbooks (schemaVersion 0.3): a pure interpreter over typed events, the async runner
and the action interface.

``events`` (the history's values), ``interpreter`` (``next_action``), ``transitions`` (``apply``),
``references``, ``conditions`` and ``outputs`` make the sans-I/O core; ``state`` is what it folds
events into; ``runner`` is the only code that calls actions, the clock and the store; ``actions``
holds the handlers and their contract."""

from __future__ import annotations

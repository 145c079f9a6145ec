"""The ssm-local runtime: services, interpreters, executors, the store, the CLI and the API.

This is the top layer. It imports ``documents`` and ``grammar``; nothing imports it back.
"""

from __future__ import annotations

__all__: list[str] = []

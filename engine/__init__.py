"""The ssm-local runtime: services, interpreters, executors, the store, the CLI and the API.

This is the top layer. It imports ``documents`` and ``grammar``; nothing imports it back.
``from engine import Engine`` gives the in-process facade (imported lazily, so that commands
that never touch the store do not pay for importing SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.facade import Engine

__all__: list[str] = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from engine.facade import Engine

        return Engine
    raise AttributeError(f"module 'engine' has no attribute {name!r}")

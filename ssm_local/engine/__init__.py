"""The ssm-local runtime: services, interpreters, executors, the store, the CLI and the API.

This is the top layer. It imports ``ssm_local.documents`` and ``ssm_local.grammar``; nothing
imports it back. ``from ssm_local import Engine`` gives the in-process facade (imported lazily,
so that commands that never touch the store do not pay for importing SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssm_local.engine.facade import Engine

__all__: list[str] = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from ssm_local.engine.facade import Engine

        return Engine
    raise AttributeError(f"module 'ssm_local.engine' has no attribute {name!r}")

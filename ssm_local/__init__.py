"""ssm-local: run AWS Systems Manager documents for real, outside AWS.

One import name holds the three layers, which import one way only:
``ssm_local.grammar`` (pure parsing) <- ``ssm_local.documents`` (the document model and
validation) <- ``ssm_local.engine`` (services, interpreters, executors, store, CLI).
``from ssm_local import Engine`` gives the in-process facade; it is imported lazily, so
``import ssm_local`` costs nothing and commands that never open a store do not load SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssm_local.engine.facade import Engine

__version__ = "0.1.0"
"""The release; ``pyproject.toml`` reads it from here (one place to change)."""

__all__: list[str] = ["Engine", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from ssm_local.engine.facade import Engine

        return Engine
    raise AttributeError(f"module 'ssm_local' has no attribute {name!r}")

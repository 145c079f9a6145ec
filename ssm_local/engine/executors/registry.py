"""Executors by name: the built-in ``local``, ``ssh`` and ``mock``, and plugins.

A plugin is a distribution that declares an entry point in the group ``ssm_local.executors``;
the entry point's name is the executor's name and its object is a factory (usually a class)
called with the executor's options as keywords, returning an object with the :class:`Executor`
protocol's ``run`` and ``aclose``. Built-in names cannot be overridden. An unknown name, a
plugin that fails to import, a factory that rejects its options or returns something that is
not an executor all raise :class:`ExecutorError` naming the executor and listing the valid names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from ssm_local.grammar.errors import ExecutorError

from .base import Executor

__all__ = [
    "BUILTIN_EXECUTORS",
    "ENTRY_POINT_GROUP",
    "ExecutorFactory",
    "ExecutorRegistry",
    "create_executor",
    "executor_names",
]

ENTRY_POINT_GROUP = "ssm_local.executors"

ExecutorFactory = Callable[..., Executor]

BUILTIN_EXECUTORS: Mapping[str, str] = {
    "local": "ssm_local.engine.executors.local:LocalExecutor",
    "mock": "ssm_local.engine.executors.mock:MockExecutor",
    "ssh": "ssm_local.engine.executors.ssh:SshExecutor",
}
"""Built-in executor names and the ``module:attribute`` of their factories."""


class ExecutorRegistry:
    """Looks executors up by name among the built-ins and the installed plugins.

    ``entry_points`` replaces the installed plugins (for tests); by default they are read from
    ``importlib.metadata`` the first time a name that is not built in is looked up (or the names
    are listed), once per registry.
    """

    def __init__(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        self._entry_points = entry_points
        self._found: dict[str, metadata.EntryPoint] | None = None

    @property
    def _plugins(self) -> dict[str, metadata.EntryPoint]:
        if self._found is None:
            entry_points = self._entry_points
            if entry_points is None:
                entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
            self._found = {}
            for entry_point in entry_points:
                if entry_point.name not in BUILTIN_EXECUTORS:
                    self._found.setdefault(entry_point.name, entry_point)
        return self._found

    def names(self) -> list[str]:
        """Every valid executor name, sorted."""
        return sorted({*BUILTIN_EXECUTORS, *self._plugins})

    def factory(self, name: str) -> ExecutorFactory:
        """The factory registered as ``name``; :class:`ExecutorError` if unknown or broken."""
        if name in BUILTIN_EXECUTORS:
            module_name, _, attribute = BUILTIN_EXECUTORS[name].partition(":")
            builtin: ExecutorFactory = getattr(importlib.import_module(module_name), attribute)
            return builtin
        entry_point = self._plugins.get(name)
        if entry_point is None:
            raise ExecutorError(f"unknown executor {name!r}; valid executors: {self._valid()}")
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise ExecutorError(
                f"executor plugin {name!r} ({entry_point.value}) could not be loaded: "
                f"{type(exc).__name__}: {exc}; valid executors: {self._valid()}"
            ) from exc
        if not callable(loaded):
            raise ExecutorError(
                f"executor plugin {name!r} ({entry_point.value}) is not callable; "
                f"valid executors: {self._valid()}"
            )
        plugin: ExecutorFactory = loaded
        return plugin

    def create(self, name: str, /, **options: Any) -> Executor:
        """A new executor ``name`` built with ``options``."""
        factory = self.factory(name)
        try:
            executor = factory(**options)
        except ExecutorError:
            raise
        except Exception as exc:
            raise ExecutorError(
                f"executor {name!r} could not be created: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(executor, Executor):
            raise ExecutorError(
                f"executor {name!r} returned {type(executor).__name__}, which has no async "
                f"run() and aclose(); valid executors: {self._valid()}"
            )
        return executor

    def _valid(self) -> str:
        return ", ".join(self.names())


def executor_names() -> list[str]:
    """The names of the built-in and installed executors."""
    return ExecutorRegistry().names()


def create_executor(name: str, /, **options: Any) -> Executor:
    """Create the executor registered as ``name`` (``local``, ``ssh``, ``mock`` or a plugin)."""
    return ExecutorRegistry().create(name, **options)

"""Fixtures for the CLI tests: ``db``, a store URL in a temporary directory with
``SSM_LOCAL_HOME`` beside it (and no ``SSM_LOCAL_DB`` from the caller's environment), and the
executor plugin installed for real, shared with the Run Command tests
(``tests/engine/commands/executor_plugin.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.commands.executor_plugin import installed_plugin


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSM_LOCAL_DB", raising=False)
    return f"sqlite:///{tmp_path / 'store.db'}"


__all__ = ["installed_plugin"]

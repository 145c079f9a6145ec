"""Fixtures for the service tests: an ``Engine`` on every store backend, with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ssm_local.engine import Engine
from tests.engine.store.backends import FakeClock, clock, pg_database, store_url

__all__ = ["clock", "engine", "pg_database", "store_url"]


@pytest.fixture
def engine(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    """An ``Engine`` on an empty store, with a private home and key ring and a fake clock."""
    with Engine(store_url, home=tmp_path / "home", environ={}, clock=clock) as eng:
        yield eng

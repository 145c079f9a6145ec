"""Store backends for the contract suite: every test using ``store_url`` runs on SQLite and PostgreSQL.

PostgreSQL comes from ``SSM_LOCAL_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway server and
sets it). Each test gets a database of its own, created and dropped around it. Without the
variable the PostgreSQL cases skip locally and FAIL under ``CI=true``: CI must not pass by
silently testing one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ssm_local.engine.clock import FakeClock

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str:
    url = os.environ.get("SSM_LOCAL_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI=true but SSM_LOCAL_TEST_POSTGRES_URL is not set: the PostgreSQL contract "
                "tests must run in CI (.ci/run starts the server)"
            )
        pytest.skip("set SSM_LOCAL_TEST_POSTGRES_URL to run the PostgreSQL contract tests")
    return url


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL."""
    admin_url = postgres_admin_url()
    name = f"ssm_local_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def clock() -> FakeClock:
    """The engine's fake clock at 2026-01-01T00:00:00Z; tests move it with ``advance``."""
    return FakeClock(1_767_225_600.0)

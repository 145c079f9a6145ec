"""The store itself, on every backend: migrations, transactions, errors at the boundary."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ssm_local.engine.store import Store, default_store_url, normalize_url
from ssm_local.engine.store.migrations import MIGRATIONS, current_version
from ssm_local.engine.store.tables import ParameterRow
from ssm_local.grammar.errors import StoreError

P = ParameterRow.__table__  # type: ignore[attr-defined]
ROW = {
    "name": "/x", "parent": "/", "type": "String", "value": "v", "version": 1,
    "oldest_version": 1, "data_type": "text", "tier": "Standard", "last_modified": 0.0,
    "last_modified_user": "me",
}


def test_schema_created_on_first_use_and_versioned(store_url: str) -> None:
    store = Store(store_url)
    with store.read() as conn:
        assert current_version(conn) == MIGRATIONS[-1][0]
        tables = set(sa.inspect(conn).get_table_names())
    assert {"parameters", "parameter_versions", "documents", "ssm_local_schema"} <= tables
    store.close()
    again = Store(store_url)  # reopening migrates nothing and keeps data
    with again.read() as conn:
        assert current_version(conn) == MIGRATIONS[-1][0]
    again.close()


def test_newer_schema_is_refused(store_url: str) -> None:
    store = Store(store_url)
    with store.write() as conn:
        conn.execute(
            sa.text("INSERT INTO ssm_local_schema (version, description, applied_at) "
                    "VALUES (999, 'future', 0)")
        )
    store.close()
    with pytest.raises(StoreError) as info:
        Store(store_url)
    assert info.value.code == "StoreSchemaTooNew"


def test_a_failed_write_leaves_nothing(store_url: str) -> None:
    store = Store(store_url)
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute(P.insert(), ROW)
        raise RuntimeError("boom")
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(P)).scalar() == 0
    with store.write() as conn:
        conn.execute(P.insert(), ROW)
    # A duplicate key is a conflict (TooManyUpdates), translated at the boundary.
    with pytest.raises(StoreError) as info, store.write() as conn:
        conn.execute(P.insert(), ROW)
    assert info.value.code == "TooManyUpdates"
    assert not isinstance(info.value, sa.exc.SQLAlchemyError)
    store.close()


def test_urls(tmp_path: Path) -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url(str(tmp_path / "s.db")) == f"sqlite:///{tmp_path / 's.db'}"
    assert default_store_url({"SSM_LOCAL_HOME": str(tmp_path)}) == f"sqlite:///{tmp_path}/store.db"
    assert default_store_url({"SSM_LOCAL_DB": "sqlite:///x.db"}) == "sqlite:///x.db"
    with pytest.raises(StoreError) as info:
        Store("mysql://u@h/db")
    assert info.value.code == "InvalidStoreUrl"
    nested = tmp_path / "a" / "b" / "store.db"
    Store(str(nested)).close()
    assert nested.exists()


def test_unreachable_postgres_hides_the_password() -> None:
    with pytest.raises(StoreError) as info:
        Store("postgresql://user:sekrit-pw@127.0.0.1:1/db?connect_timeout=2")
    assert info.value.code == "StoreUnavailable"
    assert "sekrit-pw" not in str(info.value)

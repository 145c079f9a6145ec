"""The store: where ssm-local keeps parameters, documents and (later) executions.

SQLite by default (a file under ``$SSM_LOCAL_HOME``, WAL journal), PostgreSQL by URL
(``postgresql+psycopg://...``). Tables are declared with sqlmodel in ``tables``; ``migrations``
creates and upgrades the schema; ``database.Store`` opens a URL and runs transactions.
"""

from __future__ import annotations

from ssm_local.engine.store.database import (
    Store,
    StoreConflict,
    default_store_url,
    normalize_url,
    ssm_local_home,
)

__all__ = ["Store", "StoreConflict", "default_store_url", "normalize_url", "ssm_local_home"]

"""Versioned schema migrations: the store's schema is created on first use and moved forward.

``MIGRATIONS`` is an append-only list of ``(version, description, apply)``. ``migrate(store)``
reads the highest applied version from ``ssm_local_schema`` and applies each newer migration
in its own transaction, under a lock so that two processes opening a new store at once do not
both migrate it. A store written by a newer ssm-local (a version this code does not know) is
refused rather than guessed at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from ssm_local.engine.store.tables import (
    DOCUMENT_TABLES,
    PARAMETER_TABLES,
    ParameterTierCountRow,
    SchemaVersionRow,
)
from ssm_local.grammar.errors import StoreError

if TYPE_CHECKING:
    from ssm_local.engine.store.database import Store

Migration = tuple[int, str, Callable[[Connection], None]]


def _tables(*models: type[SQLModel]) -> list[sa.Table]:
    return [model.__table__ for model in models]  # type: ignore[attr-defined]


def _v1_parameters_and_documents(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn, tables=_tables(*PARAMETER_TABLES, *DOCUMENT_TABLES))
    conn.execute(
        sa.insert(ParameterTierCountRow.__table__),  # type: ignore[attr-defined]
        [{"tier": "Standard", "count": 0}, {"tier": "Advanced", "count": 0}],
    )


def _v2_nodes_and_commands(conn: Connection) -> None:
    from ssm_local.engine.store.command_tables import COMMAND_TABLES

    SQLModel.metadata.create_all(conn, tables=_tables(*COMMAND_TABLES))


def _v3_automation(conn: Connection) -> None:
    from ssm_local.engine.store.automation_tables import AUTOMATION_TABLES

    SQLModel.metadata.create_all(conn, tables=_tables(*AUTOMATION_TABLES))


def _v4_node_executors(conn: Connection) -> None:
    # Migration 2 creates the nodes table from today's model, which has these columns already;
    # a store made before this migration gets them here, with the executor its nodes use.
    present = {column["name"] for column in sa.inspect(conn).get_columns("nodes")}
    if "executor" not in present:
        conn.execute(sa.text(
            "ALTER TABLE nodes ADD COLUMN executor VARCHAR(64) NOT NULL DEFAULT 'local'"))
    if "executor_options" not in present:
        conn.execute(sa.text(
            "ALTER TABLE nodes ADD COLUMN executor_options TEXT NOT NULL DEFAULT '{}'"))
    conn.execute(sa.text("UPDATE nodes SET executor = 'ssh' WHERE kind = 'ssh'"))


def _v5_run_owners(conn: Connection) -> None:
    from ssm_local.engine.store.owner_tables import OWNER_TABLES

    SQLModel.metadata.create_all(conn, tables=_tables(*OWNER_TABLES))


MIGRATIONS: list[Migration] = [
    (1, "parameters, labels, tags, policy events, documents", _v1_parameters_and_documents),
    (2, "nodes, commands, command invocations, plugin results", _v2_nodes_and_commands),
    (3, "automation executions and their event logs", _v3_automation),
    (4, "nodes name their executor (local, ssh or a plugin) and its options", _v4_node_executors),
    (5, "owners and leases of running commands and executions", _v5_run_owners),
]


def current_version(conn: Connection) -> int:
    """The highest applied migration, 0 for an empty store."""
    if not sa.inspect(conn).has_table(SchemaVersionRow.__tablename__):
        return 0
    found = conn.execute(sa.select(sa.func.max(SchemaVersionRow.__table__.c.version))).scalar()  # type: ignore[attr-defined]
    return int(found or 0)


def migrate(store: Store) -> int:
    """Bring ``store`` up to the newest schema; returns the version it is at."""
    newest = MIGRATIONS[-1][0]
    with store.read() as conn:
        if current_version(conn) == newest:
            return newest
    with store.write() as conn:
        store.lock(conn, "ssm-local-migrations")
        SQLModel.metadata.create_all(conn, tables=_tables(SchemaVersionRow))
        at = current_version(conn)
        if at > newest:
            raise StoreError(
                f"the store at {store.display_url} has schema version {at}, newer than this "
                f"ssm-local understands ({newest}); upgrade ssm-local",
                code="StoreSchemaTooNew",
            )
        for version, description, apply in MIGRATIONS:
            if version <= at:
                continue
            apply(conn)
            conn.execute(
                sa.insert(SchemaVersionRow.__table__),  # type: ignore[attr-defined]
                {"version": version, "description": description, "applied_at": time.time()},
            )
    return newest

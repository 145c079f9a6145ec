"""Fixtures for the store and Parameter Store tests (see ``backends``)."""

from __future__ import annotations

from tests.engine.store.backends import clock, pg_database, store_url

__all__ = ["clock", "pg_database", "store_url"]

"""The store's run-ownership table: who drives each running command and Automation execution.

One row per running Run Command command or Automation execution names its owner (host, process
id) and the lease the owner renews while it runs (``lease_expires``, UTC epoch seconds, from the
engine's clock). ``token`` is unique per claim: a takeover is a conditional UPDATE on the token
the taker read, so two processes that find the same dead owner cannot both win. Added by
migration 5 (``ssm_local.engine.store.migrations``); see ``ssm_local.engine.services.ownership``.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class RunOwnerRow(SQLModel, table=True):
    """The owner of one running command (``kind`` Command) or execution (``kind`` Automation)."""

    __tablename__ = "run_owners"

    kind: str = Field(primary_key=True, max_length=16)
    resource_id: str = Field(primary_key=True, max_length=64)
    host: str = Field(max_length=255)
    pid: int
    token: str = Field(max_length=36)
    claimed_at: float
    lease_expires: float


OWNER_TABLES: tuple[type[SQLModel], ...] = (RunOwnerRow,)

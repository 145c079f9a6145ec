"""The store's tables, declared with sqlmodel: parameters, their versions, labels, tags, events, documents.

Each class is one table. Timestamps are stored as UTC epoch seconds (``float``) so that SQLite
and PostgreSQL compare and sort them the same way; the services turn them into aware datetimes.
A ``parameters`` row duplicates the newest version's fields so that a read is one indexed
lookup; ``parameter_versions`` keeps every retained version for history and selectors.
SecureString values are ciphertext in both tables: plaintext never reaches the store.
New tables are added by a new migration in ``ssm_local.engine.store.migrations``, never by editing an
applied one.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class SchemaVersionRow(SQLModel, table=True):
    """One row per applied migration."""

    __tablename__ = "ssm_local_schema"

    version: int = Field(primary_key=True)
    description: str
    applied_at: float


class ParameterRow(SQLModel, table=True):
    """The newest version of a parameter, plus bookkeeping for retention and policies."""

    __tablename__ = "parameters"

    name: str = Field(primary_key=True, max_length=2048)
    parent: str = Field(index=True, max_length=2048)
    type: str = Field(max_length=16)
    value: str
    version: int
    oldest_version: int
    key_id: str | None = Field(default=None, max_length=2048)
    data_type: str = Field(max_length=64)
    tier: str = Field(index=True, max_length=32)
    description: str | None = Field(default=None, max_length=1024)
    allowed_pattern: str | None = Field(default=None, max_length=1024)
    policies: str | None = None
    expires_at: float | None = Field(default=None, index=True)
    last_modified: float
    last_modified_user: str


class ParameterVersionRow(SQLModel, table=True):
    """One retained version of a parameter (at most 100 per name)."""

    __tablename__ = "parameter_versions"

    name: str = Field(primary_key=True, max_length=2048)
    version: int = Field(primary_key=True)
    type: str = Field(max_length=16)
    value: str
    key_id: str | None = Field(default=None, max_length=2048)
    data_type: str = Field(max_length=64)
    tier: str = Field(max_length=32)
    description: str | None = Field(default=None, max_length=1024)
    allowed_pattern: str | None = Field(default=None, max_length=1024)
    policies: str | None = None
    last_modified: float
    last_modified_user: str


class ParameterLabelRow(SQLModel, table=True):
    """A label points at one version of one parameter."""

    __tablename__ = "parameter_labels"

    name: str = Field(primary_key=True, max_length=2048)
    label: str = Field(primary_key=True, max_length=100)
    version: int


class ParameterTierCountRow(SQLModel, table=True):
    """How many parameters each tier holds, kept in step inside every write transaction."""

    __tablename__ = "parameter_tier_counts"

    tier: str = Field(primary_key=True, max_length=32)
    count: int


class ParameterEventRow(SQLModel, table=True):
    """An event emitted by a parameter policy (EventBridge-shaped JSON in ``detail``)."""

    __tablename__ = "parameter_events"

    id: int | None = Field(default=None, primary_key=True)
    time: float = Field(index=True)
    name: str = Field(index=True, max_length=2048)
    policy_type: str = Field(max_length=64)
    dedupe_key: str = Field(unique=True, max_length=2300)
    detail: str


class TagRow(SQLModel, table=True):
    """A tag on a resource (``Parameter`` or ``Document``), keyed by the resource's name."""

    __tablename__ = "resource_tags"

    resource_type: str = Field(primary_key=True, max_length=64)
    resource_id: str = Field(primary_key=True, max_length=2048)
    key: str = Field(primary_key=True, max_length=128)
    value: str = Field(max_length=256)


class DocumentRow(SQLModel, table=True):
    """A document in the registry: its name, owner, type and which versions are default/latest."""

    __tablename__ = "documents"

    name: str = Field(primary_key=True, max_length=128)
    owner: str = Field(max_length=64)
    document_type: str = Field(index=True, max_length=64)
    target_type: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=1024)
    default_version: int
    latest_version: int
    created_date: float


class DocumentVersionRow(SQLModel, table=True):
    """One version of a document's content, as submitted (format kept) and as summarised."""

    __tablename__ = "document_versions"

    name: str = Field(primary_key=True, max_length=128)
    version: int = Field(primary_key=True)
    version_name: str | None = Field(default=None, max_length=128)
    content: str
    document_format: str = Field(max_length=8)
    schema_version: str | None = Field(default=None, max_length=16)
    hash: str = Field(max_length=64)
    description: str | None = None
    parameters: str | None = None
    platform_types: str
    status: str = Field(max_length=16)
    created_date: float


PARAMETER_TABLES = (
    ParameterRow,
    ParameterVersionRow,
    ParameterLabelRow,
    ParameterTierCountRow,
    ParameterEventRow,
    TagRow,
)
DOCUMENT_TABLES = (DocumentRow, DocumentVersionRow)

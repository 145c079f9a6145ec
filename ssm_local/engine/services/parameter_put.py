"""PutParameter in steps: check the request, check it against the parameter, tier, version, write.

``check_request`` checks everything that needs no store (name, tags, type, description,
AllowedPattern, policies) before a transaction opens. Inside one transaction on the hot path's
``FastCursor``, ``check_against`` compares the request with the parameter as stored
(ParameterAlreadyExists, HierarchyTypeMismatchException, the value against its data type and
pattern) and settles the new version's attributes; ``move_tier`` picks the tier and keeps the
per-tier counts (ParameterLimitExceeded); ``next_version`` numbers the version and drops the
oldest one when ``MAX_VERSIONS`` are kept (ParameterMaxVersionLimitExceeded); ``write`` inserts
the version and creates or updates the parameter row and its tags. ``ParameterStore`` runs the
steps in that order, encrypting a SecureString between tier and version, and retries the
transaction; the statements are SQL text for speed (see ``FastCursor``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ssm_local.engine import wire
from ssm_local.engine.services import parameter_rules as rules
from ssm_local.engine.services.parameter_events import policies_of
from ssm_local.engine.services.parameter_rules import fail
from ssm_local.engine.store.database import FastCursor
from ssm_local.grammar.limits import lone_surrogate

_COLUMNS = (
    "type, value, key_id, data_type, tier, description, allowed_pattern, policies, "
    "last_modified, last_modified_user"
)
_VALUES = (
    ":type, :value, :key_id, :data_type, :tier, :description, :allowed_pattern, :policies, "
    ":last_modified, :last_modified_user"
)
_SQL_SELECT = (
    "SELECT name, parent, version, oldest_version, expires_at, " + _COLUMNS + " "
    "FROM parameters WHERE name = :name"
)
_SQL_SELECT_EITHER = (
    "SELECT name, parent, version, oldest_version, expires_at, " + _COLUMNS + " "
    "FROM parameters WHERE name IN (:name, :other) ORDER BY (name = :name) DESC LIMIT 1"
)
_SQL_LOCK_NAME = "SELECT pg_advisory_xact_lock(hashtext(:key))"
_SQL_TIER_COUNTS = "SELECT tier, count FROM parameter_tier_counts"
_SQL_COUNT = "UPDATE parameter_tier_counts SET count = count + :d WHERE tier = :tier"
_SQL_LABEL_ON_VERSION = (
    "SELECT label FROM parameter_labels WHERE name = :name AND version = :version LIMIT 1"
)
_SQL_DROP_VERSION = "DELETE FROM parameter_versions WHERE name = :name AND version = :version"
_SQL_INSERT_VERSION = (
    "INSERT INTO parameter_versions (name, version, " + _COLUMNS + ") "
    "VALUES (:name, :version, " + _VALUES + ")"
)
_SQL_INSERT_PARAMETER = (
    "INSERT INTO parameters (name, parent, version, oldest_version, expires_at, " + _COLUMNS + ") "
    "VALUES (:name, :parent, :version, :oldest_version, :expires_at, " + _VALUES + ")"
)
_SQL_UPDATE_PARAMETER = (
    "UPDATE parameters SET version = :version, oldest_version = :oldest_version, "
    "expires_at = :expires_at, "
    + ", ".join(f"{c.strip()} = :{c.strip()}" for c in _COLUMNS.split(","))
    + " WHERE name = :name"
)
_SQL_INSERT_TAG = (
    "INSERT INTO resource_tags (resource_type, resource_id, key, value) "
    "VALUES ('Parameter', :rid, :key, :value)"
)

Row = dict[str, Any]
"""A ``parameters`` row as ``FastCursor.one`` returns it."""


class Expired(Exception):
    """The parameter's Expiration passed; it must be removed before the write can go on."""


@dataclass(frozen=True)
class PutRequest:
    """A PutParameter request that passed the checks needing no store; ``now`` in epoch seconds.

    ``policies`` is None when the request gave no Policies (the stored ones stay), and an empty
    tuple when it gave ``[]`` (the stored ones are removed).
    """

    name: str
    value: str
    type: str | None
    description: str | None
    key_id: str | None
    overwrite: bool
    allowed_pattern: str | None
    tags: tuple[tuple[str, str], ...]
    tier: str | None
    policies: tuple[rules.Policy, ...] | None
    data_type: str | None
    now: float


@dataclass(frozen=True)
class NewVersion:
    """The attributes of the version a PutParameter writes, before its tier is chosen.

    ``size`` is the value's size in bytes; ``policies_text`` is the JSON stored for
    ``policies``; ``expires_at`` (epoch seconds) is the Expiration policy's time, if any.
    """

    type: str
    key_id: str | None
    data_type: str
    allowed_pattern: str | None
    description: str | None
    size: int
    policies_text: str | None
    policies: tuple[rules.Policy, ...]

    @property
    def expires_at(self) -> float | None:
        return next((wire.to_epoch(p.at) for p in self.policies if p.at is not None), None)


def select_sql(*, for_update: bool, either: bool = False) -> str:
    """The statement reading the parameter row by ``:name`` (with ``either``, by ``:name`` or
    its ``:other`` spelling, the exact one first), locking it when ``for_update``."""
    return (_SQL_SELECT_EITHER if either else _SQL_SELECT) + (" FOR UPDATE" if for_update else "")


def find(cur: FastCursor, request: PutRequest, *, postgres: bool) -> tuple[PutRequest, Row | None]:
    """The stored parameter the request names under either spelling (``a`` or ``/a``), and the
    request renamed to the stored spelling when there is one (the parameter keeps the name it
    was created with). On PostgreSQL a name not yet stored is locked for the transaction by
    its slash-less spelling first, so two writers creating ``a`` and ``/a`` at once queue
    (SQLite writers queue already, on ``BEGIN IMMEDIATE``)."""
    names = rules.spellings(request.name)
    select = select_sql(for_update=postgres, either=len(names) > 1)
    params = {"name": names[0], "other": names[-1]}
    row = cur.one(select, params)
    if row is None and postgres:
        cur.execute(_SQL_LOCK_NAME, {"key": request.name.lstrip("/")})
        row = cur.one(select, params)
    if row is not None and row["name"] != request.name:
        request = replace(request, name=row["name"])
    return request, row


def check_request(
    name: str,
    value: str,
    *,
    type: str | None,
    description: str | None,
    key_id: str | None,
    overwrite: bool,
    allowed_pattern: str | None,
    tags: list[dict[str, str]] | None,
    tier: str | None,
    policies: str | None,
    data_type: str | None,
    region: str,
    account_id: str,
    now: float,
) -> PutRequest:
    """Check what PutParameter can check without the store, in AWS's order.

    Raises ``ParameterStoreError`` with ValidationException (a bad or reserved name, a lone
    surrogate in any member, Tags
    together with Overwrite, a bad Type, a Description over 1024 characters, a bad tag),
    HierarchyLevelLimitExceededException (more than 15 levels), InvalidAllowedPatternException,
    TooManyTagsError (more than 50 tags), or a policy error: InvalidPolicyTypeException,
    InvalidPolicyAttributeException, PoliciesLimitExceededException, IncompatiblePolicyException.
    """
    name = rules.check_name(name, region=region, account_id=account_id, for_write=True)
    text = [value, description, key_id, allowed_pattern, tags, tier, policies, data_type]
    if (surrogate := lone_surrogate(text)) is not None:
        raise fail("ValidationException",
                   f"The request holds a lone surrogate ({surrogate}); values must be Unicode text.")
    if overwrite and tags:
        raise fail(
            "ValidationException",
            "Tags cannot be given together with Overwrite; change the tags of an existing "
            "parameter with AddTagsToResource or RemoveTagsFromResource.",
        )
    if type is not None:
        rules.check_type(type)
    if description is not None and len(description) > rules.MAX_DESCRIPTION:
        raise fail(
            "ValidationException",
            f"Description may be at most {rules.MAX_DESCRIPTION} characters.",
        )
    if allowed_pattern is not None:
        rules.compile_pattern(allowed_pattern)
    checked_tags = rules.check_tags(tags or [])
    if len(checked_tags) > rules.MAX_TAGS:
        raise fail("TooManyTagsError", f"A parameter may have at most {rules.MAX_TAGS} tags.")
    parsed = None
    if policies is not None:
        parsed = tuple(rules.parse_policies(policies, now=wire.from_epoch(now)))
    return PutRequest(
        name=name, value=value, type=type, description=description, key_id=key_id,
        overwrite=overwrite, allowed_pattern=allowed_pattern, tags=tuple(checked_tags), tier=tier,
        policies=parsed, data_type=data_type, now=now,
    )


def check_against(request: PutRequest, row: Row | None) -> NewVersion:
    """Check ``request`` against the stored parameter (``row``, None when there is none) and
    settle the new version's attributes: an attribute the request leaves out keeps its stored
    value (KeyId, DataType, AllowedPattern, Description, Policies).

    Raises ``Expired`` when the stored parameter's Expiration has passed, and
    ``ParameterStoreError`` with ParameterAlreadyExists (it exists and Overwrite is not set),
    ValidationException (no Type for a new parameter, KeyId on a type other than SecureString,
    a bad DataType or value), HierarchyTypeMismatchException (the Type would change),
    ParameterPatternMismatchException (the value does not match AllowedPattern).
    """
    name = request.name
    if row is not None and row["expires_at"] is not None and row["expires_at"] <= request.now:
        raise Expired(name)
    if row is not None and not request.overwrite:
        raise fail(
            "ParameterAlreadyExists",
            f"Parameter {name} already exists; set Overwrite to change its value.",
        )
    if row is None and request.type is None:
        raise fail("ValidationException", "A Type is required to create a parameter.")
    old: Row = row or {}
    new_type = request.type or old["type"]
    if row is not None and new_type != old["type"]:
        raise fail(
            "HierarchyTypeMismatchException",
            f"Parameter {name} is a {old['type']}; its type cannot change to {new_type}. "
            "Create a new parameter instead.",
        )
    if request.key_id is not None and new_type != "SecureString":
        raise fail("ValidationException", "KeyId applies only to SecureString parameters.")
    new_key = (
        (request.key_id or old.get("key_id") or "alias/aws/ssm") if new_type == "SecureString" else None
    )
    new_data_type = rules.check_data_type(request.data_type or old.get("data_type") or "text", new_type)
    new_pattern = request.allowed_pattern if request.allowed_pattern is not None else old.get(
        "allowed_pattern"
    )
    new_description = request.description if request.description is not None else old.get(
        "description"
    )
    size = rules.check_value(
        request.value, type_=new_type, data_type=new_data_type, allowed_pattern=new_pattern
    )
    if request.policies is not None:
        policies_text = (
            json.dumps([json.loads(p.text) for p in request.policies]) if request.policies else None
        )
        policies = request.policies
    else:
        policies_text = old.get("policies")
        policies = tuple(policies_of(policies_text))
    return NewVersion(
        type=new_type, key_id=new_key, data_type=new_data_type, allowed_pattern=new_pattern,
        description=new_description, size=size, policies_text=policies_text, policies=policies,
    )


def move_tier(cur: FastCursor, request: PutRequest, row: Row | None, new: NewVersion) -> str:
    """The tier the new version lands in; when it differs from the stored one, count the
    parameter in the new tier and out of the old one.

    Intelligent-Tiering chooses Advanced for a value over 4 KB, a parameter with policies, one
    already Advanced, or a full Standard tier. Raises ``ParameterStoreError`` with
    ValidationException (an unknown Tier), ParameterLimitExceeded (the tier is full).
    """
    previous_tier = row["tier"] if row is not None else None
    counts = None
    if request.tier == "Intelligent-Tiering" or row is None:
        counts = dict(cur.all(_SQL_TIER_COUNTS))
    new_tier = rules.choose_tier(
        request.tier,
        previous=previous_tier,
        size=new.size,
        has_policies=bool(new.policies),
        standard_full=bool(counts and counts["Standard"] >= rules.TIER_LIMITS["Standard"]),
    )
    if new_tier != previous_tier:
        counts = counts or dict(cur.all(_SQL_TIER_COUNTS))
        if counts[new_tier] >= rules.TIER_LIMITS[new_tier]:
            raise fail(
                "ParameterLimitExceeded",
                f"The {new_tier} tier already holds its limit of "
                f"{rules.TIER_LIMITS[new_tier]:,} parameters; delete some and try again.",
            )
        cur.execute(_SQL_COUNT, {"d": 1, "tier": new_tier})
        if previous_tier is not None:
            cur.execute(_SQL_COUNT, {"d": -1, "tier": previous_tier})
    return new_tier


def next_version(cur: FastCursor, name: str, row: Row | None) -> tuple[int, int]:
    """``(version, oldest_version)`` after the write: 1 for a new parameter, else the next
    number; when ``MAX_VERSIONS`` (100) are already kept the oldest is dropped to make room.

    Raises ``ParameterStoreError`` with ParameterMaxVersionLimitExceeded when that oldest
    version carries a label.
    """
    version = 1 if row is None else row["version"] + 1
    oldest = 1 if row is None else row["oldest_version"]
    if version - oldest + 1 > rules.MAX_VERSIONS:
        if cur.one(_SQL_LABEL_ON_VERSION, {"name": name, "version": oldest}) is not None:
            raise fail(
                "ParameterMaxVersionLimitExceeded",
                f"Parameter {name} already has {rules.MAX_VERSIONS} versions and its "
                f"oldest, version {oldest}, carries a label, so it cannot be dropped to "
                "make room. Move the label to a newer version and try again.",
            )
        cur.execute(_SQL_DROP_VERSION, {"name": name, "version": oldest})
        oldest += 1
    return version, oldest


def write(
    cur: FastCursor,
    request: PutRequest,
    new: NewVersion,
    *,
    created: bool,
    tier: str,
    stored_value: str,
    version: int,
    oldest_version: int,
    user: str,
) -> None:
    """Insert the version and create (``created``, with the request's tags) or update the
    parameter row. ``stored_value`` is the value as stored: a SecureString's ciphertext."""
    fields = {
        "name": request.name,
        "version": version,
        "type": new.type,
        "value": stored_value,
        "key_id": new.key_id,
        "data_type": new.data_type,
        "tier": tier,
        "description": new.description,
        "allowed_pattern": new.allowed_pattern,
        "policies": new.policies_text,
        "last_modified": request.now,
        "last_modified_user": user,
    }
    cur.execute(_SQL_INSERT_VERSION, fields)
    extra = {"oldest_version": oldest_version, "expires_at": new.expires_at}
    if created:
        cur.execute(_SQL_INSERT_PARAMETER, {**fields, **extra, "parent": rules.parent_of(request.name)})
        if request.tags:
            cur.executemany(
                _SQL_INSERT_TAG,
                [{"rid": request.name, "key": k, "value": v} for k, v in request.tags],
            )
    else:
        cur.execute(_SQL_UPDATE_PARAMETER, {**fields, **extra})

"""Filters and paging for GetParametersByPath and DescribeParameters, turned into SQL.

``ParameterFilters`` (``Key``/``Option``/``Values``) and the older ``Filters`` are checked
against what each API accepts (``InvalidFilterKey``, ``InvalidFilterOption``,
``InvalidFilterValue``) and become SQLAlchemy conditions on the ``parameters`` table. Paging
is keyset paging on the parameter name (on the version for GetParameterHistory): a
``NextToken`` (``wire.encode_token``) is an opaque, versioned encoding of the last name
returned, so pages stay stable while parameters are added or removed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ssm_local.engine.services.parameter_rules import TIERS, TYPES, check_path, fail, spellings
from ssm_local.engine.store.tables import ParameterLabelRow, ParameterRow, TagRow

P: sa.Table = ParameterRow.__table__  # type: ignore[attr-defined]
L: sa.Table = ParameterLabelRow.__table__  # type: ignore[attr-defined]
TAGS: sa.Table = TagRow.__table__  # type: ignore[attr-defined]

BY_PATH_KEYS = ("Type", "KeyId", "Label")
DESCRIBE_KEYS = ("Name", "Type", "KeyId", "Path", "Tier", "DataType")
MAX_FILTER_VALUES = 50


def like_prefix(text: str) -> str:
    """A LIKE pattern matching strings that begin with ``text`` (``\\`` escapes)."""
    return escape_like(text) + "%"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def path_condition(path: str, recursive: bool) -> ColumnElement[bool]:
    """Names under ``path``: its direct children, or every descendant when ``recursive``."""
    path = check_path(path)
    if not recursive:
        return P.c.parent == path
    if path == "/":
        return sa.true()
    return P.c.name.like(like_prefix(path + "/"), escape="\\")


def _string_condition(column: Any, option: str, values: list[str]) -> ColumnElement[bool]:
    if option == "Equals":
        return column.in_(values)  # type: ignore[no-any-return,unused-ignore]
    if option == "BeginsWith":
        return sa.or_(*(column.like(like_prefix(v), escape="\\") for v in values))
    return sa.or_(*(column.like("%" + escape_like(v) + "%", escape="\\") for v in values))


def filter_conditions(
    parameter_filters: list[dict[str, Any]] | None, *, by_path: bool
) -> list[ColumnElement[bool]]:
    """Check ``ParameterFilters`` for the API in question and turn them into conditions."""
    conditions: list[ColumnElement[bool]] = []
    seen: set[str] = set()
    allowed = BY_PATH_KEYS if by_path else DESCRIBE_KEYS
    for item in parameter_filters or []:
        key = item.get("Key")
        if not isinstance(key, str) or not 1 <= len(key) <= 132:
            raise fail("ValidationException", "Each parameter filter needs a Key of 1-132 characters.")
        is_tag = key.startswith("tag:") and len(key) > 4
        if not is_tag and key not in allowed:
            raise fail(
                "InvalidFilterKey",
                f"Filter key {key!r} cannot be used here; valid keys are "
                f"{', '.join(allowed)} and tag:KEY.",
            )
        if key in seen:
            raise fail("InvalidFilterKey", f"Filter key {key} appears twice; give it once.")
        seen.add(key)
        values = item.get("Values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail("InvalidFilterValue", f"Values of filter {key} must be a list of strings.")
        if len(values) > MAX_FILTER_VALUES or any(not 1 <= len(v) <= 1024 for v in values):
            raise fail(
                "InvalidFilterValue",
                f"Filter {key} takes 1-{MAX_FILTER_VALUES} values of 1-1024 characters.",
            )
        if not values and not is_tag:
            raise fail("InvalidFilterValue", f"Filter {key} needs at least one value.")
        if key == "Path":
            option = item.get("Option") or "OneLevel"
            if option not in ("OneLevel", "Recursive"):
                raise fail(
                    "InvalidFilterOption",
                    f"Option {option!r} is not valid for Path; use OneLevel or Recursive.",
                )
            conditions.append(sa.or_(*(path_condition(v, option == "Recursive") for v in values)))
            continue
        option = item.get("Option") or "Equals"
        options: tuple[str, ...] = ("Equals",) if key == "Label" or is_tag else ("Equals", "BeginsWith")
        if key == "Name" and not by_path:
            options = ("Equals", "BeginsWith", "Contains")
        if option not in options:
            raise fail(
                "InvalidFilterOption",
                f"Option {option!r} is not valid for {key}; use {' or '.join(options)}.",
            )
        if key == "Type":
            bad = [v for v in values if v not in TYPES]
            if bad:
                raise fail("InvalidFilterValue", f"{bad[0]!r} is not a parameter type.")
        if key == "Tier":
            bad = [v for v in values if v not in TIERS[:2]]
            if bad:
                raise fail("InvalidFilterValue", f"{bad[0]!r} is not a tier (Standard, Advanced).")
        if is_tag:
            tag = sa.select(TAGS.c.resource_id).where(
                TAGS.c.resource_type == "Parameter", TAGS.c.key == key[4:]
            )
            if values:
                tag = tag.where(TAGS.c.value.in_(values))
            conditions.append(P.c.name.in_(tag))
        elif key == "Label":
            labelled = sa.select(L.c.name).where(L.c.label.in_(values))
            conditions.append(P.c.name.in_(labelled))
        elif key == "Name":
            if option != "Contains":
                values = [v for value in values for v in spellings(value)]
            conditions.append(_string_condition(P.c.name, option, values))
        else:
            column = {"Type": P.c.type, "KeyId": P.c.key_id, "Tier": P.c.tier, "DataType": P.c.data_type}[key]
            conditions.append(_string_condition(column, option, values))
    return conditions


def legacy_filters(filters: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """DescribeParameters' old ``Filters`` (Name, Type, KeyId) as ``ParameterFilters``."""
    out: list[dict[str, Any]] = []
    for item in filters or []:
        key = item.get("Key")
        if key not in ("Name", "Type", "KeyId"):
            raise fail("InvalidFilterKey", f"Filter key {key!r} is not valid; use Name, Type or KeyId.")
        option = "BeginsWith" if key == "Name" else "Equals"
        out.append({"Key": key, "Option": option, "Values": item.get("Values") or []})
    return out


def check_max_results(value: int | None, *, limit: int) -> int:
    """``MaxResults`` checked against the API's ``limit`` (ValidationException), or ``limit``."""
    if value is None:
        return limit
    if not isinstance(value, int) or not 1 <= value <= limit:
        raise fail("ValidationException", f"MaxResults must be between 1 and {limit}; got {value!r}.")
    return value

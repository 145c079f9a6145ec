"""Parameter Store: AWS's parameter API with AWS's semantics, on the ssm-local store.

``ParameterStore`` implements PutParameter, GetParameter(s), GetParametersByPath,
DescribeParameters, GetParameterHistory, DeleteParameter(s), Label/UnlabelParameterVersion and
the tag calls for parameters. Names, values, tiers, labels and policies are checked by
``parameter_rules``; every write is one store transaction (retried once if a concurrent writer
wins a race, then ``TooManyUpdates``). SecureString values are encrypted with the ``KeyRing``
before they reach the store and decrypted only for ``with_decryption=True``. Reads through
``get_parameter`` are cached in process, invalidated by this process's writes and, for writes
made by other processes, after ``cache_ttl`` seconds. Expiration policies are enforced on every
read; ``process_policies`` deletes expired parameters and emits notification events.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ssm_local.engine import wire
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.services import parameter_put as put
from ssm_local.engine.services import parameter_queries as q
from ssm_local.engine.services import parameter_rules as rules
from ssm_local.engine.services.keyring import KeyRing, KeyRingError
from ssm_local.engine.services.parameter_events import PolicyEvents, Subscriber, policies_of
from ssm_local.engine.services.parameter_models import (
    DeleteParametersResult,
    GetParametersResult,
    InlinePolicy,
    LabelParameterVersionResult,
    Page,
    Parameter,
    ParameterHistory,
    ParameterMetadata,
    PutParameterResult,
    UnlabelParameterVersionResult,
)
from ssm_local.engine.services.parameter_rules import fail, not_found
from ssm_local.engine.services.parameter_tags import TAGS, ParameterTags
from ssm_local.engine.store import Store, StoreConflict
from ssm_local.engine.store.database import FastCursor
from ssm_local.engine.store.tables import (
    ParameterEventRow,
    ParameterLabelRow,
    ParameterRow,
    ParameterTierCountRow,
    ParameterVersionRow,
)

P: sa.Table = ParameterRow.__table__  # type: ignore[attr-defined]
V: sa.Table = ParameterVersionRow.__table__  # type: ignore[attr-defined]
L: sa.Table = ParameterLabelRow.__table__  # type: ignore[attr-defined]
C: sa.Table = ParameterTierCountRow.__table__  # type: ignore[attr-defined]
E: sa.Table = ParameterEventRow.__table__  # type: ignore[attr-defined]

T = TypeVar("T")


class ParameterStore(PolicyEvents, ParameterTags):
    """The Parameter Store API for one account and region, backed by a ``Store``.

    Every method raises ``ParameterStoreError`` (``.code`` is AWS's error code, ``.message``
    the text); a bad parameter name is ValidationException (or
    HierarchyLevelLimitExceededException past 15 levels) everywhere. Answers are frozen
    dataclasses from ``parameter_models`` whose ``to_api()`` gives AWS's response shape.
    ``cache_ttl`` is how long (seconds; None: until this process writes) a ``get_parameter``
    answer is reused; ``user`` is the LastModifiedUser ARN (default: the login's).
    """

    def __init__(
        self,
        store: Store,
        keyring: KeyRing,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Clock | None = None,
        cache_ttl: float | None = 1.0,
        user: str | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.cache_ttl = cache_ttl
        self.user = user or f"arn:aws:iam::{account_id}:user/{_login()}"
        self._cache: dict[tuple[str, bool], tuple[Parameter, float, float | None]] = {}
        self._cache_names: dict[str, set[tuple[str, bool]]] = {}
        self._cache_lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    # == writes ===================================================================================

    def put_parameter(
        self,
        name: str,
        value: str,
        *,
        type: str | None = None,
        description: str | None = None,
        key_id: str | None = None,
        overwrite: bool = False,
        allowed_pattern: str | None = None,
        tags: list[dict[str, str]] | None = None,
        tier: str | None = None,
        policies: str | None = None,
        data_type: str | None = None,
    ) -> PutParameterResult:
        """PutParameter: create a parameter (``type`` required) or, with ``overwrite``, add a
        version to it; returns ``PutParameterResult`` (``{"Version", "Tier"}``).

        ``tags`` (``[{"Key", "Value"}]``) only on creation; ``policies`` is the JSON text of
        the Policies array. Raises ``ParameterStoreError`` with ParameterAlreadyExists,
        ValidationException, HierarchyTypeMismatchException, HierarchyLevelLimitExceededException,
        ParameterPatternMismatchException, InvalidAllowedPatternException, TooManyTagsError,
        ParameterLimitExceeded (the tier is full), ParameterMaxVersionLimitExceeded (100 versions
        and the oldest is labelled), the policy errors (InvalidPolicyTypeException,
        InvalidPolicyAttributeException, PoliciesLimitExceededException,
        IncompatiblePolicyException), InvalidKeyId (an unknown KeyId), KeyRingUnreadable, or
        TooManyUpdates. The steps are in ``parameter_put``.
        """
        request = put.check_request(
            name, value, type=type, description=description, key_id=key_id, overwrite=overwrite,
            allowed_pattern=allowed_pattern, tags=tags, tier=tier, policies=policies,
            data_type=data_type, region=self.region, account_id=self.account_id,
            now=self.clock.time(),
        )
        try:
            for tries in (1, 2, 3):
                try:
                    with self.store.fast_write() as cur:
                        return self._put_version(cur, request)
                except put.Expired:
                    self.process_policies()
                except StoreConflict:
                    if tries == 3:
                        raise fail(
                            "TooManyUpdates",
                            "Another update to the same parameter happened at the same time; "
                            "try again.",
                        ) from None
            raise fail("TooManyUpdates", "The parameter kept changing; try again.")
        finally:
            self._invalidate(request.name)

    def _put_version(self, cur: FastCursor, request: put.PutRequest) -> PutParameterResult:
        """One PutParameter transaction: check against the stored parameter, choose the tier,
        encrypt, make room for the version and write it."""
        request, row = put.find(cur, request, postgres=self.store.dialect == "postgresql")
        new = put.check_against(request, row)
        tier = put.move_tier(cur, request, row, new)
        stored = (
            self._encrypt(request.value, new.key_id, request.name)
            if new.type == "SecureString"
            else request.value
        )
        version, oldest = put.next_version(cur, request.name, row)
        put.write(
            cur, request, new, created=row is None, tier=tier, stored_value=stored,
            version=version, oldest_version=oldest, user=self.user,
        )
        return PutParameterResult(version=version, tier=tier)

    def delete_parameter(self, name: str) -> None:
        """DeleteParameter: remove a parameter with all its versions, labels and tags.

        Raises ParameterNotFound (also for an expired parameter, which this removes),
        ValidationException for a bad name, TooManyUpdates.
        """
        name = rules.check_name(name, region=self.region, account_id=self.account_id, for_write=False)
        now = self.clock.time()

        def attempt(conn: Connection) -> None:
            row = _find(conn, name, lock=True)
            if row is None:
                raise not_found(name)
            if row.expires_at is not None and row.expires_at <= now:
                self._expire(conn, row, now)
                raise not_found(name)
            self._remove(conn, row)

        try:
            self._write(attempt)
        finally:
            self._invalidate(name)

    def delete_parameters(self, names: list[str]) -> DeleteParametersResult:
        """DeleteParameters: up to 10 names; returns ``DeleteParametersResult``
        (``{"DeletedParameters": [...], "InvalidParameters": [...]}``), where missing names and
        names that are not valid come back as InvalidParameters.

        Raises ValidationException for no names or more than 10, and any other error of
        ``delete_parameter`` (HierarchyLevelLimitExceededException, TooManyUpdates).
        """
        if not 1 <= len(names) <= 10:
            raise fail("ValidationException", f"Give between 1 and 10 names; {len(names)} were given.")
        deleted: list[str] = []
        invalid: list[str] = []
        for name in dict.fromkeys(names):
            try:
                self.delete_parameter(name)
                deleted.append(name)
            except rules.ParameterStoreError as exc:
                if exc.code not in ("ParameterNotFound", "ValidationException"):
                    raise
                invalid.append(name)
        return DeleteParametersResult(tuple(deleted), tuple(invalid))

    def label_parameter_version(
        self, name: str, labels: list[str], parameter_version: int | None = None
    ) -> LabelParameterVersionResult:
        """LabelParameterVersion: attach ``labels`` to ``parameter_version`` (default: the
        latest), moving them from other versions; returns ``LabelParameterVersionResult``
        (``{"InvalidLabels": [...], "ParameterVersion": N}``): labels breaking AWS's label rules
        are reported there, not raised.

        Raises ValidationException (no labels, more than 10, one over 100 characters),
        ParameterNotFound, ParameterVersionNotFound (the version is not kept),
        ParameterVersionLabelLimitExceeded (the version would carry more than 10 labels),
        TooManyUpdates.
        """
        name = rules.check_name(name, region=self.region, account_id=self.account_id, for_write=False)
        rules.check_labels_request(labels)
        valid = [lab for lab in dict.fromkeys(labels) if rules.label_is_valid(lab)]
        invalid = tuple(lab for lab in labels if not rules.label_is_valid(lab))

        def attempt(conn: Connection) -> LabelParameterVersionResult:
            row = self._live_row(conn, name, lock=True)
            stored = row.name
            version = row.version if parameter_version is None else parameter_version
            current = _version_labels(conn, stored, version)
            adding = [lab for lab in valid if lab not in current]
            if len(current) + len(adding) > rules.MAX_LABELS_PER_VERSION:
                raise fail(
                    "ParameterVersionLabelLimitExceeded",
                    f"Version {version} of {stored} would have more than "
                    f"{rules.MAX_LABELS_PER_VERSION} labels; move some to another version first.",
                )
            if adding:
                conn.execute(L.delete().where(L.c.name == stored, L.c.label.in_(adding)))
                conn.execute(
                    L.insert(), [{"name": stored, "label": lab, "version": version} for lab in adding]
                )
            return LabelParameterVersionResult(invalid, version)

        try:
            return self._write(attempt)
        finally:
            self._invalidate(name)

    def unlabel_parameter_version(
        self, name: str, parameter_version: int, labels: list[str]
    ) -> UnlabelParameterVersionResult:
        """UnlabelParameterVersion: remove ``labels`` from one version; returns
        ``UnlabelParameterVersionResult`` (``{"RemovedLabels": [...], "InvalidLabels": [...]}``,
        InvalidLabels being those the version did not carry).

        Raises ValidationException (no labels, more than 10, one over 100 characters),
        ParameterNotFound, ParameterVersionNotFound, TooManyUpdates.
        """
        name = rules.check_name(name, region=self.region, account_id=self.account_id, for_write=False)
        rules.check_labels_request(labels)

        def attempt(conn: Connection) -> UnlabelParameterVersionResult:
            stored = self._live_row(conn, name, lock=True).name
            present = _version_labels(conn, stored, parameter_version)
            removed = tuple(lab for lab in dict.fromkeys(labels) if lab in present)
            invalid = tuple(lab for lab in dict.fromkeys(labels) if lab not in present)
            if removed:
                conn.execute(L.delete().where(L.c.name == stored, L.c.label.in_(removed)))
            return UnlabelParameterVersionResult(removed, invalid)

        try:
            return self._write(attempt)
        finally:
            self._invalidate(name)

    # == reads ====================================================================================

    def get_parameter(self, name: str, *, with_decryption: bool = False) -> Parameter:
        """GetParameter: ``name``, ``name:VERSION`` or ``name:LABEL`` (or the parameter's ARN);
        returns ``Parameter`` (``{"Name", "Type", "Value", "Version", "Selector"?,
        "LastModifiedDate", "ARN", "DataType"}``). A SecureString's value is its ciphertext
        unless ``with_decryption``.

        Raises ParameterNotFound (also once expired), ParameterVersionNotFound (no such
        version or label), ValidationException (a bad name or selector), and with decryption
        InvalidCiphertext, InvalidKeyId or KeyRingUnreadable.
        """
        key = (name, with_decryption)
        entry = self._cache.get(key)
        if entry is not None:
            now = self.clock.time()
            if now < entry[1] and (entry[2] is None or now < entry[2]):
                return entry[0]
        now = self.clock.time()
        with self.store.read() as conn:
            found, expires_at = self._read_one(conn, name, with_decryption, now)
        if self.cache_ttl is None or self.cache_ttl > 0:
            deadline = float("inf") if self.cache_ttl is None else now + self.cache_ttl
            with self._cache_lock:
                self._cache[key] = (found, deadline, expires_at)
                self._cache_names.setdefault(found.name, set()).add(key)
        return found

    def get_parameters(
        self, names: list[str], *, with_decryption: bool = False
    ) -> GetParametersResult:
        """GetParameters: up to 10 references as for ``get_parameter``; returns
        ``GetParametersResult`` (``{"Parameters": [...], "InvalidParameters": [...]}``), where
        references that name no parameter, version or label come back as InvalidParameters.

        Raises ValidationException (no names, more than 10, a bad name) and the decryption
        errors of ``get_parameter``.
        """
        if not 1 <= len(names) <= 10:
            raise fail("ValidationException", f"Give between 1 and 10 names; {len(names)} were given.")
        found: list[Parameter] = []
        invalid: list[str] = []
        for reference in dict.fromkeys(names):
            try:
                found.append(self.get_parameter(reference, with_decryption=with_decryption))
            except rules.ParameterStoreError as exc:
                if exc.code not in ("ParameterNotFound", "ParameterVersionNotFound"):
                    raise
                invalid.append(reference)
        return GetParametersResult(tuple(found), tuple(invalid))

    def get_parameters_by_path(
        self,
        path: str,
        *,
        recursive: bool = False,
        parameter_filters: list[dict[str, Any]] | None = None,
        with_decryption: bool = False,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[Parameter]:
        """GetParametersByPath: the parameters directly under ``path`` (every descendant when
        ``recursive``), by name, 10 a page at most; returns ``Page[Parameter]``
        (``{"Parameters": [...], "NextToken"?}``).

        ``parameter_filters`` are ``[{"Key", "Option"?, "Values"}]`` with keys Type, KeyId,
        Label and ``tag:KEY``. Raises ValidationException (a bad path or MaxResults),
        HierarchyLevelLimitExceededException, InvalidFilterKey, InvalidFilterOption,
        InvalidFilterValue, InvalidNextToken, and the decryption errors of ``get_parameter``.
        """
        limit = q.check_max_results(max_results, limit=10)
        condition = q.path_condition(path, recursive)
        conditions = q.filter_conditions(parameter_filters, by_path=True)
        after = wire.decode_token("path", next_token, error=rules.ParameterStoreError)
        now = self.clock.time()
        query = sa.select(P).where(condition, *conditions, _alive(now))
        if after is not None:
            query = query.where(P.c.name > after)
        with self.store.read() as conn:
            rows = conn.execute(query.order_by(P.c.name).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = tuple(self._parameter(r, with_decryption) for r in rows)
        token = wire.encode_token("path", rows[-1].name) if more else None
        return Page(items, token, key="Parameters")

    def describe_parameters(
        self,
        *,
        filters: list[dict[str, Any]] | None = None,
        parameter_filters: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[ParameterMetadata]:
        """DescribeParameters: metadata (no values) by name, 50 a page at most; returns
        ``Page[ParameterMetadata]`` (``{"Parameters": [{"Name", "ARN", "Type", "KeyId"?,
        "LastModifiedDate", "LastModifiedUser", "Description"?, "AllowedPattern"?, "Version",
        "Tier", "Policies", "DataType"}], "NextToken"?}``).

        ``parameter_filters`` are ``[{"Key", "Option"?, "Values"}]`` with keys Name, Type,
        KeyId, Path, Tier, DataType and ``tag:KEY``; the older ``filters`` are
        ``[{"Key", "Values"}]`` with Name, Type, KeyId. Raises ValidationException (both kinds
        of filter, a bad MaxResults), InvalidFilterKey, InvalidFilterOption, InvalidFilterValue,
        InvalidNextToken.
        """
        if filters and parameter_filters:
            raise fail("ValidationException", "Give Filters or ParameterFilters, not both.")
        limit = q.check_max_results(max_results, limit=50)
        conditions = q.filter_conditions(
            parameter_filters or q.legacy_filters(filters), by_path=False
        )
        after = wire.decode_token("describe", next_token, error=rules.ParameterStoreError)
        now = self.clock.time()
        query = sa.select(P).where(*conditions, _alive(now))
        if after is not None:
            query = query.where(P.c.name > after)
        with self.store.read() as conn:
            rows = conn.execute(query.order_by(P.c.name).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            fired = self._fired(conn, [r.name for r in rows if r.policies])
        items = tuple(
            ParameterMetadata(
                name=r.name,
                arn=self._arn(r.name),
                type=r.type,
                key_id=r.key_id,
                last_modified_date=wire.from_epoch(r.last_modified),
                last_modified_user=r.last_modified_user,
                description=r.description,
                allowed_pattern=r.allowed_pattern,
                version=r.version,
                tier=r.tier,
                policies=_inline(r.name, r.version, r.policies, fired),
                data_type=r.data_type,
            )
            for r in rows
        )
        token = wire.encode_token("describe", rows[-1].name) if more else None
        return Page(items, token, key="Parameters")

    def get_parameter_history(
        self,
        name: str,
        *,
        with_decryption: bool = False,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[ParameterHistory]:
        """GetParameterHistory: every retained version, oldest first, 50 a page at most;
        returns ``Page[ParameterHistory]`` (``{"Parameters": [{"Name", "Type", "KeyId"?,
        "LastModifiedDate", "LastModifiedUser", "Description"?, "Value", "AllowedPattern"?,
        "Version", "Labels", "Tier", "Policies", "DataType"}], "NextToken"?}``).

        Raises ValidationException (a bad name or MaxResults), ParameterNotFound,
        InvalidNextToken, and the decryption errors of ``get_parameter``.
        """
        name = rules.check_name(name, region=self.region, account_id=self.account_id, for_write=False)
        limit = q.check_max_results(max_results, limit=50)
        after = wire.decode_token("history", next_token, error=rules.ParameterStoreError)
        with self.store.read() as conn:
            name = self._live_row(conn, name).name
            query = sa.select(V).where(V.c.name == name)
            if after is not None:
                query = query.where(V.c.version > int(after))
            rows = conn.execute(query.order_by(V.c.version).limit(limit + 1)).all()
            labels: dict[int, list[str]] = {}
            for lab in conn.execute(
                sa.select(L.c.label, L.c.version).where(L.c.name == name).order_by(L.c.label)
            ):
                labels.setdefault(lab.version, []).append(lab.label)
            fired = self._fired(conn, [name])
        more = len(rows) > limit
        rows = rows[:limit]
        items = tuple(
            ParameterHistory(
                name=name,
                type=r.type,
                key_id=r.key_id,
                last_modified_date=wire.from_epoch(r.last_modified),
                last_modified_user=r.last_modified_user,
                description=r.description,
                value=self._plain(name, r.type, r.value, with_decryption),
                allowed_pattern=r.allowed_pattern,
                version=r.version,
                labels=tuple(labels.get(r.version, ())),
                tier=r.tier,
                policies=_inline(name, r.version, r.policies, fired),
                data_type=r.data_type,
            )
            for r in rows
        )
        token = wire.encode_token("history", rows[-1].version) if more else None
        return Page(items, token, key="Parameters")

    # == helpers ==================================================================================

    def _write(self, attempt: Callable[[Connection], T]) -> T:
        for tries in (1, 2):
            try:
                with self.store.write() as conn:
                    return attempt(conn)
            except StoreConflict:
                if tries == 2:
                    raise fail(
                        "TooManyUpdates",
                        "Another update to the same parameter happened at the same time; try again.",
                    ) from None
        raise AssertionError("unreachable")

    def _remove(self, conn: Connection, row: Row[Any]) -> None:
        name = row.name
        conn.execute(V.delete().where(V.c.name == name))
        conn.execute(L.delete().where(L.c.name == name))
        conn.execute(TAGS.delete().where(TAGS.c.resource_type == "Parameter", TAGS.c.resource_id == name))
        conn.execute(P.delete().where(P.c.name == name))
        conn.execute(C.update().where(C.c.tier == row.tier).values(count=C.c.count - 1))

    def _live_row(
        self, conn: Connection, name: str, *, lock: bool = False, code: str = "ParameterNotFound"
    ) -> Row[Any]:
        row = _find(conn, name, lock=lock)
        if row is None or (row.expires_at is not None and row.expires_at <= self.clock.time()):
            if code == "ParameterNotFound":
                raise not_found(name)
            raise fail(code, f"Parameter {name} was not found.")
        return row

    def _read_one(
        self, conn: Connection, reference: str, with_decryption: bool, now: float
    ) -> tuple[Parameter, float | None]:
        name, version, label = rules.split_selector(reference)
        name = rules.check_name(name, region=self.region, account_id=self.account_id, for_write=False)
        row = _find(conn, name)
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            raise not_found(name)
        name = row.name
        if version is None and label is None:
            return self._parameter(row, with_decryption), row.expires_at
        if label is not None:
            version = conn.execute(
                sa.select(L.c.version).where(L.c.name == name, L.c.label == label)
            ).scalar()
            if version is None:
                raise fail(
                    "ParameterVersionNotFound",
                    f"Parameter {name} has no version labelled {label}.",
                )
        selected = conn.execute(sa.select(V).where(V.c.name == name, V.c.version == version)).first()
        if selected is None:
            raise _version_not_found(name, version)
        selector = f":{label}" if label is not None else f":{version}"
        return (
            Parameter(
                name=name,
                type=selected.type,
                value=self._plain(name, selected.type, selected.value, with_decryption),
                version=selected.version,
                last_modified_date=wire.from_epoch(selected.last_modified),
                arn=self._arn(name),
                data_type=selected.data_type,
                selector=selector,
            ),
            row.expires_at,
        )

    def _parameter(self, row: Row[Any], with_decryption: bool) -> Parameter:
        return Parameter(
            name=row.name,
            type=row.type,
            value=self._plain(row.name, row.type, row.value, with_decryption),
            version=row.version,
            last_modified_date=wire.from_epoch(row.last_modified),
            arn=self._arn(row.name),
            data_type=row.data_type,
        )

    def _plain(self, name: str, type_: str, stored: str, with_decryption: bool) -> str:
        if type_ == "SecureString" and with_decryption:
            try:
                return self.keyring.decrypt(stored, name)
            except KeyRingError as exc:
                raise fail(exc.code, exc.message) from None
        return stored

    def _encrypt(self, value: str, key_id: str | None, name: str) -> str:
        try:
            return self.keyring.encrypt(value, key_id, name)
        except KeyRingError as exc:
            raise fail(exc.code, exc.message) from None

    def _arn(self, name: str) -> str:
        return rules.parameter_arn(name, self.region, self.account_id)

    def _fired(self, conn: Connection, names: list[str]) -> set[str]:
        if not names:
            return set()
        return set(conn.execute(sa.select(E.c.dedupe_key).where(E.c.name.in_(names))).scalars())

    def _invalidate(self, name: str) -> None:
        with self._cache_lock:
            for spelling in rules.spellings(name):
                for key in self._cache_names.pop(spelling, ()):
                    self._cache.pop(key, None)

    def clear_cache(self) -> None:
        """Forget every cached read."""
        with self._cache_lock:
            self._cache.clear()
            self._cache_names.clear()


def _find(conn: Connection, name: str, *, lock: bool = False) -> Row[Any] | None:
    """The parameter row ``name`` stands for under either spelling (``a`` or ``/a``, see
    ``rules.spellings``), or None. A store written before names were one parameter may hold
    both spellings: the exact one is preferred, so each stays readable as written."""
    names = rules.spellings(name)
    query = sa.select(P).where(sa.or_(*(P.c.name == n for n in names)))
    rows = conn.execute(query.with_for_update() if lock else query).all()
    return next((r for r in rows if r.name == name), rows[0] if rows else None)


def _alive(now: float) -> sa.ColumnElement[bool]:
    return sa.or_(P.c.expires_at.is_(None), P.c.expires_at > now)


def _inline(name: str, version: int, text: str | None, fired: set[str]) -> tuple[InlinePolicy, ...]:
    return tuple(
        InlinePolicy(
            policy_text=p.text,
            policy_type=p.type,
            policy_status="Finished" if f"{name}|{version}|{p.type}" in fired else "Pending",
        )
        for p in policies_of(text)
    )


def _version_labels(conn: Connection, name: str, version: int) -> set[str]:
    """The labels on ``name``'s ``version``; ParameterVersionNotFound when it is not kept."""
    if not conn.execute(
        sa.select(V.c.version).where(V.c.name == name, V.c.version == version)
    ).first():
        raise _version_not_found(name, version)
    return set(
        conn.execute(sa.select(L.c.label).where(L.c.name == name, L.c.version == version)).scalars()
    )


def _version_not_found(name: str, version: int | None) -> rules.ParameterStoreError:
    return fail(
        "ParameterVersionNotFound",
        f"Version {version} of parameter {name} was not found; check the version and try again.",
    )


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "ssm-local"


def names_of(params: Iterable[Parameter]) -> list[str]:
    """The names of ``params``, in order (a small helper for callers and tests)."""
    return [p.name for p in params]

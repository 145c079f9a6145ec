"""The document registry: SSM's Create/Update/Get/Describe/List/Delete document API on the store.

Documents have versions (1, 2, ... with ``$LATEST`` and ``$DEFAULT``, optional VersionNames),
a DocumentFormat (JSON, YAML, or TEXT for types such as ChangeCalendar) and a DocumentType.
Content of Command, Automation and Policy documents is checked by the ``documents`` layer on
create and update; errors come back as ``InvalidDocumentContent`` carrying our diagnostics.
The documents bundled in ``documents/library`` appear as AWS-owned (``Owner: Amazon``),
read-only documents. Answers are dicts in AWS's response shape (datetimes left as aware
``datetime`` objects).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from ssm_local import documents
from ssm_local.documents import library
from ssm_local.engine import wire
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.store import Store, StoreConflict
from ssm_local.engine.store.tables import DocumentRow, DocumentVersionRow, TagRow
from ssm_local.grammar.errors import ApiError

D: sa.Table = DocumentRow.__table__  # type: ignore[attr-defined]
DV: sa.Table = DocumentVersionRow.__table__  # type: ignore[attr-defined]
TAGS: sa.Table = TagRow.__table__  # type: ignore[attr-defined]

DOCUMENT_TYPES = (
    "Command", "Policy", "Automation", "Session", "Package", "ApplicationConfiguration",
    "ApplicationConfigurationSchema", "DeploymentStrategy", "ChangeCalendar",
    "Automation.ChangeTemplate", "ProblemAnalysis", "ProblemAnalysisTemplate", "CloudFormation",
    "ConformancePackTemplate", "QuickSetup", "ManualApprovalPolicy", "AutoApprovalPolicy",
)
FORMATS = ("JSON", "YAML", "TEXT")
TEXT_TYPES = ("ChangeCalendar", "ProblemAnalysisTemplate")
CHECKED_KINDS = {"Command": "Command", "Policy": "Command", "Automation": "Automation",
                 "Automation.ChangeTemplate": "Automation"}
MAX_VERSIONS = 1000
_NAME = re.compile(r"[A-Za-z0-9_\-.]{3,128}")
_VERSION_NAME = re.compile(r"[a-zA-Z0-9_\-.]{1,128}")
_LIBRARY_CREATED = datetime(2025, 1, 1, tzinfo=UTC)
T = TypeVar("T")


class DocumentRegistryError(ApiError):
    """An error answered by the document registry; ``code`` is AWS's error code."""

    code = "InvalidDocument"

    def __init__(self, message: str, *, code: str, diagnostics: list[documents.Diagnostic] | None = None
                 ) -> None:
        super().__init__(message, code=code)
        self.diagnostics = diagnostics or []


def _fail(code: str, message: str) -> DocumentRegistryError:
    return DocumentRegistryError(message, code=code)


def _missing(name: str) -> DocumentRegistryError:
    return _fail("InvalidDocument", f"Document {name} does not exist.")


class DocumentRegistry:
    """SSM documents for one account and region.

    Every method raises ``DocumentRegistryError`` (``.code`` is AWS's error code); a name
    that is neither stored nor bundled is InvalidDocument, a version or VersionName the
    document does not have is InvalidDocumentVersion, and a write that loses a race with
    another writer is TooManyUpdates. Answers are dicts in AWS's response shapes, members
    that have no value left out; a ``DocumentDescription`` is ``{"Hash", "HashType": "Sha256",
    "Name", "DisplayName"?, "VersionName"?, "Owner", "CreatedDate", "Status",
    "DocumentVersion", "Description"?, "Parameters"?: [{"Name", "Type", "Description"?,
    "DefaultValue"?}], "PlatformTypes", "DocumentType", "SchemaVersion"?, "LatestVersion",
    "DefaultVersion", "DocumentFormat", "TargetType"?, "Tags": [{"Key", "Value"}]}``.
    """

    def __init__(self, store: Store, *, region: str = "us-east-1",
                 account_id: str = "123456789012", clock: Clock | None = None) -> None:
        self.store = store
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()

    # -- writes -----------------------------------------------------------------------------

    def create_document(
        self, content: str, name: str, *, document_type: str = "Command",
        document_format: str = "JSON", version_name: str | None = None,
        target_type: str | None = None, display_name: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """CreateDocument: version 1 of a new document; returns its ``DocumentDescription``.

        ``content`` is checked as a ``document_type`` document in ``document_format`` (JSON,
        YAML or TEXT); ``tags`` are ``[{"Key", "Value"}]``. Raises ValidationException (a bad
        or reserved name, DocumentType, DocumentFormat or VersionName, no content),
        MaxDocumentSizeExceeded (over 64 KB), InvalidDocumentContent (the content is not a valid
        document of that type; ``.diagnostics`` holds the findings), DocumentAlreadyExists
        (stored or bundled), TooManyUpdates.
        """
        self._check_name(name)
        if name.lower().startswith(("aws", "amazon", "amzn")):
            raise _fail("ValidationException",
                        f"Document name {name!r} is reserved: names may not begin with aws, "
                        "amazon or amzn.")
        summary = self._check_content(content, name, document_type, document_format)
        self._check_version_name(version_name)
        now = self.clock.time()

        def attempt(conn: Connection) -> None:
            if conn.execute(sa.select(D.c.name).where(D.c.name == name)).first() or (
                library.path(name) is not None
            ):
                raise _fail("DocumentAlreadyExists", f"A document named {name} already exists.")
            conn.execute(D.insert(), {
                "name": name, "owner": self.account_id, "document_type": document_type,
                "target_type": target_type, "display_name": display_name,
                "default_version": 1, "latest_version": 1, "created_date": now,
            })
            conn.execute(DV.insert(), {**summary, "name": name, "version": 1,
                                       "version_name": version_name, "created_date": now})
            if tags:
                conn.execute(TAGS.insert(), [{"resource_type": "Document", "resource_id": name,
                                              "key": t["Key"], "value": t.get("Value", "")}
                                             for t in tags])

        self._write(attempt)
        return self.describe_document(name)

    def update_document(
        self, content: str, name: str, *, document_version: str | None = None,
        document_format: str = "JSON", version_name: str | None = None,
        target_type: str | None = None, display_name: str | None = None,
    ) -> dict[str, Any]:
        """UpdateDocument: a new latest version from ``content`` (``document_version``, if
        given, must name the latest); returns the new version's ``DocumentDescription``.

        Raises InvalidDocumentOperation (an AWS-owned document), InvalidDocument,
        InvalidDocumentVersion (not the latest version), InvalidDocumentSchemaVersion
        (schemaVersion 1.2 cannot be updated), ValidationException, MaxDocumentSizeExceeded,
        InvalidDocumentContent, DuplicateDocumentContent (the same as the latest version),
        DuplicateDocumentVersionName, DocumentVersionLimitExceeded (1,000 versions),
        TooManyUpdates.
        """
        self._owned(name)
        self._check_version_name(version_name)
        now = self.clock.time()

        def attempt(conn: Connection) -> None:
            doc = conn.execute(sa.select(D).where(D.c.name == name).with_for_update()).first()
            if doc is None:
                raise _missing(name)
            latest = conn.execute(sa.select(DV).where(DV.c.name == name,
                                                      DV.c.version == doc.latest_version)).one()
            if document_version not in (None, "$LATEST", str(doc.latest_version)):
                raise _fail("InvalidDocumentVersion",
                            f"Only the latest version ({doc.latest_version}) of {name} can be "
                            "updated.")
            if latest.schema_version == "1.2":
                raise _fail("InvalidDocumentSchemaVersion",
                            "Documents with schemaVersion 1.2 cannot be updated; create a new "
                            "document instead.")
            summary = self._check_content(content, name, doc.document_type, document_format)
            if summary["hash"] == latest.hash:
                raise _fail("DuplicateDocumentContent",
                            f"The content is the same as the latest version of {name}.")
            if version_name is not None and conn.execute(
                sa.select(DV.c.version).where(DV.c.name == name, DV.c.version_name == version_name)
            ).first():
                raise _fail("DuplicateDocumentVersionName",
                            f"Version name {version_name} is already used by {name}.")
            count = conn.execute(sa.select(sa.func.count()).where(DV.c.name == name)).scalar()
            if (count or 0) >= MAX_VERSIONS:
                raise _fail("DocumentVersionLimitExceeded",
                            f"{name} already has {MAX_VERSIONS} versions; delete some first.")
            version = doc.latest_version + 1
            conn.execute(DV.insert(), {**summary, "name": name, "version": version,
                                       "version_name": version_name, "created_date": now})
            changes: dict[str, Any] = {"latest_version": version}
            if target_type is not None:
                changes["target_type"] = target_type
            if display_name is not None:
                changes["display_name"] = display_name
            conn.execute(D.update().where(D.c.name == name).values(**changes))

        self._write(attempt)
        return self.describe_document(name, document_version="$LATEST")

    def update_document_default_version(self, name: str, document_version: str) -> dict[str, Any]:
        """UpdateDocumentDefaultVersion: make ``document_version`` (a number, ``$LATEST`` or
        ``$DEFAULT``) the default; returns ``{"Description": {"Name", "DefaultVersion",
        "DefaultVersionName"?}}``.

        Raises InvalidDocumentOperation (an AWS-owned document), InvalidDocument,
        InvalidDocumentVersion, TooManyUpdates.
        """
        self._owned(name)

        def attempt(conn: Connection) -> dict[str, Any]:
            doc = conn.execute(sa.select(D).where(D.c.name == name).with_for_update()).first()
            if doc is None:
                raise _missing(name)
            row = self._version_row(conn, doc, document_version, None)
            conn.execute(D.update().where(D.c.name == name).values(default_version=row.version))
            return {"Description": {"Name": name, "DefaultVersion": str(row.version),
                                    **({"DefaultVersionName": row.version_name}
                                       if row.version_name else {})}}

        return self._write(attempt)

    def delete_document(self, name: str, *, document_version: str | None = None,
                        version_name: str | None = None, force: bool = False) -> None:
        """DeleteDocument: the whole document with its tags, or, given ``document_version``
        or ``version_name``, that one version (``force`` is accepted and changes nothing).

        Raises InvalidDocumentOperation (an AWS-owned document, or the version is the
        default), InvalidDocument, InvalidDocumentVersion, TooManyUpdates.
        """
        self._owned(name)

        def attempt(conn: Connection) -> None:
            doc = conn.execute(sa.select(D).where(D.c.name == name).with_for_update()).first()
            if doc is None:
                raise _missing(name)
            if document_version is None and version_name is None:
                conn.execute(DV.delete().where(DV.c.name == name))
                conn.execute(TAGS.delete().where(TAGS.c.resource_type == "Document",
                                                 TAGS.c.resource_id == name))
                conn.execute(D.delete().where(D.c.name == name))
                return
            row = self._version_row(conn, doc, document_version, version_name)
            if row.version == doc.default_version:
                raise _fail("InvalidDocumentOperation",
                            f"Version {row.version} is the default version of {name}; make "
                            "another version the default before deleting it.")
            conn.execute(DV.delete().where(DV.c.name == name, DV.c.version == row.version))
            if row.version == doc.latest_version:
                newest = conn.execute(sa.select(sa.func.max(DV.c.version))
                                      .where(DV.c.name == name)).scalar()
                conn.execute(D.update().where(D.c.name == name).values(latest_version=newest))

        self._write(attempt)

    # -- reads ------------------------------------------------------------------------------

    def get_document(self, name: str, *, document_version: str | None = None,
                     version_name: str | None = None, document_format: str | None = None
                     ) -> dict[str, Any]:
        """GetDocument: the content of one version (default: the default version), converted
        between JSON and YAML when ``document_format`` asks; returns ``{"Name", "CreatedDate",
        "DisplayName"?, "VersionName"?, "DocumentVersion", "Status", "Content", "DocumentType",
        "DocumentFormat"}``.

        Raises InvalidDocument, InvalidDocumentVersion, ValidationException (a TEXT document
        asked for as JSON or YAML, or the reverse, or an unknown format).
        """
        doc, row = self._resolve(name, document_version, version_name)
        content, fmt = row["content"], row["document_format"]
        if document_format is not None and document_format != fmt:
            if document_format not in FORMATS or "TEXT" in (fmt, document_format):
                raise _fail("ValidationException",
                            f"A {fmt} document cannot be returned as {document_format}.")
            data = documents.load(content, source=name, format=fmt).data
            content = (json.dumps(data, indent=2) if document_format == "JSON"
                       else yaml.safe_dump(data, sort_keys=False))
            fmt = document_format
        return wire.drop_none({
            "Name": name, "CreatedDate": row["created_date"], "DisplayName": doc["display_name"],
            "VersionName": row["version_name"], "DocumentVersion": str(row["version"]),
            "Status": row["status"], "Content": content, "DocumentType": doc["document_type"],
            "DocumentFormat": fmt,
        })

    def describe_document(self, name: str, *, document_version: str | None = None,
                          version_name: str | None = None) -> dict[str, Any]:
        """DescribeDocument: the ``DocumentDescription`` of one version (default: the default
        one), named by number, ``$LATEST``, ``$DEFAULT`` or ``version_name``.

        Raises InvalidDocument, InvalidDocumentVersion.
        """
        doc, row = self._resolve(name, document_version, version_name)
        with self.store.read() as conn:
            tags = [{"Key": t.key, "Value": t.value} for t in conn.execute(
                sa.select(TAGS.c.key, TAGS.c.value).where(
                    TAGS.c.resource_type == "Document", TAGS.c.resource_id == name
                ).order_by(TAGS.c.key))]
        return wire.drop_none({
            "Hash": row["hash"], "HashType": "Sha256", "Name": name,
            "DisplayName": doc["display_name"], "VersionName": row["version_name"],
            "Owner": doc["owner"], "CreatedDate": row["created_date"], "Status": row["status"],
            "DocumentVersion": str(row["version"]), "Description": row["description"],
            "Parameters": json.loads(row["parameters"]) if row["parameters"] else None,
            "PlatformTypes": json.loads(row["platform_types"]),
            "DocumentType": doc["document_type"], "SchemaVersion": row["schema_version"],
            "LatestVersion": str(doc["latest_version"]),
            "DefaultVersion": str(doc["default_version"]),
            "DocumentFormat": row["document_format"], "TargetType": doc["target_type"],
            "Tags": tags,
        })

    def list_documents(self, *, filters: list[dict[str, Any]] | None = None,
                       max_results: int | None = None, next_token: str | None = None
                       ) -> dict[str, Any]:
        """ListDocuments, by name, stored and bundled documents alike, 50 a page at most;
        returns ``{"DocumentIdentifiers": [{"Name", "CreatedDate", "DisplayName"?, "Owner",
        "VersionName"?, "DocumentVersion", "DocumentType", "SchemaVersion", "DocumentFormat",
        "PlatformTypes", "TargetType"?, "Tags"}], "NextToken"?}``.

        ``filters`` are DocumentKeyValuesFilters ``[{"Key", "Values"}]`` with keys Owner (Self,
        Amazon, Private, All or an account id), Name (prefixes), DocumentType, PlatformTypes,
        TargetType, SearchKeyword and ``tag:KEY``. Raises ValidationException (MaxResults
        outside 1-50), InvalidFilterKey, InvalidNextToken.
        """
        limit = 50 if max_results is None else max_results
        if not 1 <= limit <= 50:
            raise _fail("ValidationException", "MaxResults must be between 1 and 50.")
        after = wire.decode_token("documents", next_token, error=DocumentRegistryError)
        identifiers = [d for d in self._identifiers() if _matches(d, filters or [])]
        if after is not None:
            identifiers = [d for d in identifiers if d["Name"] > after]
        page = identifiers[:limit]
        out: dict[str, Any] = {"DocumentIdentifiers": page}
        if len(identifiers) > limit:
            out["NextToken"] = wire.encode_token("documents", page[-1]["Name"])
        return out

    def list_document_versions(self, name: str, *, max_results: int | None = None,
                               next_token: str | None = None) -> dict[str, Any]:
        """ListDocumentVersions, newest first, 50 a page at most; returns
        ``{"DocumentVersions": [{"Name", "DisplayName"?, "DocumentVersion", "VersionName"?,
        "CreatedDate", "IsDefaultVersion", "DocumentFormat", "Status"}], "NextToken"?}``.

        Raises ValidationException (MaxResults outside 1-50), InvalidDocument,
        InvalidNextToken.
        """
        limit = 50 if max_results is None else max_results
        if not 1 <= limit <= 50:
            raise _fail("ValidationException", "MaxResults must be between 1 and 50.")
        doc, versions = self._all_versions(name)
        before = wire.decode_token("versions", next_token, error=DocumentRegistryError)
        rows = [v for v in versions if before is None or v["version"] < int(before)]
        page = rows[:limit]
        out: dict[str, Any] = {"DocumentVersions": [wire.drop_none({
            "Name": name, "DisplayName": doc["display_name"],
            "DocumentVersion": str(v["version"]), "VersionName": v["version_name"],
            "CreatedDate": v["created_date"], "IsDefaultVersion": v["version"] == doc["default_version"],
            "DocumentFormat": v["document_format"], "Status": v["status"],
        }) for v in page]}
        if len(rows) > limit:
            out["NextToken"] = wire.encode_token("versions", page[-1]["version"])
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _write(self, attempt: Callable[[Connection], T]) -> T:
        try:
            with self.store.write() as conn:
                return attempt(conn)
        except StoreConflict:
            raise _fail("TooManyUpdates", "The document changed at the same time; try again.") from None

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.fullmatch(name):
            raise _fail("ValidationException",
                        f"Document name {name!r} must be 3-128 letters, digits, '_', '-' or '.'.")

    @staticmethod
    def _check_version_name(version_name: str | None) -> None:
        if version_name is not None and not _VERSION_NAME.fullmatch(version_name):
            raise _fail("ValidationException",
                        f"VersionName {version_name!r} must be 1-128 letters, digits, '_', '-' or '.'.")

    def _owned(self, name: str) -> None:
        if library.path(name) is not None:
            raise _fail("InvalidDocumentOperation",
                        f"{name} is an AWS-owned document and cannot be changed or deleted.")

    def _check_content(self, content: str, name: str, document_type: str, fmt: str
                       ) -> dict[str, Any]:
        if document_type not in DOCUMENT_TYPES:
            raise _fail("ValidationException", f"DocumentType {document_type!r} is not supported.")
        if fmt not in FORMATS:
            raise _fail("ValidationException", f"DocumentFormat {fmt!r} is not JSON, YAML or TEXT.")
        if not content:
            raise _fail("ValidationException", "Content is required.")
        size = len(content.encode("utf-8"))
        if size > 64 * 1024:
            raise _fail("MaxDocumentSizeExceeded",
                        f"The content is {size:,} bytes; documents may be at most 64 KB.")
        summary: dict[str, Any] = {
            "content": content, "document_format": fmt, "schema_version": None,
            "hash": hashlib.sha256(content.encode("utf-8")).hexdigest(), "description": None,
            "parameters": None, "platform_types": "[]", "status": "Active",
        }
        if fmt == "TEXT":
            if document_type not in TEXT_TYPES:
                raise _fail("InvalidDocumentContent",
                            f"DocumentFormat TEXT is only for {', '.join(TEXT_TYPES)} documents.")
            if document_type == "ChangeCalendar" and not content.lstrip().startswith("BEGIN:VCALENDAR"):
                raise _fail("InvalidDocumentContent",
                            "A ChangeCalendar document in TEXT format must be an iCalendar file.")
            return summary
        document, diagnostics = documents.check(  # CreateDocument's limits apply here
            content, source=name, format=fmt, create=True)  # type: ignore[arg-type]
        expected = CHECKED_KINDS.get(document_type)
        if document is not None and expected is not None and document.kind != expected:
            raise _fail("InvalidDocumentContent",
                        f"The content is {_article(document.kind)} {document.kind} document "
                        f"(schemaVersion {document.schema_version}), not {document_type}: "
                        f"create it with DocumentType {document.kind} (--type {document.kind}).")
        errors = [d for d in diagnostics if d.is_error]
        if errors and (expected is not None or document is None):
            shown = "; ".join(f"{d.line or '-'}:{d.column or '-'} {d.code} {d.message}"
                              for d in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise DocumentRegistryError(f"The document content is not valid: {shown}{more}",
                                        code="InvalidDocumentContent", diagnostics=errors)
        if document is not None:
            summary["schema_version"] = document.schema_version
            summary["description"] = document.description
            if document.parameters:
                summary["parameters"] = json.dumps(
                    [_parameter(p) for p in document.parameters.values()]
                )
            summary["platform_types"] = json.dumps(_platforms(document))
        return summary

    def _resolve(self, name: str, version: str | None, version_name: str | None
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        doc, versions = self._all_versions(name)
        if version_name is not None:
            chosen = [v for v in versions if v["version_name"] == version_name]
        elif version in (None, "$DEFAULT"):
            chosen = [v for v in versions if v["version"] == doc["default_version"]]
        elif version == "$LATEST":
            chosen = [v for v in versions if v["version"] == doc["latest_version"]]
        else:
            chosen = [v for v in versions if str(v["version"]) == version]
        if not chosen:
            raise _fail("InvalidDocumentVersion",
                        f"Document {name} has no version {version_name or version}.")
        return doc, chosen[0]

    def _version_row(self, conn: Connection, doc: Any, version: str | None,
                     version_name: str | None) -> Any:
        query = sa.select(DV).where(DV.c.name == doc.name)
        if version_name is not None:
            query = query.where(DV.c.version_name == version_name)
        elif version == "$LATEST":
            query = query.where(DV.c.version == doc.latest_version)
        elif version in (None, "$DEFAULT"):
            query = query.where(DV.c.version == doc.default_version)
        elif version.isdigit():
            query = query.where(DV.c.version == int(version))
        else:
            raise _fail("InvalidDocumentVersion", f"{version!r} is not a document version.")
        row = conn.execute(query).first()
        if row is None:
            raise _fail("InvalidDocumentVersion",
                        f"Document {doc.name} has no version {version_name or version}.")
        return row

    def _all_versions(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A document and its versions (newest first), from the store or the library."""
        if library.path(name) is not None:
            text = library.read(name)
            summary = self._check_content(text, name, _library_type(text), _format_of(name))
            doc = {"name": name, "owner": "Amazon", "document_type": _library_type(text),
                   "target_type": None, "display_name": None, "default_version": 1,
                   "latest_version": 1, "created_date": _LIBRARY_CREATED}
            return doc, [{**summary, "version": 1, "version_name": None,
                          "created_date": _LIBRARY_CREATED}]
        with self.store.read() as conn:
            doc_row = conn.execute(sa.select(D).where(D.c.name == name)).first()
            if doc_row is None:
                raise _missing(name)
            rows = conn.execute(sa.select(DV).where(DV.c.name == name)
                                .order_by(DV.c.version.desc())).all()
        stored: dict[str, Any] = dict(doc_row._mapping)
        stored["created_date"] = wire.from_epoch(float(stored["created_date"]))
        versions = [{**dict(r._mapping), "created_date": wire.from_epoch(float(r.created_date))}
                    for r in rows]
        return stored, versions

    def _identifiers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in library.names():
            text = library.read(name)
            document = documents.load(text, source=name)
            out.append(wire.drop_none({
                "Name": name, "CreatedDate": _LIBRARY_CREATED, "Owner": "Amazon",
                "DocumentVersion": "1", "DocumentType": _library_type(text),
                "SchemaVersion": document.schema_version, "DocumentFormat": _format_of(name),
                "PlatformTypes": _platforms(document), "Tags": [],
            }))
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(D, DV.c.schema_version, DV.c.document_format, DV.c.platform_types,
                          DV.c.version_name)
                .join(DV, sa.and_(DV.c.name == D.c.name, DV.c.version == D.c.default_version))
            ).all()
            tags: dict[str, list[dict[str, str]]] = {}
            for t in conn.execute(sa.select(TAGS).where(TAGS.c.resource_type == "Document")):
                tags.setdefault(t.resource_id, []).append({"Key": t.key, "Value": t.value})
        for r in rows:
            out.append(wire.drop_none({
                "Name": r.name, "CreatedDate": wire.from_epoch(float(r.created_date)),
                "DisplayName": r.display_name, "Owner": r.owner, "VersionName": r.version_name,
                "DocumentVersion": str(r.default_version), "DocumentType": r.document_type,
                "SchemaVersion": r.schema_version, "DocumentFormat": r.document_format,
                "PlatformTypes": json.loads(r.platform_types), "TargetType": r.target_type,
                "Tags": tags.get(r.name, []),
            }))
        return sorted(out, key=lambda d: d["Name"])


def _matches(identifier: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        key, values = f.get("Key", ""), f.get("Values") or []
        if key == "Owner":
            owner = identifier["Owner"]
            wanted = {"Self": owner != "Amazon", "Amazon": owner == "Amazon",
                      "Private": owner != "Amazon", "All": True, "Public": False}
            if not any(wanted.get(v, v == owner) for v in values):
                return False
        elif key == "Name":
            if not any(identifier["Name"].startswith(v) for v in values):
                return False
        elif key == "SearchKeyword":
            if not any(v.lower() in identifier["Name"].lower() for v in values):
                return False
        elif key in ("DocumentType", "TargetType"):
            if identifier.get(key) not in values:
                return False
        elif key == "PlatformTypes":
            if not set(values) & set(identifier.get("PlatformTypes", [])):
                return False
        elif key.startswith("tag:"):
            tag_values = [t["Value"] for t in identifier.get("Tags", []) if t["Key"] == key[4:]]
            if not tag_values or (values and not set(values) & set(tag_values)):
                return False
        else:
            raise _fail("InvalidFilterKey", f"Filter key {key!r} is not valid for ListDocuments.")
    return True


def _parameter(p: Any) -> dict[str, Any]:
    out = {"Name": p.name, "Type": p.type, "Description": p.description}
    if p.has_default:
        out["DefaultValue"] = wire.to_string(p.default)
    return wire.drop_none(out)


def _platforms(document: Any) -> list[str]:
    if document.kind == "Automation":
        return ["Windows", "Linux", "MacOS"]
    text = json.dumps(document.data)
    found = []
    if "aws:runShellScript" in text or "runShellScript" in text:
        found += ["Linux", "MacOS"]
    if "aws:runPowerShellScript" in text or "runPowerShellScript" in text:
        found.insert(0, "Windows")
    return found or ["Windows", "Linux", "MacOS"]


def _library_type(text: str) -> str:
    kind = documents.load(text).kind
    return kind if kind in ("Command", "Automation") else "Command"


def _format_of(name: str) -> str:
    found = library.path(name)
    return "YAML" if found is not None and found.suffix == ".yaml" else "JSON"


def _article(word: str) -> str:
    """``a`` or ``an`` before ``word`` (by its first letter, enough for document kinds)."""
    return "an" if word[:1].lower() in "aeiou" else "a"

"""``ssm-local docs ...``: the document registry from the command line.

``create``, ``update``, ``get``, ``describe``, ``list``, ``delete``, ``versions`` and
``set-default`` map to CreateDocument, UpdateDocument, GetDocument, DescribeDocument,
ListDocuments, DeleteDocument, ListDocumentVersions and UpdateDocumentDefaultVersion. Content
comes from a file (``-`` for standard input); the format is taken from the file's suffix unless
``--document-format`` says otherwise (``--format`` is its deprecated spelling). ``--output
json|yaml|text|table`` prints AWS's response shape, ``--query`` filters it; ``--db`` picks the
store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ssm_local.engine.cli import EXIT_OK, UsageError
from ssm_local.engine.cli.common import open_engine
from ssm_local.engine.cli.output import deprecated, emit
from ssm_local.engine.cli.param import add_store_options, parse_tags

OPERATION = {"create": "CreateDocument", "update": "UpdateDocument"}
"""The API operation of each subcommand that prints a DocumentDescription (a table's title)."""

TYPES = ("Command", "Automation", "Policy", "Session", "Package", "ChangeCalendar",
         "Automation.ChangeTemplate", "ApplicationConfiguration",
         "ApplicationConfigurationSchema", "DeploymentStrategy", "ProblemAnalysis",
         "ProblemAnalysisTemplate", "CloudFormation", "ConformancePackTemplate", "QuickSetup",
         "ManualApprovalPolicy", "AutoApprovalPolicy")


def _content(path: str, fmt: str | None) -> tuple[str, str]:
    from ssm_local.documents.loader import read_document_file, read_document_stream

    if path == "-":
        return _decode(read_document_stream(sys.stdin.buffer), path), fmt or "JSON"
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such file: {path}")
    suffix = file.suffix.lower()
    guessed = "YAML" if suffix in (".yaml", ".yml") else "TEXT" if suffix in (".ics", ".txt") else "JSON"
    try:
        data = read_document_file(file)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    return _decode(data, path), fmt or guessed


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not UTF-8 text (invalid byte at offset {exc.start})") from None


def add_document_format(parser: argparse.ArgumentParser) -> None:
    """``--document-format JSON|YAML|TEXT`` (AWS's name) and its deprecated ``--format``."""
    parser.add_argument("--document-format", choices=("JSON", "YAML", "TEXT"),
                        help="the document's format (default: from the file's suffix; get: as "
                             "stored)")
    parser.add_argument("--format", dest="document_format", choices=("JSON", "YAML", "TEXT"),
                        help=argparse.SUPPRESS, action=deprecated("--document-format"))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docs = sub.add_parser("docs", help="the document registry: create, update, list documents",
                          description="SSM documents and their versions in the local store.")
    cmds = docs.add_subparsers(dest="docs_command", metavar="COMMAND")
    cmds.required = True

    create = cmds.add_parser("create", help="register a new document (CreateDocument)")
    create.add_argument("name")
    create.add_argument("file", help="the content: a JSON, YAML or TEXT file, or '-'")
    create.add_argument("--type", default="Command", choices=TYPES, dest="document_type")
    add_document_format(create)
    create.add_argument("--version-name")
    create.add_argument("--target-type")
    create.add_argument("--display-name")
    create.add_argument("--tags", nargs="+", metavar="KEY=VALUE")
    add_store_options(create)
    create.set_defaults(func=run_create)

    update = cmds.add_parser("update", help="add a version (UpdateDocument)")
    update.add_argument("name")
    update.add_argument("file")
    add_document_format(update)
    update.add_argument("--document-version", help="must be the latest version or $LATEST")
    update.add_argument("--version-name")
    update.add_argument("--target-type")
    update.add_argument("--display-name")
    add_store_options(update)
    update.set_defaults(func=run_update)

    for command, helptext, func in (
        ("get", "print a document's content (GetDocument)", run_get),
        ("describe", "a document's description (DescribeDocument)", run_describe),
    ):
        parser = cmds.add_parser(command, help=helptext)
        parser.add_argument("name")
        parser.add_argument("--document-version", help="a number, $LATEST or $DEFAULT")
        parser.add_argument("--version-name")
        if command == "get":
            add_document_format(parser)
        add_store_options(parser)
        parser.set_defaults(func=func)

    listing = cmds.add_parser("list", help="list documents (ListDocuments)")
    listing.add_argument("--owner", choices=("Self", "Amazon", "All"))
    listing.add_argument("--type", dest="document_type", choices=TYPES)
    listing.add_argument("--name-prefix")
    add_store_options(listing)
    listing.set_defaults(func=run_list)

    delete = cmds.add_parser("delete", help="delete a document or one version (DeleteDocument)")
    delete.add_argument("name")
    delete.add_argument("--document-version")
    delete.add_argument("--version-name")
    add_store_options(delete)
    delete.set_defaults(func=run_delete)

    versions = cmds.add_parser("versions", help="a document's versions (ListDocumentVersions)")
    versions.add_argument("name")
    add_store_options(versions)
    versions.set_defaults(func=run_versions)

    default = cmds.add_parser("set-default", help="choose the default version "
                                                  "(UpdateDocumentDefaultVersion)")
    default.add_argument("name")
    default.add_argument("document_version", metavar="VERSION")
    add_store_options(default)
    default.set_defaults(func=run_set_default)


def _describe_text(desc: dict[str, Any]) -> None:
    print(f"{desc['Name']}  version {desc['DocumentVersion']} (latest {desc['LatestVersion']}, "
          f"default {desc['DefaultVersion']})  {desc['DocumentType']}  {desc['DocumentFormat']}"
          f"  owner {desc['Owner']}")
    if desc.get("Description"):
        print(f"  {desc['Description']}")
    for p in desc.get("Parameters", []):
        default = f" = {p['DefaultValue']!r}" if "DefaultValue" in p else ""
        print(f"  {p['Name']} ({p['Type']}){default}")


def run_create(args: argparse.Namespace) -> int:
    content, fmt = _content(args.file, args.document_format)
    with open_engine(args) as engine:
        desc = engine.documents.create_document(
            content, args.name, document_type=args.document_type, document_format=fmt,
            version_name=args.version_name, target_type=args.target_type,
            display_name=args.display_name, tags=parse_tags(args.tags),
        )
    emit(args, {"DocumentDescription": desc}, OPERATION[args.docs_command],
         lambda: _describe_text(desc))
    return EXIT_OK


def run_update(args: argparse.Namespace) -> int:
    content, fmt = _content(args.file, args.document_format)
    with open_engine(args) as engine:
        desc = engine.documents.update_document(
            content, args.name, document_version=args.document_version, document_format=fmt,
            version_name=args.version_name, target_type=args.target_type,
            display_name=args.display_name,
        )
    emit(args, {"DocumentDescription": desc}, OPERATION[args.docs_command],
         lambda: _describe_text(desc))
    return EXIT_OK


def run_get(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        doc = engine.documents.get_document(args.name, document_version=args.document_version,
                                            version_name=args.version_name,
                                            document_format=args.document_format)
    emit(args, doc, "GetDocument", lambda: sys.stdout.write(
        doc["Content"] if doc["Content"].endswith("\n") else doc["Content"] + "\n"))
    return EXIT_OK


def run_describe(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        desc = engine.documents.describe_document(args.name, document_version=args.document_version,
                                                  version_name=args.version_name)
    emit(args, {"Document": desc}, "DescribeDocument", lambda: _describe_text(desc))
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    filters = []
    if args.owner:
        filters.append({"Key": "Owner", "Values": [args.owner]})
    if args.document_type:
        filters.append({"Key": "DocumentType", "Values": [args.document_type]})
    if args.name_prefix:
        filters.append({"Key": "Name", "Values": [args.name_prefix]})
    items: list[dict[str, Any]] = []
    token = None
    with open_engine(args) as engine:
        while True:
            page = engine.documents.list_documents(filters=filters, next_token=token)
            items.extend(page["DocumentIdentifiers"])
            token = page.get("NextToken")
            if token is None:
                break

    def readable() -> None:
        for d in items:
            print(f"{d['Name']:<40} {d['DocumentType']:<12} v{d['DocumentVersion']:<4} {d['Owner']}")

    emit(args, {"DocumentIdentifiers": items}, "ListDocuments", readable)
    return EXIT_OK


def run_delete(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        engine.documents.delete_document(args.name, document_version=args.document_version,
                                         version_name=args.version_name)
    which = f" version {args.document_version or args.version_name}" if (
        args.document_version or args.version_name) else ""
    emit(args, {}, "DeleteDocument", lambda: print(f"deleted {args.name}{which}"))
    return EXIT_OK


def run_versions(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        result = engine.documents.list_document_versions(args.name)

    def readable() -> None:
        for v in result["DocumentVersions"]:
            mark = " (default)" if v["IsDefaultVersion"] else ""
            name = f" {v['VersionName']}" if v.get("VersionName") else ""
            print(f"{v['DocumentVersion']}{name}  {v['CreatedDate']:%Y-%m-%d %H:%M:%S}  "
                  f"{v['DocumentFormat']}{mark}")

    emit(args, result, "ListDocumentVersions", readable)
    return EXIT_OK


def run_set_default(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        result = engine.documents.update_document_default_version(args.name, args.document_version)
    emit(args, result, "UpdateDocumentDefaultVersion", lambda: print(
        f"{args.name}: default version is now {result['Description']['DefaultVersion']}"))
    return EXIT_OK

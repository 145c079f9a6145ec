"""``ssm-local param ...``: Parameter Store from the command line.

``put``, ``get`` (GetParameters), ``get-parameter``, ``get-by-path``, ``describe``, ``history``,
``label``, ``unlabel``, ``delete`` and ``tags``, each the AWS API call of that name.
``--output json|yaml|text|table`` prints the response in AWS's shape (timestamps as ISO 8601, as
the AWS CLI shows them; listing commands follow NextToken to the end unless ``--max-results`` asks
for one page), ``--query`` filters it; the default output is readable text. As with the AWS CLI,
a request that succeeds with some names refused (GetParameters' ``InvalidParameters``,
DeleteParameters', LabelParameterVersion's ``InvalidLabels``) exits 0 and names them on standard
error; a request that fails (GetParameter or DeleteParameter of a missing name) exits 1.
``--db URL`` (or ``SSM_LOCAL_DB``) picks the store. A value given as ``-`` is read from standard
input (one final newline dropped) and ``file://PATH`` reads the file's text whole, as the AWS
CLI does, so that secrets stay out of ``ps`` and shell history.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ssm_local.engine.cli import EXIT_OK, UsageError
from ssm_local.engine.cli.common import open_engine
from ssm_local.engine.cli.output import add_output_options, deprecated, emit


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """``--db``, ``--output`` and ``--query``, shared by the Parameter Store and registry
    commands; ``--json`` is the deprecated spelling of ``--output json``."""
    parser.add_argument("--db", metavar="URL",
                        help="store URL (sqlite:///PATH or postgresql://...); default "
                             "$SSM_LOCAL_DB, else $SSM_LOCAL_HOME/store.db")
    add_output_options(parser)
    parser.add_argument("--json", dest="output", nargs=0, help=argparse.SUPPRESS,
                        action=deprecated("--output json", "json"))


def parse_filters(items: list[str] | None) -> list[dict[str, Any]]:
    """``Key=Type,Option=Equals,Values=String,SecureString`` (AWS CLI shorthand) -> dicts."""
    out: list[dict[str, Any]] = []
    for item in items or []:
        entry: dict[str, Any] = {}
        current = None
        for part in item.split(","):
            key, sep, value = part.partition("=")
            if sep and key in ("Key", "Option", "Values"):
                current = key
                entry[key] = [value] if key == "Values" else value
            elif current == "Values":
                entry["Values"].append(part)
            else:
                raise UsageError(f"cannot read filter {item!r}: use Key=K,Option=O,Values=V1,V2")
        if "Key" not in entry:
            raise UsageError(f"filter {item!r} has no Key=")
        out.append(entry)
    return out


def parse_tags(items: list[str] | None) -> list[dict[str, str]]:
    """``KEY=VALUE`` or ``Key=K,Value=V`` -> AWS tag dicts."""
    tags = []
    for item in items or []:
        if item.startswith("Key="):
            fields = dict(part.partition("=")[::2] for part in item.split(","))
            tags.append({"Key": fields.get("Key", ""), "Value": fields.get("Value", "")})
        else:
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"cannot read tag {item!r}: use KEY=VALUE")
            tags.append({"Key": key, "Value": value})
    return tags


def all_pages(fetch: Callable[[str | None], Any], max_results: int | None,
              next_token: str | None) -> tuple[list[Any], str | None]:
    """One page when asked for one, else every page."""
    if max_results is not None or next_token is not None:
        page = fetch(next_token)
        return list(page.items), page.next_token
    items: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        items.extend(page.items)
        token = page.next_token
        if token is None:
            return items, None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    param = sub.add_parser("param", help="Parameter Store: put, get, list, label and delete parameters",
                           description="Parameter Store with AWS's semantics, on the local store.")
    cmds = param.add_subparsers(dest="param_command", metavar="COMMAND")
    cmds.required = True

    put = cmds.add_parser("put", help="create a parameter or add a version (PutParameter)")
    put.add_argument("name")
    put.add_argument("value", help="the value; '-' reads it from standard input (one final newline "
                                   "dropped), file://PATH from a file (kept as written); use either "
                                   "for a SecureString, so the secret stays out of ps")
    put.add_argument("--type", choices=("String", "StringList", "SecureString"))
    put.add_argument("--description")
    put.add_argument("--key-id")
    put.add_argument("--overwrite", action="store_true")
    put.add_argument("--allowed-pattern")
    put.add_argument("--tags", nargs="+", metavar="KEY=VALUE")
    put.add_argument("--tier", choices=("Standard", "Advanced", "Intelligent-Tiering"))
    put.add_argument("--policies", help="the Policies JSON array")
    put.add_argument("--data-type", choices=("text", "aws:ec2:image"))
    add_store_options(put)
    put.set_defaults(func=run_put)

    get = cmds.add_parser("get", help="read parameters: NAME, NAME:VERSION or NAME:LABEL "
                                      "(GetParameters: a missing name is listed in "
                                      "InvalidParameters, exit code 0)")
    get.add_argument("names", nargs="+", metavar="NAME")
    get.add_argument("--with-decryption", action="store_true")
    add_store_options(get)
    get.set_defaults(func=run_get)

    one = cmds.add_parser("get-parameter", help="read one parameter (GetParameter: a missing "
                                                "name is ParameterNotFound, exit code 1)")
    one.add_argument("name", metavar="NAME")
    one.add_argument("--with-decryption", action="store_true")
    add_store_options(one)
    one.set_defaults(func=run_get_parameter)

    by_path = cmds.add_parser("get-by-path", help="parameters under a path (GetParametersByPath)")
    by_path.add_argument("path")
    by_path.add_argument("--recursive", action="store_true")
    by_path.add_argument("--with-decryption", action="store_true")
    by_path.add_argument("--filters", nargs="+", metavar="Key=K,Values=V")
    by_path.add_argument("--max-results", type=int)
    by_path.add_argument("--next-token")
    add_store_options(by_path)
    by_path.set_defaults(func=run_get_by_path)

    describe = cmds.add_parser("describe", help="parameter metadata (DescribeParameters)")
    describe.add_argument("--filters", nargs="+", metavar="Key=K,Option=O,Values=V",
                          help="ParameterFilters, e.g. Key=Path,Option=Recursive,Values=/app")
    describe.add_argument("--max-results", type=int)
    describe.add_argument("--next-token")
    add_store_options(describe)
    describe.set_defaults(func=run_describe)

    history = cmds.add_parser("history", help="every version of a parameter (GetParameterHistory)")
    history.add_argument("name")
    history.add_argument("--with-decryption", action="store_true")
    history.add_argument("--max-results", type=int)
    history.add_argument("--next-token")
    add_store_options(history)
    history.set_defaults(func=run_history)

    label = cmds.add_parser("label", help="attach labels to a version (LabelParameterVersion)")
    label.add_argument("name")
    label.add_argument("labels", nargs="+", metavar="LABEL")
    label.add_argument("--version", type=int, help="default: the newest version")
    add_store_options(label)
    label.set_defaults(func=run_label)

    unlabel = cmds.add_parser("unlabel", help="remove labels from a version (UnlabelParameterVersion)")
    unlabel.add_argument("name")
    unlabel.add_argument("labels", nargs="+", metavar="LABEL")
    unlabel.add_argument("--version", type=int, required=True)
    add_store_options(unlabel)
    unlabel.set_defaults(func=run_unlabel)

    delete = cmds.add_parser("delete", help="delete parameters (DeleteParameter / DeleteParameters)")
    delete.add_argument("names", nargs="+", metavar="NAME")
    add_store_options(delete)
    delete.set_defaults(func=run_delete)

    tags = cmds.add_parser("tags", help="list, add or remove a parameter's tags")
    tags.add_argument("name")
    tags.add_argument("--add", nargs="+", metavar="KEY=VALUE")
    tags.add_argument("--remove", nargs="+", metavar="KEY")
    add_store_options(tags)
    tags.set_defaults(func=run_tags)


MAX_VALUE_FILE = 1024 * 1024
"""The most characters ``-`` or ``file://`` reads for a value (the service's own limit is 8 KB)."""


def read_value_arg(arg: str) -> str:
    """The parameter value an argument names: ``-`` is standard input with one final newline
    (``\n`` or ``\r\n``) dropped; ``file://PATH`` is the file's text, read as the AWS CLI reads
    it (``~`` and ``$VAR`` expanded, UTF-8, line endings as Python's text mode gives them, every
    other character kept, a final newline too); ``fileb://`` is refused (binary content, where
    the API takes text); anything else is the value itself (``https://...`` included: the AWS
    CLI v2 does not fetch URLs). Raises ``UsageError`` when the file or stdin cannot be read,
    is not UTF-8 or holds more than ``MAX_VALUE_FILE`` characters."""
    if arg == "-":
        try:
            text = sys.stdin.read(MAX_VALUE_FILE + 1)
        except UnicodeDecodeError:
            raise UsageError("Error parsing parameter 'VALUE': standard input is not UTF-8 text"
                             ) from None
        _check_size(text, "standard input")
        return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if arg.startswith("fileb://"):
        raise UsageError("Error parsing parameter 'VALUE': fileb:// gives binary content and a "
                         "parameter value is text; use file://")
    if not arg.startswith("file://"):
        return arg
    path = os.path.expandvars(os.path.expanduser(arg[len("file://"):]))
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_VALUE_FILE + 1)
    except UnicodeDecodeError:
        raise UsageError(f"Error parsing parameter 'VALUE': Unable to load paramfile ({path}), "
                         "text contents could not be decoded") from None
    except OSError as exc:
        raise UsageError(f"Error parsing parameter 'VALUE': Unable to load paramfile {arg}: {exc}"
                         ) from None
    _check_size(text, arg)
    return text


def _check_size(text: str, source: str) -> None:
    if len(text) > MAX_VALUE_FILE:
        raise UsageError(f"Error parsing parameter 'VALUE': {source} holds more than "
                         f"{MAX_VALUE_FILE} characters")


def run_put(args: argparse.Namespace) -> int:
    value = read_value_arg(args.value)
    with open_engine(args) as engine:
        result = engine.parameters.put_parameter(
            args.name, value, type=args.type, description=args.description, key_id=args.key_id,
            overwrite=args.overwrite, allowed_pattern=args.allowed_pattern,
            tags=parse_tags(args.tags), tier=args.tier, policies=args.policies,
            data_type=args.data_type,
        )
    emit(args, result.to_api(), "PutParameter",
         lambda: print(f"{args.name.strip()}: version {result.version} ({result.tier})"))
    return EXIT_OK


def run_get(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        result = engine.parameters.get_parameters(args.names, with_decryption=args.with_decryption)

    def readable() -> None:
        if len(args.names) == 1 and result.parameters:
            print(result.parameters[0].value)
        else:
            for p in result.parameters:
                print(f"{p.name}{p.selector or ''}\t{p.value}")
        for missing in result.invalid_parameters:
            print(f"ssm-local: InvalidParameters: {missing}", file=sys.stderr)

    emit(args, result.to_api(), "GetParameters", readable)
    return EXIT_OK


def run_get_parameter(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        found = engine.parameters.get_parameter(args.name, with_decryption=args.with_decryption)
    emit(args, {"Parameter": found.to_api()}, "GetParameter", lambda: print(found.value))
    return EXIT_OK


def run_get_by_path(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        items, token = all_pages(
            lambda t: engine.parameters.get_parameters_by_path(
                args.path, recursive=args.recursive, with_decryption=args.with_decryption,
                parameter_filters=parse_filters(args.filters) or None,
                max_results=args.max_results, next_token=t,
            ),
            args.max_results, args.next_token,
        )

    def readable() -> None:
        for p in items:
            print(f"{p.name}\t{p.type}\tv{p.version}\t{p.value}")

    emit(args, {"Parameters": [p.to_api() for p in items], **({"NextToken": token} if token else {})},
         "GetParametersByPath", readable)
    return EXIT_OK


def run_describe(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        items, token = all_pages(
            lambda t: engine.parameters.describe_parameters(
                parameter_filters=parse_filters(args.filters) or None,
                max_results=args.max_results, next_token=t,
            ),
            args.max_results, args.next_token,
        )
    rows = [("NAME", "TYPE", "TIER", "VERSION", "LAST MODIFIED")]
    rows += [(m.name, m.type, m.tier, str(m.version),
              m.last_modified_date.strftime("%Y-%m-%d %H:%M:%S")) for m in items]
    emit(args, {"Parameters": [m.to_api() for m in items], **({"NextToken": token} if token else {})},
         "DescribeParameters", lambda: _table(rows))
    return EXIT_OK


def run_history(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        items, token = all_pages(
            lambda t: engine.parameters.get_parameter_history(
                args.name, with_decryption=args.with_decryption,
                max_results=args.max_results, next_token=t,
            ),
            args.max_results, args.next_token,
        )
    rows = [("VERSION", "LAST MODIFIED", "LABELS", "VALUE")]
    rows += [(str(h.version), h.last_modified_date.strftime("%Y-%m-%d %H:%M:%S"),
              ",".join(h.labels) or "-", h.value) for h in items]
    emit(args, {"Parameters": [h.to_api() for h in items], **({"NextToken": token} if token else {})},
         "GetParameterHistory", lambda: _table(rows))
    return EXIT_OK


def run_label(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        result = engine.parameters.label_parameter_version(args.name, args.labels, args.version)

    def readable() -> None:
        good = [lab for lab in args.labels if lab not in result.invalid_labels]
        if good:
            print(f"{args.name}: version {result.parameter_version} labelled {', '.join(good)}")
        for bad in result.invalid_labels:
            print(f"ssm-local: invalid label (not attached): {bad}", file=sys.stderr)

    emit(args, result.to_api(), "LabelParameterVersion", readable)
    return EXIT_OK


def run_unlabel(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        result = engine.parameters.unlabel_parameter_version(args.name, args.version, args.labels)

    def readable() -> None:
        if result.removed_labels:
            print(f"{args.name}: removed {', '.join(result.removed_labels)} from version {args.version}")
        for bad in result.invalid_labels:
            print(f"ssm-local: version {args.version} has no label {bad}", file=sys.stderr)

    emit(args, result.to_api(), "UnlabelParameterVersion", readable)
    return EXIT_OK


def run_delete(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        if len(args.names) == 1:
            engine.parameters.delete_parameter(args.names[0])
            deleted, invalid = [args.names[0]], []
        else:
            result = engine.parameters.delete_parameters(args.names)
            deleted, invalid = list(result.deleted_parameters), list(result.invalid_parameters)

    def readable() -> None:
        for name in deleted:
            print(f"deleted {name}")

    emit(args, {"DeletedParameters": deleted, "InvalidParameters": invalid}
         if len(args.names) > 1 else {},
         "DeleteParameters" if len(args.names) > 1 else "DeleteParameter", readable)
    for name in invalid:
        print(f"ssm-local: ParameterNotFound: {name}", file=sys.stderr)
    return EXIT_OK


def run_tags(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        ps = engine.parameters
        if args.add:
            ps.add_tags_to_resource(args.name, parse_tags(args.add))
        if args.remove:
            ps.remove_tags_from_resource(args.name, args.remove)
        tags = ps.list_tags_for_resource(args.name)

    def readable() -> None:
        for tag in tags:
            print(f"{tag['Key']}={tag['Value']}")

    emit(args, {"TagList": tags}, "ListTagsForResource", readable)
    return EXIT_OK


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

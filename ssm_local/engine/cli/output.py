"""One output vocabulary for every command, as the AWS CLI has it: ``--output``, ``--query``,
``--cli-input-json``.

``add_output_options(parser)`` gives a command ``--output json|yaml|text|table`` and ``--query
JMESPATH``; ``emit(args, response, operation, readable)`` prints a response: without ``--output``
(and without ``--query``) the command's readable form, else the response in AWS's shape, filtered
by the JMESPath expression and rendered as the AWS CLI renders it (``json``: indented JSON;
``yaml``; ``text``: tab-separated values of the leaves, one line per object, the key of a nested
list or object in capitals in front of its lines; ``table``: a boxed table titled with the
operation's name). Timestamps print as ISO 8601 (``wire.iso8601``) in every form.
``add_cli_input_json(parser, names)`` accepts ``--cli-input-json`` (a JSON object, or
``file://PATH``) in the operation's request names, mapped to the command's options by ``names``;
``apply_cli_input_json(args)`` merges it, the command line winning, as the AWS CLI does.
``deprecated(...)`` is the action of a hidden old flag: it sets its new flag's value and prints one
deprecation line on standard error. Heavy imports (``jmespath``, ``yaml``) happen inside the
functions that need them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

OUTPUTS = ("json", "yaml", "text", "table")
"""The values of ``--output``, the AWS CLI's."""

TABLE_WIDTH = 120
"""The widest a ``table`` row may be before a record's columns turn into key/value rows, when
standard output is not a terminal (on a terminal: its width)."""


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--output`` and ``--query`` on one command's parser."""
    parser.add_argument("--output", choices=OUTPUTS, default=None,
                        help="json, yaml, text (tab-separated) or table, in the shape of AWS's "
                             "API; default: a readable summary")
    parser.add_argument("--query", metavar="JMESPATH",
                        help="a JMESPath expression applied to the response (implies --output "
                             "json unless --output is given)")


def add_cli_input_json(parser: argparse.ArgumentParser, names: Mapping[str, str],
                       operations: Sequence[str] = ()) -> None:
    """``--cli-input-json`` on one command's parser. ``names`` maps each request member AWS
    names (``DocumentName``) to the ``argparse`` destination it sets (``document``);
    ``operations`` are the SSM API operations whose request shapes (botocore's model, as the AWS
    CLI checks them) give each member's type."""
    parser.add_argument("--cli-input-json", metavar="JSON",
                        help="the options as a JSON object in AWS's request names ("
                             + ", ".join(names) + "), or file://PATH; the command line wins")
    parser.set_defaults(cli_input_names=dict(names), cli_input_operations=tuple(operations))


def deprecated(replacement: str, value: Any = None,
               mapping: Mapping[str, Any] | None = None) -> type[argparse.Action]:
    """The action of a hidden old flag (``help=argparse.SUPPRESS``): stores ``value``, else the
    given value through ``mapping`` (when given), else the given value, and prints
    ``ssm-local: warning: FLAG is deprecated; use REPLACEMENT`` on standard error."""

    class Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: Any, option_string: str | None = None) -> None:
            print(f"ssm-local: warning: {option_string} is deprecated; use {replacement}",
                  file=sys.stderr)
            if value is not None:
                values = value
            elif mapping is not None:
                values = mapping[values]
            setattr(namespace, self.dest, values)

    return Deprecated


def apply_cli_input_json(args: argparse.Namespace) -> None:
    """Merge ``--cli-input-json`` into ``args``: each member sets its option unless the command
    line gave it. An unknown member, or text that is not a JSON object, is a ``UsageError``."""
    from ssm_local.engine.cli import UsageError

    text = getattr(args, "cli_input_json", None)
    if not text:
        return
    if text.startswith("file://"):
        try:
            with open(text[len("file://"):], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UsageError(f"--cli-input-json: {text[len('file://'):]}: "
                             f"{exc.strerror or exc}") from None
    from ssm_local.engine.cli.common import json_object_flag

    loaded = json_object_flag(text, "--cli-input-json", "of request members")
    names: dict[str, str] = getattr(args, "cli_input_names", {})
    for member in loaded:
        if member not in names:
            raise UsageError(f"--cli-input-json: unknown member {member!r}; this command takes "
                             + ", ".join(names))
    problems = _type_problems(loaded, getattr(args, "cli_input_operations", ()))
    if problems:
        raise UsageError("--cli-input-json: " + "; ".join(problems))
    for member, value in loaded.items():
        dest = names[member]
        if getattr(args, dest, None) in (None, [], False, ""):
            setattr(args, dest, value)


def _type_problems(members: Mapping[str, Any], operations: Sequence[str]) -> list[str]:
    """Each member checked against the first of ``operations`` whose request has it, with
    botocore's ``ParamValidator`` (the AWS CLI's own check): ``Invalid type for parameter
    TimeoutSeconds, value: abc, ...``. Missing required members are the command's business."""
    if not operations:
        return []
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ssm")
    problems: list[str] = []
    claimed: set[str] = set()
    for operation in operations:
        shape = model.operation_model(operation).input_shape
        given = {name: value for name, value in members.items()
                 if name in shape.members and name not in claimed}
        claimed |= set(given)
        report = ParamValidator().validate(given, shape)
        if report.has_errors():
            problems += [line for line in report.generate_report().splitlines()
                         if line and not line.startswith("Missing required parameter")]
    return problems


def plain(data: Any) -> Any:
    """``data`` with every ``datetime`` as ISO 8601 text and tuples as lists: what JMESPath,
    YAML and the text renderers see."""
    from ssm_local.engine import wire

    if isinstance(data, Mapping):
        return {str(key): plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    if isinstance(data, datetime):
        return wire.iso8601(data)
    return data


def output_form(args: argparse.Namespace) -> str | None:
    """The ``--output`` asked for; ``json`` when only ``--query`` was given; None for the
    readable form."""
    form: str | None = getattr(args, "output", None)
    if form is None and getattr(args, "query", None):
        return "json"
    return form


def emit(args: argparse.Namespace, response: Any, operation: str,
         readable: Callable[[], object] | None = None) -> None:
    """Print ``response`` as ``args`` asks: ``readable()`` when no ``--output``/``--query`` was
    given (JSON when there is no readable form), else the rendered response.

    ``operation`` titles a table (``GetParameters``). A ``--query`` that is not JMESPath is a
    ``UsageError``."""
    form = output_form(args)
    if form is None and readable is not None:
        readable()
        return
    data = plain(response)
    query = getattr(args, "query", None)
    if query:
        data = search(query, data)
    render(form or "json", data, operation, sys.stdout)


def search(query: str, data: Any) -> Any:
    """``jmespath.search(query, data)``; a bad expression is a ``UsageError``."""
    import jmespath
    from jmespath import exceptions

    from ssm_local.engine.cli import UsageError

    try:
        return jmespath.search(query, data)
    except exceptions.JMESPathError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--query: {message}") from None


def render(form: str, data: Any, operation: str, stream: TextIO) -> None:
    """Write plain ``data`` (see ``plain``) to ``stream`` in ``form``."""
    if form == "json":
        json.dump(data, stream, indent=4, ensure_ascii=False)
        stream.write("\n")
    elif form == "yaml":
        import yaml

        if data is not None:
            stream.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                        default_flow_style=False))
    elif form == "text":
        if data is not None:
            _text(data, stream)
    else:
        if data is not None:
            stream.write(table(data, operation, _table_width()))


# -- text: the AWS CLI's tab-separated form ----------------------------------------------------

def _scalar(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _text(item: Any, stream: TextIO, identifier: str | None = None,
          scalar_keys: list[str] | None = None) -> None:
    if isinstance(item, dict):
        scalars, nested = _partition(item, scalar_keys)
        if scalars:
            stream.write("\t".join(([identifier.upper()] if identifier else []) + scalars) + "\n")
        for key, value in nested:
            _text(value, stream, key)
    elif isinstance(item, list):
        if not item:
            return
        if any(isinstance(element, dict) for element in item):
            keys = sorted({key for element in item if isinstance(element, dict)
                           for key, value in element.items() if _is_scalar(value)})
            for element in item:
                _text(element, stream, identifier, keys)
            return
        scalars = [element for element in item if _is_scalar(element)]
        if scalars:
            if identifier:
                for element in scalars:
                    stream.write(f"{identifier.upper()}\t{_scalar(element)}\n")
            else:
                stream.write("\t".join(_scalar(element) for element in scalars) + "\n")
        for element in item:
            if not _is_scalar(element):
                _text(element, stream, identifier)
    else:
        stream.write(_scalar(item) + "\n")


def _partition(item: dict[str, Any],
               scalar_keys: list[str] | None) -> tuple[list[str], list[tuple[str, Any]]]:
    if scalar_keys is None:
        scalars = [_scalar(value) for _, value in sorted(item.items()) if _is_scalar(value)]
        nested = [(key, value) for key, value in sorted(item.items()) if not _is_scalar(value)]
        return scalars, nested
    values = [_scalar(item.get(key, "")) for key in scalar_keys]
    rest = sorted(set(item) - set(scalar_keys))
    return values, [(key, item[key]) for key in rest]


# -- table: the AWS CLI's boxed form -----------------------------------------------------------

def _table_width() -> int:
    return shutil.get_terminal_size((TABLE_WIDTH, 24)).columns if sys.stdout.isatty() else TABLE_WIDTH


class _Section:
    """One titled box: a header row (or none) and rows of cells, ``depth`` boxes deep."""

    def __init__(self, depth: int, title: str, header: Sequence[str], rows: list[list[str]]) -> None:
        self.depth = depth
        self.title = title
        self.header = list(header)
        self.rows = rows

    def columns(self) -> list[int]:
        lines = ([self.header] if self.header else []) + self.rows
        if not lines:
            return []
        return [max(len(line[i]) for line in lines) + 4 for i in range(len(lines[0]))]

    def width(self) -> int:
        cols = self.columns()
        inner = sum(cols) + max(len(cols) - 1, 0)
        return max(inner, len(self.title) + 4) + 2 + 2 * self.depth


def table(data: Any, title: str, width: int = TABLE_WIDTH) -> str:
    """``data`` as the AWS CLI's ``--output table``: a box titled ``title``; an object's scalar
    members as one row under a header of their names (as key/value rows when that row would be
    wider than ``width``), a list of objects as one row each, a nested object or list as a box
    inside, titled with its key."""
    sections: list[_Section] = []
    _sections(data, title, 0, sections, width)
    total = max(section.width() for section in sections)
    out: list[str] = []
    for index, section in enumerate(sections):
        pad = "|" * section.depth
        inner = total - 2 * section.depth - 2
        if index == 0:
            out.append("-" * total)
        else:
            out.append(pad + "+" + "-" * inner + "+" + pad)
        out.append(pad + "|" + section.title.center(inner) + "|" + pad)
        cols = section.columns()
        if not cols:
            continue
        cols[-1] += inner - (sum(cols) + len(cols) - 1)
        rule = pad + "+" + "+".join("-" * c for c in cols) + "+" + pad
        out.append(rule)
        if section.header:
            out.append(pad + "|" + "|".join(h.center(c) for h, c in zip(section.header, cols,
                                                                         strict=True)) + "|" + pad)
            out.append(rule)
        for row in section.rows:
            out.append(pad + "|" + "|".join(("  " + cell).ljust(c) for cell, c in zip(row, cols,
                                                                                       strict=True))
                       + "|" + pad)
        out.append(rule)
    return "\n".join(out) + "\n"


def _sections(data: Any, title: str, depth: int, out: list[_Section], width: int) -> None:
    if isinstance(data, dict):
        scalars = [(key, _scalar(value)) for key, value in data.items() if _is_scalar(value)]
        section = _Section(depth, title, [key for key, _ in scalars], [[v for _, v in scalars]])
        if not scalars:
            section = _Section(depth, title, [], [])
        elif section.width() > width:
            section = _Section(depth, title, [], [[key, value] for key, value in scalars])
        out.append(section)
        for key, value in data.items():
            if not _is_scalar(value):
                _sections(value, key, depth + 1, out, width)
    elif isinstance(data, list):
        records = [item for item in data if isinstance(item, dict)]
        if records:
            keys = list(dict.fromkeys(key for item in records for key, value in item.items()
                                      if _is_scalar(value)))
            rows = [[_scalar(item.get(key, "")) for key in keys] for item in records]
            section = _Section(depth, title, keys, rows) if keys else _Section(depth, title, [], [])
            if keys and section.width() > width:
                for item in records:
                    _sections(item, title, depth, out, width)
                return
            out.append(section)
            for item in records:
                for key, value in item.items():
                    if not _is_scalar(value):
                        _sections(value, key, depth + 1, out, width)
        cells = [[_scalar(item)] for item in data if _is_scalar(item)]
        if cells or not records:
            out.append(_Section(depth, title, [], cells))
        for item in data:
            if isinstance(item, list):
                _sections(item, title, depth + 1, out, width)
    else:
        out.append(_Section(depth, title, [], [[_scalar(data)]]))

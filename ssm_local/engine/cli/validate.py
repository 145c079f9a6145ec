"""``ssm-local validate`` and ``ssm-local graph``: offline checks and the step graph of documents.

``validate PATH...`` prints ``file:line:col: severity CODE message`` with the offending line and
a caret, or with ``--output json|yaml|text|table`` one object describing every document
(``{"documents": [{"source", "valid", "kind", "schemaVersion", "diagnostics"}]}``). Directories
are walked for ``*.json``, ``*.yaml`` and ``*.yml``; a bundled document may be named instead of a
path. ``graph DOC`` prints the step graph as Mermaid, Graphviz DOT or plain text
(``--graph-format``), or with ``--output`` as ``{"Steps", "Edges": [{"From", "To", "Kinds",
"Label"}]}``. ``--format`` is the deprecated spelling of both.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ssm_local.engine.cli import EXIT_FAILED, EXIT_OK
from ssm_local.engine.cli.common import expand_paths, read_document_arg
from ssm_local.engine.cli.output import add_output_options, deprecated, emit, output_form

GRAPH_FORMATS = ("mermaid", "dot", "text")

if TYPE_CHECKING:  # the document model (jsonschema, networkx, lark) loads when a command runs
    from ssm_local.documents import Diagnostic, Document


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="check SSM documents offline, with file:line:column diagnostics",
        description=(
            "Check Command (schemaVersion 1.2, 2.0, 2.2) and Automation (0.3) documents "
            "offline. Exit code 0 when every document is valid, 1 when any has an error, 2 for "
            "bad usage. Documents of other kinds (Session, Package, Policy, ...) are reported "
            "as kind Other and not checked further."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="document files, directories (walked for *.json, *.yaml, *.yml), "
                             "'-' for standard input, or a bundled document name")
    add_output_options(parser)
    parser.add_argument("--format", dest="output", choices=("text", "json"),
                        help=argparse.SUPPRESS,
                        action=deprecated("--output json", mapping={"text": None, "json": "json"}))
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="readable output: print only errors and the summary")
    parser.add_argument("--strict", action="store_true",
                        help="also report, as errors, steps whose plugin or action ssm-local "
                             "cannot run (code NotRunnableLocally)")
    parser.set_defaults(func=run_validate)

    graph = sub.add_parser(
        "graph",
        help="print a document's step graph (mermaid, dot or text)",
        description="Print the step graph of a document with labelled edges: next, choice N, "
                    "default, no match, onFailure, onCancel and loop.",
    )
    graph.add_argument("document", metavar="DOC", help="a document file or bundled name")
    graph.add_argument("--graph-format", choices=GRAPH_FORMATS, default="text",
                       help="how the readable output draws the graph (default: text)")
    graph.add_argument("--format", dest="graph_format", choices=GRAPH_FORMATS,
                       help=argparse.SUPPRESS, action=deprecated("--graph-format"))
    add_output_options(graph)
    graph.set_defaults(func=run_graph)


def run_validate(args: argparse.Namespace) -> int:
    from ssm_local import documents

    reports: list[dict[str, Any]] = []
    invalid = 0
    count = 0
    for source, content in expand_paths(args.paths):
        count += 1
        if isinstance(content, bytes):
            document, diagnostics = documents.check(content, source=source)
        else:  # the file could not be read as a document (too large)
            document, diagnostics = None, [documents.Diagnostic(
                content.code, documents.Severity.ERROR, content.message, source, content.line,
                content.column, content.path or "$")]
        if args.strict and document is not None:
            diagnostics = sorted([*diagnostics, *not_runnable(document)],
                                 key=lambda d: (d.line or 0, d.column or 0, d.code))
        valid = not any(d.is_error for d in diagnostics)
        invalid += 0 if valid else 1
        kind = document.kind if document else None
        version = document.schema_version if document else None
        reports.append({
                "source": source,
                "valid": valid,
                "kind": kind,
                "schemaVersion": version,
                "diagnostics": [d.to_json() for d in diagnostics],
            })
        if output_form(args) is not None:
            continue
        text = document.text if document else None
        for diagnostic in diagnostics:
            if args.quiet and not diagnostic.is_error:
                continue
            print(diagnostic.format_text(text))
        if kind == "Other" and not args.quiet:
            print(f"{source}: note: not a Command or Automation document (kind Other, "
                  f"schemaVersion {version}); not checked further")
    word = "document" if count == 1 else "documents"
    emit(args, {"documents": reports}, "Validate",
         lambda: print(f"{count} {word} checked, {count - invalid} valid, {invalid} with errors"))
    return EXIT_FAILED if invalid else EXIT_OK


def not_runnable(document: Document) -> list[Diagnostic]:
    """``--strict``: an error for every step ssm-local has no plugin or action handler for."""
    from ssm_local.documents import Diagnostic, Severity
    from ssm_local.documents.loader import format_path
    from ssm_local.engine.automation.actions import BUILTIN_ACTIONS
    from ssm_local.engine.automation.interpreter import INSTANT_ACTIONS, WAITING_ACTIONS
    from ssm_local.engine.command.plugins import BUILTIN_PLUGINS

    found = []
    for step in document.all_steps():
        if document.kind == "Command":
            runnable = step.action in BUILTIN_PLUGINS
        elif document.kind == "Automation":
            runnable = (step.action in INSTANT_ACTIONS or step.action in WAITING_ACTIONS
                        or step.action in BUILTIN_ACTIONS)
        else:
            continue
        if not runnable:
            what = "plugin" if document.kind == "Command" else "action"
            line, column = document.locator.locate((*step.path, "action"))
            found.append(Diagnostic(
                "NotRunnableLocally", Severity.ERROR,
                f"step '{step.name}': {what} {step.action} is not supported by ssm-local",
                document.source, line, column, format_path((*step.path, "action"))))
    return found


def run_graph(args: argparse.Namespace) -> int:
    from ssm_local import documents
    from ssm_local.documents.graph import to_dot, to_mermaid, to_text

    source, content = read_document_arg(args.document)
    document = documents.load(content, source=source)
    graph = documents.build_graph(document)
    render = {"mermaid": to_mermaid, "dot": to_dot, "text": to_text}[args.graph_format]
    response = {
        "Steps": list(graph.nodes),
        "Edges": [{"From": src, "To": dst, "Kinds": [e.kind for e in data["edges"]],
                   "Label": ", ".join(e.label for e in data["edges"])}
                  for src, dst, data in graph.edges(data=True)],
    }
    emit(args, response, "Graph", lambda: sys.stdout.write(render(graph)))
    return EXIT_OK

"""``ssm-local run DOC|NAME``: send a Command document to nodes and wait for it (SendCommand). DOC is a
file, a registry name (``name[:version]``) or a bundled name. ``-p NAME=VALUE`` sets a parameter
(repeat it to build a StringList; one value for a StringList is a one-item list), ``--parameters-
json`` gives them all as JSON; ``--targets Key=...,Values=...`` (``InstanceIds``, ``tag:NAME``,
``tag-key``; repeatable, all must match) or ``--instance-ids`` choose the nodes (default: this
machine); ``--max-concurrency``, ``--max-errors`` and ``--timeout`` are SendCommand's. While it
runs, standard error shows a live progress line when it is a terminal, and a single node's output
streams as it comes; a per-node summary follows. ``--output json`` prints the Command and its
CommandInvocations with CommandPlugins in AWS's shape. The exit code is 0 when the command
succeeded, 1 otherwise (2 for bad usage). An Automation runbook (schemaVersion 0.3) runs as an
Automation execution instead (``ssm_local.engine.cli.executions.run_runbook``), with ``--mode``,
``--aws-endpoint-url`` and ``--attachments``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from typing import Any

from ssm_local.engine import wire
from ssm_local.engine.cli import EXIT_FAILED, EXIT_OK, UsageError
from ssm_local.engine.cli.commands import command_text
from ssm_local.engine.cli.common import open_engine, print_json
from ssm_local.engine.cli.nodes import add_db_option

PROGRESS_INTERVAL = 0.1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run", help="run a Command document on nodes (SendCommand) and wait for it",
        description="Send a Command document (schemaVersion 1.2, 2.0, 2.2) to nodes with AWS's "
                    "rate control and wait for every invocation, or run an Automation runbook "
                    "(schemaVersion 0.3) as an Automation execution. Exit code 0 when the command "
                    "or execution succeeded, 1 otherwise, 2 for bad usage.")
    parser.add_argument("document", metavar="DOC|NAME",
                        help="a document file, '-' for standard input, a registry name "
                             "(name[:version]) or a bundled name such as AWS-RunShellScript")
    parser.add_argument("-p", "--parameter", action="append", metavar="NAME=VALUE",
                        help="a parameter value; repeat a name to build a list")
    parser.add_argument("--parameters-json", metavar="JSON",
                        help='all parameters as a JSON object, e.g. \'{"commands": ["id"]}\'')
    parser.add_argument("--targets", action="append", metavar="Key=KEY,Values=V1,V2",
                        help="Key=InstanceIds|tag:NAME|tag-key,Values=...; repeatable (all must "
                             "match)")
    parser.add_argument("--instance-ids", metavar="ID,ID", help="node ids (or names), comma-separated")
    parser.add_argument("--max-concurrency", metavar="N|P%",
                        help="invocations in flight at once (default 50)")
    parser.add_argument("--max-errors", metavar="N|P%",
                        help="errors allowed before sending stops (default 0)")
    parser.add_argument("--timeout", type=int, metavar="S",
                        help="seconds each invocation may take, all steps together (30-2592000); "
                             "also the delivery timeout for invocations still waiting to be sent")
    parser.add_argument("--comment", default="", help="a comment stored with the command")
    parser.add_argument("--document-version", metavar="VERSION",
                        help="registry version ($DEFAULT, $LATEST or a number)")
    parser.add_argument("--output", choices=("text", "json"), default="text",
                        help="text (default) or JSON: the Command and its CommandInvocations")
    parser.add_argument("--mode", choices=("Auto", "Interactive"), default="Auto",
                        help="Automation: Auto (default) or Interactive (one step per StartStep "
                             "signal)")
    parser.add_argument("--aws-endpoint-url", metavar="URL",
                        help="Automation: the AWS endpoint for API actions (LocalStack, moto "
                             "server); default: boto3's configuration")
    parser.add_argument("--attachments", metavar="DIR",
                        help="Automation: the directory aws:executeScript Attachments are read "
                             "from")
    add_db_option(parser)
    parser.set_defaults(func=run_command)


def parse_parameters(items: list[str] | None, json_text: str | None) -> dict[str, Any]:
    """``--parameters-json`` first, then ``-p`` values (a repeated name builds a list)."""
    values: dict[str, Any] = {}
    if json_text:
        try:
            loaded = wire.parse_json(json_text)
        except ValueError as exc:
            raise UsageError(f"--parameters-json: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--parameters-json must be a JSON object of names to values")
        values.update(loaded)
    repeated: dict[str, list[str]] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"cannot read parameter {item!r}: use -p NAME=VALUE")
        repeated.setdefault(name, []).append(value)
    for name, given in repeated.items():
        values[name] = given[0] if len(given) == 1 else given
    return values


class _Display:
    """The live progress line on a terminal and the streamed output of a single node."""

    def __init__(self, stream_output: bool, live: bool) -> None:
        self.stream_output = stream_output
        self.live = live
        self._lock = threading.Lock()
        self._line = ""

    def output(self, _node: str, _step: str, stream: str, chunk: bytes) -> None:
        if not self.stream_output:
            return
        with self._lock:
            self._clear()
            target = sys.stdout if stream == "stdout" else sys.stderr
            target.flush()
            target.buffer.write(chunk)
            target.buffer.flush()

    def progress(self, progress: Any) -> None:
        if not self.live:
            return
        line = (f"targets {progress.total}  in flight {progress.in_flight}  "
                f"succeeded {progress.succeeded}  failed {progress.failed}"
                + (f"  not run {progress.cancelled}" if progress.cancelled else ""))
        with self._lock:
            if line != self._line:
                self._line = line
                sys.stderr.write("\r\033[K" + line)
                sys.stderr.flush()

    def _clear(self) -> None:
        if self.live and self._line:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._line = ""

    def finish(self) -> None:
        with self._lock:
            self._clear()


def _document(engine: Any, arg: str, version: str | None) -> Any:
    from ssm_local.engine.services.resolution import ResolvedDocument, load_document

    if arg == "-":
        return ResolvedDocument("<stdin>", version or "$DEFAULT",
                                load_document(_stdin_text(), "<stdin>"))
    return engine.commands.find_document(arg, version)


def _stdin_text() -> str:
    from ssm_local.documents.loader import read_document_stream

    return read_document_stream(sys.stdin.buffer).decode("utf-8")  # main() reports bad UTF-8


def run_command(args: argparse.Namespace) -> int:
    parameters = parse_parameters(args.parameter, args.parameters_json)
    from ssm_local.engine.services.commands import parse_targets

    targets = parse_targets(args.targets or [])
    instance_ids = [i for i in (args.instance_ids or "").split(",") if i]
    if targets and instance_ids:
        raise UsageError("give --targets or --instance-ids, not both")
    with open_engine(args) as engine:
        resolved = _document(engine, args.document, args.document_version)
        if resolved.document.kind == "Automation":
            from ssm_local.engine.cli.executions import run_runbook

            if targets or instance_ids:
                raise UsageError("--targets and --instance-ids are for Command documents; an "
                                 "Automation runbook names its resources in its parameters")
            return run_runbook(engine, resolved, parameters, args)
        prepared = engine.commands.prepare(
            resolved, parameters=parameters, instance_ids=instance_ids or None,
            targets=targets or None, max_concurrency=args.max_concurrency,
            max_errors=args.max_errors, timeout_seconds=args.timeout, comment=args.comment)
        display = _Display(stream_output=args.output == "text" and len(prepared.nodes) == 1,
                           live=sys.stderr.isatty())
        handle = engine.commands.run_prepared(prepared, on_output=display.output,
                                              on_progress=display.progress)
        try:
            while not handle.done():
                with contextlib.suppress(TimeoutError):
                    handle.wait(PROGRESS_INTERVAL)
        except KeyboardInterrupt:
            display.finish()
            print("ssm-local: interrupted; cancelling the command", file=sys.stderr)
            handle.cancel()
            handle.wait()
        display.finish()
        result = handle.result()
    command = result["Command"]
    if args.output == "json":
        print_json(result)
    else:
        single = len(result["CommandInvocations"]) == 1
        print(command_text(command, result["CommandInvocations"], outputs=not single),
              file=sys.stderr if single else sys.stdout)
    return EXIT_OK if command["Status"] == "Success" else EXIT_FAILED

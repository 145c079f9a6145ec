"""``ssm-local run DOC|NAME``: send a Command document to nodes and wait for it (SendCommand). DOC is a
file, a registry name (``name[:version]``) or a bundled name. ``--parameters`` takes the
parameters as the AWS CLI does (JSON when the text starts with ``{``, else its shorthand:
``commands=ls``, ``ids=a,b`` or ``ids=[a,b]`` for a list); ``-p NAME=VALUE`` sets one (``a,b`` is a
list; repeating a name adds to its list); ``--cli-input-json`` gives SendCommand's request members
(DocumentName, Parameters, Targets, InstanceIds, MaxConcurrency, MaxErrors, TimeoutSeconds,
Comment). ``--targets Key=...,Values=...`` (``InstanceIds``, ``tag:NAME``, ``tag-key``; repeatable,
all must match) or ``--instance-ids`` choose the nodes (default: this machine);
``--max-concurrency``, ``--max-errors`` and ``--timeout`` are SendCommand's. While it runs,
standard error shows a live progress line when it is a terminal, and a single node's output
streams as it comes; a per-node summary follows. ``--output json|yaml|text|table`` prints the
Command and its CommandInvocations with CommandPlugins in AWS's shape (``--query`` filters it).
Exit code 0 when the command succeeded, 1 otherwise, 2 for bad usage (a missing file, a flag that
does not apply to the document's kind); SIGINT, SIGTERM or SIGHUP cancel the command (its
scripts' process groups are killed, the invocations recorded Cancelled) and exit 130, 143 or
129. An Automation runbook (schemaVersion 0.3) runs as an
Automation execution instead (``ssm_local.engine.cli.executions.run_runbook``), with ``--mode``,
``--aws-endpoint-url`` and ``--attachments``; SendCommand's flags are refused for it, and those
three for a Command document.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Any

from ssm_local.engine.cli import EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_OK, UsageError
from ssm_local.engine.cli.commands import command_text
from ssm_local.engine.cli.common import (
    DOCUMENT_SUFFIXES,
    json_object_flag,
    open_engine,
    parse_parameter_item,
    parse_parameters_text,
)
from ssm_local.engine.cli.nodes import add_db_option
from ssm_local.engine.cli.output import (
    add_cli_input_json,
    add_output_options,
    deprecated,
    emit,
    output_form,
)

PROGRESS_INTERVAL = 0.1

CLI_INPUT = {
    "DocumentName": "document", "DocumentVersion": "document_version",
    "Parameters": "input_parameters", "Targets": "input_targets",
    "InstanceIds": "input_instance_ids", "MaxConcurrency": "max_concurrency",
    "MaxErrors": "max_errors", "TimeoutSeconds": "timeout", "Comment": "comment", "Mode": "mode",
}
"""``--cli-input-json`` members: SendCommand's request names, and StartAutomationExecution's
``Mode`` for a runbook."""

COMMAND_ONLY = (("targets", "--targets"), ("instance_ids", "--instance-ids"),
                ("max_concurrency", "--max-concurrency"), ("max_errors", "--max-errors"),
                ("timeout", "--timeout"), ("comment", "--comment"))
"""SendCommand's flags, refused for an Automation runbook."""

AUTOMATION_ONLY = (("mode", "--mode"), ("aws_endpoint_url", "--aws-endpoint-url"),
                   ("attachments", "--attachments"))
"""StartAutomationExecution's flags, refused for a Command document."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run", help="run a Command document on nodes (SendCommand) and wait for it",
        description="Send a Command document (schemaVersion 1.2, 2.0, 2.2) to nodes with AWS's "
                    "rate control and wait for every invocation, or run an Automation runbook "
                    "(schemaVersion 0.3) as an Automation execution. Exit code 0 when the command "
                    "or execution succeeded, 1 otherwise, 2 for bad usage.")
    parser.add_argument("document", metavar="DOC|NAME", nargs="?",
                        help="a document file, '-' for standard input, a registry name "
                             "(name[:version]) or a bundled name such as AWS-RunShellScript")
    parser.add_argument("-p", "--parameter", action="append", metavar="NAME=VALUE",
                        help="a parameter value; NAME=a,b or NAME=[a,b] is a list, and repeating "
                             "a name adds to its list")
    parser.add_argument("--parameters", action="append", nargs="+", metavar="NAME=VALUE,...|JSON",
                        help="parameters as the AWS CLI takes them: JSON when the text starts "
                             "with '{', else its shorthand (commands=ls, ids=a,b or ids=[a,b], "
                             "several members separated by commas or spaces)")
    parser.add_argument("--parameters-json", metavar="JSON", help=argparse.SUPPRESS,
                        action=deprecated("--parameters"))
    parser.add_argument("--targets", action="append", metavar="Key=KEY,Values=V1,V2",
                        help="Command: Key=InstanceIds|tag:NAME|tag-key,Values=...; repeatable "
                             "(all must match)")
    parser.add_argument("--instance-ids", metavar="ID,ID",
                        help="Command: node ids (or names), comma-separated")
    parser.add_argument("--max-concurrency", metavar="N|P%",
                        help="Command: invocations in flight at once (default 50)")
    parser.add_argument("--max-errors", metavar="N|P%",
                        help="Command: errors allowed before sending stops (default 0)")
    parser.add_argument("--timeout", type=int, metavar="S",
                        help="Command: seconds each invocation may take, all steps together "
                             "(30-2592000); also the delivery timeout for invocations still "
                             "waiting to be sent")
    parser.add_argument("--comment", default="", help="Command: a comment stored with the command")
    parser.add_argument("--document-version", metavar="VERSION",
                        help="registry version ($DEFAULT, $LATEST or a number)")
    parser.add_argument("--mode", choices=("Auto", "Interactive"),
                        help="Automation: Auto (default) or Interactive (one step per StartStep "
                             "signal)")
    parser.add_argument("--aws-endpoint-url", metavar="URL",
                        help="Automation: the AWS endpoint for API actions (LocalStack, moto "
                             "server); default: boto3's configuration")
    parser.add_argument("--attachments", metavar="DIR",
                        help="Automation: the directory aws:executeScript Attachments are read "
                             "from")
    add_output_options(parser)
    add_cli_input_json(parser, CLI_INPUT, ("SendCommand", "StartAutomationExecution"))
    add_db_option(parser)
    parser.set_defaults(func=run_command)


def parse_parameters(items: list[str] | None, texts: list[str] | None = None,
                     given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's parameters: ``--cli-input-json``'s ``Parameters`` (``given``), then each
    ``--parameters`` text (JSON or the AWS CLI shorthand, see ``parse_parameters_text``), then
    ``-p NAME=VALUE`` items (``a,b`` and ``[a,b]`` are lists; a repeated name adds to its list).
    A later source replaces an earlier one's value for the same name."""
    values: dict[str, Any] = dict(given or {})
    for text in texts or []:
        values.update(parse_parameters_text(text))
    repeated: dict[str, list[str | list[str]]] = {}
    for item in items or []:
        name, value = parse_parameter_item(item)
        repeated.setdefault(name, []).append(value)
    for name, found in repeated.items():
        if len(found) == 1:
            values[name] = found[0]
        else:
            values[name] = [v for value in found for v in (value if isinstance(value, list)
                                                            else [value])]
    return values


class _Display:
    """The live progress line on a terminal and the streamed output of a single node."""

    def __init__(self, stream_output: bool, live: bool) -> None:
        self.stream_output = stream_output
        self.live = live
        self._lock = threading.Lock()
        self._line = ""
        self.reader_gone = False
        """The reader of standard output went away (``| head``): streaming stopped; the command
        runs on to its end, as it would on AWS, and the CLI exits 141."""

    def output(self, _node: str, _step: str, stream: str, chunk: bytes) -> None:
        if not self.stream_output or (stream == "stdout" and self.reader_gone):
            return
        with self._lock:
            self._clear()
            target = sys.stdout if stream == "stdout" else sys.stderr
            try:
                target.flush()
                target.buffer.write(chunk)
                target.buffer.flush()
            except BrokenPipeError:
                if target is not sys.stdout:
                    raise
                self.reader_gone = True
                devnull = os.open(os.devnull, os.O_WRONLY)  # later writes and the exit flush
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)

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


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    given = getattr(args, "input_parameters", None)
    if given is not None and not isinstance(given, dict):
        raise UsageError("--cli-input-json: Parameters must be an object of names to values")
    values = dict(given or {})
    if args.parameters_json:  # the deprecated flag: JSON only, as before
        values.update(json_object_flag(args.parameters_json, "--parameters-json",
                                       "of names to values"))
    texts = [text for group in args.parameters or [] for text in group]
    return parse_parameters(args.parameter, texts, values)


def _stdin_text() -> str:
    from ssm_local.documents.loader import read_document_stream

    return read_document_stream(sys.stdin.buffer).decode("utf-8")  # main() reports bad UTF-8


def _nodes(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str]]:
    """``--targets`` / ``--instance-ids`` (or their ``--cli-input-json`` members)."""
    from ssm_local.engine.services.commands import parse_targets

    targets = parse_targets(args.targets or [])
    given_targets = getattr(args, "input_targets", None)
    if given_targets is not None:
        if not isinstance(given_targets, list) or not all(
                isinstance(t, dict) and set(t) <= {"Key", "Values"} for t in given_targets):
            raise UsageError("--cli-input-json: Targets must be a list of {\"Key\", \"Values\"}")
        targets = targets or list(given_targets)
    instance_ids = [i for i in (args.instance_ids or "").split(",") if i]
    given_ids = getattr(args, "input_instance_ids", None)
    if given_ids is not None:
        if not isinstance(given_ids, list) or not all(isinstance(i, str) for i in given_ids):
            raise UsageError("--cli-input-json: InstanceIds must be a list of strings")
        instance_ids = instance_ids or list(given_ids)
    if targets and instance_ids:
        raise UsageError("give --targets or --instance-ids, not both")
    return targets, instance_ids


def refuse_flags(args: argparse.Namespace, kind: str, document: str) -> None:
    """A flag that does not apply to the document's kind is a ``UsageError`` naming it."""
    flags = COMMAND_ONLY if kind == "Automation" else AUTOMATION_ONLY
    for dest, flag in flags:
        value = getattr(args, dest, None)
        if value not in (None, "", []):
            other = "a Command document" if kind == "Automation" else "an Automation runbook"
            article = "an" if kind == "Automation" else "a"
            raise UsageError(f"{flag} is for {other}; {document} is {article} {kind} document")


def _resolve(engine: Any, args: argparse.Namespace) -> Any:
    """The document; a path that does not exist is bad usage (2), as for ``validate``."""
    from ssm_local.grammar.errors import DocumentError

    try:
        return _document(engine, args.document, args.document_version)
    except DocumentError:
        arg = args.document
        looks_like_path = not arg.startswith("arn:") and (
            os.sep in arg or arg.lower().endswith(DOCUMENT_SUFFIXES))
        if looks_like_path and not Path(arg).exists():
            raise UsageError(f"{arg}: no such file") from None
        raise


def run_command(args: argparse.Namespace) -> int:
    if not args.document:
        raise UsageError("give a document: ssm-local run DOC|NAME (or DocumentName in "
                         "--cli-input-json)")
    parameters = _parameters(args)
    targets, instance_ids = _nodes(args)
    with open_engine(args) as engine:
        resolved = _resolve(engine, args)
        refuse_flags(args, resolved.document.kind, args.document)
        if resolved.document.kind == "Automation":
            from ssm_local.engine.cli.executions import run_runbook

            return run_runbook(engine, resolved, parameters, args)
        prepared = engine.commands.prepare(
            resolved, parameters=parameters, instance_ids=instance_ids or None,
            targets=targets or None, max_concurrency=args.max_concurrency,
            max_errors=args.max_errors, timeout_seconds=args.timeout, comment=args.comment)
        readable = output_form(args) is None
        display = _Display(stream_output=readable and len(prepared.nodes) == 1,
                           live=sys.stderr.isatty())
        handle = engine.commands.run_prepared(prepared, on_output=display.output,
                                              on_progress=display.progress)
        from ssm_local.engine.cli.interrupts import raising_on_signals, signal_number

        interrupted: int | None = None
        with raising_on_signals():
            try:
                while not handle.done():
                    with contextlib.suppress(TimeoutError):
                        handle.wait(PROGRESS_INTERVAL)
            except KeyboardInterrupt as exc:
                interrupted = signal_number(exc)
                display.finish()
                print("ssm-local: interrupted; cancelling the command", file=sys.stderr)
                handle.cancel()
                handle.wait()
        display.finish()
        result = handle.result()
    command = result["Command"]
    single = len(result["CommandInvocations"]) == 1

    def summary() -> None:
        print(command_text(command, result["CommandInvocations"], outputs=not single),
              file=sys.stderr if single else sys.stdout)

    emit(args, result, "SendCommand", summary)
    if interrupted is not None:
        from ssm_local.engine.cli.interrupts import exit_code

        return exit_code(interrupted)
    if display.reader_gone:
        return EXIT_BROKEN_PIPE
    return EXIT_OK if command["Status"] == "Success" else EXIT_FAILED

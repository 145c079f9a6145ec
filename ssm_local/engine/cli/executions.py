"""``ssm-local executions ...`` and the Automation half of ``ssm-local run``.

``run_runbook`` starts an Automation execution (StartAutomationExecution), shows each step as it
starts and ends on standard error, and prints a summary or, with ``--output json``, the
execution in GetAutomationExecution's shape; exit code 0 when it succeeded. ``executions list``,
``show ID``, ``signal ID --type Approve|Reject|Resume|StartStep|StopStep``, ``stop ID`` and
``resume`` (continue every execution a stopped process left unfinished, in this process) read and
steer executions in the store, from any process.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from ssm_local.engine.cli import EXIT_FAILED, EXIT_OK, UsageError
from ssm_local.engine.cli.common import open_engine, print_json
from ssm_local.engine.cli.nodes import add_db_option

SIGNALS = ("Approve", "Reject", "Resume", "StartStep", "StopStep")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("executions", help="list, show, signal, stop and resume Automation "
                                               "executions",
                            description="Automation executions in the store.")
    inner = parser.add_subparsers(dest="executions_command", metavar="ACTION")
    inner.required = True

    listing = inner.add_parser("list", help="executions, newest first")
    listing.add_argument("--status", help="only executions with this status")
    listing.add_argument("--output", choices=("text", "json"), default="text")
    add_db_option(listing)
    listing.set_defaults(func=_list)

    show = inner.add_parser("show", help="one execution and its steps (GetAutomationExecution)")
    show.add_argument("execution_id", metavar="ID")
    show.add_argument("--output", choices=("text", "json"), default="text")
    add_db_option(show)
    show.set_defaults(func=_show)

    signal = inner.add_parser("signal", help="send a signal (SendAutomationSignal)")
    signal.add_argument("execution_id", metavar="ID")
    signal.add_argument("--type", required=True, choices=SIGNALS, dest="signal_type")
    signal.add_argument("--step", help="StartStep/Resume: the step to run")
    signal.add_argument("--comment", help="Approve/Reject: a comment")
    signal.add_argument("--approver", help="Approve/Reject: who decides (default: you)")
    signal.add_argument("--payload", help="the payload as JSON (map of lists of strings)")
    add_db_option(signal)
    signal.set_defaults(func=_signal)

    stop = inner.add_parser("stop", help="cancel an execution (StopAutomationExecution)")
    stop.add_argument("execution_id", metavar="ID")
    add_db_option(stop)
    stop.set_defaults(func=_stop)

    resume = inner.add_parser("resume", help="continue every unfinished execution, here")
    add_db_option(resume)
    resume.set_defaults(func=_resume)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def _list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        items = engine.automations.list(status=args.status)
    if args.output == "json":
        print_json({"AutomationExecutionMetadataList": items})
        return EXIT_OK
    for item in items:
        print(f"{item['AutomationExecutionId']}  {item['AutomationExecutionStatus']:<11} "
              f"{_time(item['ExecutionStartTime'])}  {item['DocumentName']}")
    return EXIT_OK


def execution_text(execution: dict[str, Any]) -> str:
    lines = [f"Execution {execution['AutomationExecutionId']}: "
             f"{execution['AutomationExecutionStatus']} ({execution['DocumentName']})"]
    if execution.get("FailureMessage"):
        lines.append(f"  {execution['FailureMessage']}")
    for step in execution["StepExecutions"]:
        parent = step.get("ParentStepDetails")
        where = f" [{parent['StepName']} #{parent['Iteration']}]" if parent else ""
        lines.append(f"  {step['StepStatus']:<10} {step['StepName']}{where} ({step['Action']})")
        if step.get("FailureMessage"):
            lines.append(f"             {step['FailureMessage'].splitlines()[0]}")
    for name, values in execution.get("Outputs", {}).items():
        lines.append(f"  output {name} = {', '.join(values)}")
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        execution = engine.automations.get(args.execution_id)
    if args.output == "json":
        print_json({"AutomationExecution": execution})
    else:
        print(execution_text(execution))
    return EXIT_OK


def _signal(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {}
    if args.payload:
        try:
            payload = json.loads(args.payload)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--payload is not JSON: {exc.msg}") from None
        if not isinstance(payload, dict):
            raise UsageError("--payload must be a JSON object")
    if args.step:
        payload["StepName"] = [args.step]
    if args.comment:
        payload["Comment"] = [args.comment]
    if args.approver:
        payload["Approver"] = [args.approver]
    with open_engine(args) as engine:
        engine.automations.signal(args.execution_id, args.signal_type, payload)
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        engine.automations.stop(args.execution_id)
    return EXIT_OK


def _resume(args: argparse.Namespace) -> int:
    import asyncio

    with open_engine(args) as engine:
        ids = asyncio.run(engine.automations.resume())
        failed = 0
        for execution_id in ids:
            execution = engine.automations.get(execution_id)
            print(f"{execution_id}  {execution['AutomationExecutionStatus']}")
            failed += execution["AutomationExecutionStatus"] != "Success"
    if not ids:
        print("no unfinished executions")
    return EXIT_FAILED if failed else EXIT_OK


def run_runbook(engine: Any, resolved: Any, parameters: dict[str, Any],
                args: argparse.Namespace) -> int:
    """``ssm-local run`` for an Automation runbook."""
    import asyncio

    handle = engine.automations.start(
        resolved.document, parameters, document_name=resolved.name,
        document_version=str(getattr(resolved, "version", "1")),
        mode=getattr(args, "mode", "Auto") or "Auto",
        aws_endpoint_url=getattr(args, "aws_endpoint_url", None),
        attachments_dir=getattr(args, "attachments", None))
    quiet = args.output == "json"
    print(f"Execution {handle.execution_id} started", file=sys.stderr)

    from ssm_local.engine.automation import events

    def on_event(state: Any, event: events.Event) -> None:
        if quiet:
            return
        if isinstance(event, events.StepStarted) and event.attempt in (1, None):
            print(f"  InProgress {event.step} ({event.action})", file=sys.stderr)
        elif isinstance(event, events.StepFinished | events.StepInstant | events.TimerFired
                        | events.Signal):
            for record in reversed(state.records):
                if record.end and record.status not in ("InProgress", "Waiting"):
                    print(f"  {record.status:<10} {record.step_name}", file=sys.stderr)
                    break
        elif isinstance(event, events.WaitStarted) and event.kind in ("pause", "approve",
                                                                      "interactive"):
            wanted = {"pause": "Resume", "approve": "Approve",
                      "interactive": "StartStep"}[event.kind]
            print(f"  Waiting    {event.step}: send a signal with 'ssm-local executions "
                  f"signal {handle.execution_id} --type {wanted}'", file=sys.stderr)

    def log(step: str, text: str) -> None:
        if not quiet:
            for line in text.rstrip("\n").splitlines():
                print(f"  | {step}: {line}", file=sys.stderr)

    try:
        asyncio.run(engine.automations.run(handle.execution_id, handle=handle, log=log,
                                           on_event=on_event))
    except KeyboardInterrupt:
        print(f"ssm-local: interrupted; execution {handle.execution_id} stays in the store: "
              "'ssm-local executions resume' continues it", file=sys.stderr)
        return EXIT_FAILED
    execution = engine.automations.get(handle.execution_id)
    if quiet:
        print_json({"AutomationExecution": execution})
    else:
        print(execution_text(execution))
    return EXIT_OK if execution["AutomationExecutionStatus"] == "Success" else EXIT_FAILED

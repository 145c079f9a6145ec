"""``ssm-local executions ...`` and the Automation half of ``ssm-local run``.

``run_runbook`` starts an Automation execution (StartAutomationExecution), shows each step as it
starts and ends on standard error, and prints a summary or, with ``--output``/``--query``, the
execution in GetAutomationExecution's shape; exit code 0 when it succeeded. ``executions list``,
``show ID``, ``signal ID --type Approve|Reject|Resume|StartStep|StopStep [--as IDENTITY]``
(Approve/Reject only from the step's Approvers; one identity counts once), ``stop ID`` and
``resume [ID...]`` (continue, in this process, executions whose owner process is gone; one whose
owner lives is refused, naming its host and pid) read and steer executions in the store, from any
process. ``stop`` of an execution with no live runner ends it at once (Cancelled) and says so.
SIGINT, SIGTERM and SIGHUP during ``run`` or ``resume`` stop the executions it drives (in-flight
steps cancelled, ``aws:executeScript`` subprocesses killed) and exit 130, 143 or 129.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from ssm_local.engine.cli import EXIT_FAILED, EXIT_OK, UsageError
from ssm_local.engine.cli.common import json_object_flag, open_engine
from ssm_local.engine.cli.nodes import add_db_option
from ssm_local.engine.cli.output import add_output_options, emit, output_form

SIGNALS = ("Approve", "Reject", "Resume", "StartStep", "StopStep")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("executions", help="list, show, signal, stop and resume Automation "
                                               "executions",
                            description="Automation executions in the store.")
    inner = parser.add_subparsers(dest="executions_command", metavar="ACTION")
    inner.required = True

    listing = inner.add_parser("list", help="executions, newest first")
    listing.add_argument("--status", help="only executions with this status")
    add_db_option(listing)
    add_output_options(listing)
    listing.set_defaults(func=_list)

    show = inner.add_parser("show", help="one execution and its steps (GetAutomationExecution)")
    show.add_argument("execution_id", metavar="ID")
    add_db_option(show)
    add_output_options(show)
    show.set_defaults(func=_show)

    signal = inner.add_parser("signal", help="send a signal (SendAutomationSignal)")
    signal.add_argument("execution_id", metavar="ID")
    signal.add_argument("--type", required=True, choices=SIGNALS, dest="signal_type")
    signal.add_argument("--step", help="StartStep/Resume: the step to run")
    signal.add_argument("--comment", help="Approve/Reject: a comment")
    signal.add_argument("--as", dest="identity", metavar="IDENTITY",
                        help="who sends the signal; Approve/Reject must come from one of the "
                             "step's Approvers (default: $SSM_LOCAL_IDENTITY, else your OS user)")
    signal.add_argument("--approver", dest="identity", help=argparse.SUPPRESS)  # the old name
    signal.add_argument("--payload", help="the payload as JSON (map of lists of strings)")
    add_db_option(signal)
    add_output_options(signal)
    signal.set_defaults(func=_signal)

    stop = inner.add_parser("stop", help="cancel an execution (StopAutomationExecution)")
    stop.add_argument("execution_id", metavar="ID")
    add_db_option(stop)
    add_output_options(stop)
    stop.set_defaults(func=_stop)

    resume = inner.add_parser("resume", help="continue unfinished executions whose owner is gone, "
                                             "here")
    resume.add_argument("execution_ids", metavar="ID", nargs="*",
                        help="only these executions (default: every unfinished one)")
    add_db_option(resume)
    add_output_options(resume)
    resume.set_defaults(func=_resume)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def _list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        items = engine.automations.list(status=args.status)

    def readable() -> None:
        for item in items:
            print(f"{item['AutomationExecutionId']}  {item['AutomationExecutionStatus']:<11} "
                  f"{_time(item['ExecutionStartTime'])}  {item['DocumentName']}")

    emit(args, {"AutomationExecutionMetadataList": items}, "DescribeAutomationExecutions",
         readable)
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
        owner, alive = engine.automations.owner(args.execution_id)

    def readable() -> None:
        print(execution_text(execution))
        if execution["AutomationExecutionStatus"] in _UNFINISHED:
            if alive and owner is not None:
                print(f"  run by {owner.describe()}")
            else:
                gone = f" ({owner.describe()} is gone)" if owner is not None else ""
                print(f"  no live runner{gone}: 'ssm-local executions resume "
                      f"{args.execution_id}' continues it, 'ssm-local executions stop "
                      f"{args.execution_id}' ends it")

    emit(args, {"AutomationExecution": execution}, "GetAutomationExecution", readable)
    return EXIT_OK


_UNFINISHED = ("Pending", "InProgress", "Waiting", "Cancelling")


def _signal(args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {}
    if args.payload:
        payload = json_object_flag(args.payload, "--payload", "")
    if args.step:
        payload["StepName"] = [args.step]
    if args.comment:
        payload["Comment"] = [args.comment]
    if args.identity is not None and not args.identity.strip():
        raise UsageError("--as needs an identity: a user name or an IAM user or role ARN")
    with open_engine(args) as engine:
        engine.automations.signal(args.execution_id, args.signal_type, payload,
                                  identity=args.identity)
    emit(args, {}, "SendAutomationSignal", lambda: None)
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        before = engine.automations.get(args.execution_id)["AutomationExecutionStatus"]
        owner, alive = engine.automations.owner(args.execution_id)
        engine.automations.stop(args.execution_id)
        status = engine.automations.get(args.execution_id)["AutomationExecutionStatus"]
    if status == "Cancelled" and before != "Cancelled":
        message = f"Execution {args.execution_id}: Cancelled (no live runner; stopped here)"
    elif alive and owner is not None:
        message = (f"Execution {args.execution_id}: {status} (stop sent to its runner, "
                   f"{owner.describe()})")
    else:
        message = f"Execution {args.execution_id}: {status} (stop requested)"
    emit(args, {}, "StopAutomationExecution", lambda: print(message))
    return EXIT_OK


def _resume(args: argparse.Namespace) -> int:
    import asyncio

    from ssm_local.engine.cli.interrupts import calling_on_signals, exit_code

    refused: list[str] = []
    started: list[str] = []
    interrupted: list[int] = []

    def on_refused(execution_id: str, error: Any) -> None:
        refused.append(execution_id)
        print(f"ssm-local: {error.message}", file=sys.stderr)

    with open_engine(args) as engine:

        def on_signal(signum: int) -> None:
            if interrupted:
                return
            interrupted.append(signum)
            print("ssm-local: interrupted; stopping the executions resumed here", file=sys.stderr)
            for execution_id in started:
                engine.automations.stop(execution_id)

        async def drive() -> list[str]:
            with calling_on_signals(on_signal):
                return list(await engine.automations.resume(
                    args.execution_ids or None, on_refused=on_refused,
                    on_start=started.append))

        ids = asyncio.run(drive())
        executions = [engine.automations.get(execution_id) for execution_id in ids]
    failed = sum(e["AutomationExecutionStatus"] != "Success" for e in executions)

    def readable() -> None:
        for execution in executions:
            print(f"{execution['AutomationExecutionId']}  {execution['AutomationExecutionStatus']}")
        if not executions and not refused:
            print("no unfinished executions")

    emit(args, {"AutomationExecutionMetadataList": [
        {key: e[key] for key in ("AutomationExecutionId", "DocumentName", "AutomationExecutionStatus")
         if key in e} for e in executions]}, "ResumeAutomationExecutions", readable)
    if interrupted:
        return exit_code(interrupted[0])
    # Without IDs, executions a live process drives are only named; asked for by ID, a refusal
    # is a failure.
    return EXIT_FAILED if failed or (refused and args.execution_ids) else EXIT_OK


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
    quiet = output_form(args) is not None
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
            who = " --as APPROVER" if event.kind == "approve" else ""
            print(f"  Waiting    {event.step}: send a signal with 'ssm-local executions "
                  f"signal {handle.execution_id} --type {wanted}{who}'", file=sys.stderr)

    def log(step: str, text: str) -> None:
        if not quiet:
            for line in text.rstrip("\n").splitlines():
                print(f"  | {step}: {line}", file=sys.stderr)

    from ssm_local.engine.cli.interrupts import calling_on_signals, exit_code

    interrupted: list[int] = []

    async def drive() -> None:
        main = asyncio.current_task()

        def on_signal(signum: int) -> None:
            if interrupted:  # a second signal: stop waiting for the cancellation
                if main is not None:
                    main.cancel()
                return
            interrupted.append(signum)
            print(f"ssm-local: interrupted; stopping execution {handle.execution_id}",
                  file=sys.stderr)
            engine.automations.stop(handle.execution_id)

        with calling_on_signals(on_signal):
            await engine.automations.run(handle.execution_id, handle=handle, log=log,
                                         on_event=on_event)

    try:
        asyncio.run(drive())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"ssm-local: interrupted again; execution {handle.execution_id} is left to "
              "'ssm-local executions stop' or 'resume'", file=sys.stderr)
        return exit_code(interrupted[0] if interrupted else None)
    execution = engine.automations.get(handle.execution_id)
    emit(args, {"AutomationExecution": execution}, "StartAutomationExecution",
         lambda: print(execution_text(execution)))
    if interrupted:
        return exit_code(interrupted[0])
    return EXIT_OK if execution["AutomationExecutionStatus"] == "Success" else EXIT_FAILED

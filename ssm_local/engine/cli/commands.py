"""``ssm-local commands ...``: the history of Run Command. ``commands list`` shows the commands, newest
first (ListCommands; ``--node`` keeps those that targeted one node); ``commands show ID`` shows one
command and its invocations with every plugin's status and output (ListCommandInvocations with
Details; ``--node`` for one node; ``--output`` prints ``{"Command", "CommandInvocations"}`` in
AWS's shape, as ``run --output json`` does); ``commands output ID --node NODE`` prints the complete
standard output (or ``--stderr``) of one invocation, which the API truncates at 24,000 and 8,000
characters (``--output`` gives both untruncated, as GetCommandInvocation's
``StandardOutputContent`` and ``StandardErrorContent``); ``commands cancel ID`` asks a running
command to stop (CancelCommand), also from another process; a command whose owner process is gone
is Cancelled at once (``show`` finishes it too).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from typing import Any

from ssm_local.engine.cli import EXIT_OK
from ssm_local.engine.cli.common import open_engine
from ssm_local.engine.cli.nodes import add_db_option
from ssm_local.engine.cli.output import add_output_options, emit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = sub.add_parser("commands", help="Run Command history: list, show, output, cancel",
                              description="Commands sent with ssm-local run (or the API), "
                                          "with their invocations per node.")
    cmds = commands.add_subparsers(dest="commands_command", metavar="COMMAND")
    cmds.required = True

    listing = cmds.add_parser("list", help="list commands, newest first (ListCommands)")
    listing.add_argument("--node", metavar="NAME|ID", help="only commands sent to this node")
    listing.add_argument("--max-results", type=int, metavar="N")
    add_db_option(listing)
    add_output_options(listing)
    listing.set_defaults(func=run_list)

    show = cmds.add_parser("show", help="one command and its invocations")
    show.add_argument("command_id", metavar="ID")
    show.add_argument("--node", metavar="NAME|ID", help="only the invocation on this node")
    add_db_option(show)
    add_output_options(show)
    show.set_defaults(func=run_show)

    output = cmds.add_parser("output", help="the complete output of one invocation")
    output.add_argument("command_id", metavar="ID")
    output.add_argument("--node", metavar="NAME|ID", required=True)
    output.add_argument("--step", metavar="NAME", help="only this step (plugin)")
    output.add_argument("--stderr", action="store_true", help="standard error instead of output")
    add_db_option(output)
    add_output_options(output)
    output.set_defaults(func=run_output)

    cancel = cmds.add_parser("cancel", help="stop a running command (CancelCommand)")
    cancel.add_argument("command_id", metavar="ID")
    add_db_option(cancel)
    add_output_options(cancel)
    cancel.set_defaults(func=run_cancel)


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def run_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        node_id = engine.nodes.get(args.node).node_id if args.node else None
        found = engine.commands.list_commands(instance_id=node_id, max_results=args.max_results)

    def readable() -> None:
        print(f"{'COMMAND ID':<36}  {'REQUESTED':<19}  {'STATUS':<11} {'DONE':>9}  {'ERR':>4}  "
              "DOCUMENT")
        for command in found["Commands"]:
            done = f"{command['CompletedCount']}/{command['TargetCount']}"
            print(f"{command['CommandId']:<36}  {_when(command['RequestedDateTime']):<19}  "
                  f"{command['StatusDetails']:<11} {done:>9}  {command['ErrorCount']:>4}  "
                  f"{command['DocumentName']}")

    emit(args, found, "ListCommands", readable)
    return EXIT_OK


def command_text(command: dict[str, Any], invocations: list[dict[str, Any]],
                 names: dict[str, str] | None = None, *, outputs: bool = True) -> str:
    """The readable form of a command and its invocations (``commands show`` and ``run``)."""
    lines = [
        f"Command {command['CommandId']}: {command['Status']} ({command['StatusDetails']})",
        f"  document   {command['DocumentName']} ({command['DocumentVersion']})",
        f"  requested  {_when(command['RequestedDateTime'])}; targets {command['TargetCount']}, "
        f"completed {command['CompletedCount']}, errors {command['ErrorCount']}; "
        f"MaxConcurrency {command['MaxConcurrency']}, MaxErrors {command['MaxErrors']}",
    ]
    for invocation in invocations:
        name = invocation["InstanceName"] or (names or {}).get(invocation["InstanceId"], "")
        lines.append(f"- {invocation['InstanceId']} {name}: {invocation['Status']} "
                     f"({invocation['StatusDetails']})")
        for plugin in invocation.get("CommandPlugins", []):
            took = ""
            start, end = plugin.get("ResponseStartDateTime"), plugin.get("ResponseFinishDateTime")
            if start and end:
                took = f", {(end - start).total_seconds():.2f} s"
            lines.append(f"    {plugin['Name']}: {plugin['Status']} ({plugin['StatusDetails']}, "
                         f"code {plugin['ResponseCode']}{took})")
            if outputs and plugin["Output"]:
                lines.extend("      | " + line for line in plugin["Output"].rstrip("\n").split("\n"))
            elif plugin["Status"] not in ("Success", "Cancelled") and plugin["Output"]:
                lines.extend("      ! " + line for line in _why(plugin["Output"]))
    failed = Counter(i["StatusDetails"] for i in invocations if i["Status"] != "Success")
    if len(invocations) > 1 and failed:
        reasons = ", ".join(f"{details} {count}" for details, count in sorted(failed.items()))
        lines.append(f"not successful: {reasons}")
    return "\n".join(lines)


WHY_LINES = 5
"""How many lines of a failed plugin's error ``run`` prints when its output was streamed."""


def _why(output: str) -> list[str]:
    """The last lines of a failed plugin's error (its stderr part, else its output): why it
    failed, under the summary of a one-node run whose output was already streamed."""
    _, marker, error = output.rpartition("----------ERROR-------")
    text = error if marker and error.strip() else output
    return [line for line in text.strip("\n").split("\n") if line.strip()][-WHY_LINES:]


def run_show(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        command = engine.commands.get_command(args.command_id)
        node_id = engine.nodes.get(args.node).node_id if args.node else None
        invocations = engine.commands.list_command_invocations(
            command_id=args.command_id, instance_id=node_id, details=True)["CommandInvocations"]
    emit(args, {"Command": command, "CommandInvocations": invocations}, "ListCommandInvocations",
         lambda: print(command_text(command, invocations)))
    return EXIT_OK


def run_output(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        node_id = engine.nodes.get(args.node).node_id
        stdout, stderr = engine.commands.get_command_output(args.command_id, node_id, args.step)
    response = {"CommandId": args.command_id, "InstanceId": node_id,
                **({"PluginName": args.step} if args.step else {}),
                "StandardOutputContent": stdout, "StandardErrorContent": stderr}
    emit(args, response, "GetCommandInvocation",
         lambda: sys.stdout.write(stderr if args.stderr else stdout))
    return EXIT_OK


def run_cancel(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        engine.commands.cancel_command(args.command_id)
        command = engine.commands.get_command(args.command_id)
    message = (f"Command {args.command_id}: Cancelled" if command["Status"] == "Cancelled"
               else f"cancel requested for {args.command_id}")
    emit(args, {}, "CancelCommand", lambda: print(message))
    return EXIT_OK

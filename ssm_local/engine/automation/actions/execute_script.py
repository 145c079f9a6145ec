"""``aws:executeScript``: run a Python handler in an isolated subprocess, as AWS runs it in Lambda.

Inputs: ``Runtime`` (``python3.6`` ... ``python3.11`` and newer names all run on this machine's
Python; ``PowerShell 7.x`` / ``PowerShell Core 6.0`` fail the step: not supported yet),
``Handler`` (``function`` for an inline ``Script``; ``file.function`` for an ``Attachment``;
required, as ``Runtime`` is: a missing one fails the step, naming it),
``InputPayload`` (a map, the handler's ``events``) and ``Script`` or ``Attachment`` (a ``.py``
or ``.zip`` from the attachments directory given at start). The handler's return value becomes
``Payload`` (at most 100 KB; a list is cut to its first 100 items, as AWS documents); whatever
the script prints goes to the step's log; an uncaught exception fails the step with its type,
message and traceback. The subprocess gets a fresh interpreter, no inherited file descriptors
and is killed with its process group on timeout or cancel. Its boto3 uses the AWS credentials
of this process and the execution's region and AWS endpoint (``--aws-endpoint-url`` becomes
``AWS_ENDPOINT_URL``), so a script's own AWS calls go where the runbook's actions go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from ssm_local.engine.automation.actions import (
    ActionContext,
    ActionResult,
    cancelled,
    missing_input,
)
from ssm_local.engine.clock import hold

MAX_PAYLOAD_BYTES = 100 * 1024
MAX_LIST_ITEMS = 100
MAX_SECONDS = 600

_BOOTSTRAP = r'''
import io, json, os, sys, traceback, types, zipfile
request = json.load(sys.stdin)
sys.stdin = io.StringIO("")
result_fd = int(os.environ.pop("SSM_LOCAL_RESULT_FD"))
out = os.fdopen(result_fd, "w")
class Context(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
context = Context(request["context"])
try:
    if request.get("attachment"):
        path = request["attachment"]
        if path.endswith(".zip"):
            sys.path.insert(0, path)
        else:
            sys.path.insert(0, os.path.dirname(path))
        module_name, _, function_name = request["handler"].rpartition(".")
        module = __import__(module_name)
        function = getattr(module, function_name)
    else:
        namespace = {"__name__": "ssm_local_script"}
        exec(compile(request["script"], "Script", "exec"), namespace)
        function = namespace[request["handler"]]
    value = function(request["events"], context)
    json.dump({"ok": True, "payload": value}, out, default=str)
except BaseException as exc:
    json.dump({"ok": False, "type": type(exc).__name__, "message": str(exc),
               "traceback": traceback.format_exc()}, out)
out.close()
'''


def _runtime(runtime: str) -> tuple[list[str] | None, str | None]:
    text = runtime.strip()
    if text.lower().startswith("python3"):
        return [sys.executable, "-I", "-c", _BOOTSTRAP], None
    if text.lower().startswith("powershell"):
        return None, ("PowerShell runtimes are not supported by ssm-local's aws:executeScript "
                      "yet; use a python3.x Runtime")
    return None, f"Runtime {runtime!r} is not supported; use python3.6 ... python3.11 or newer"


def _payload(value: object) -> tuple[object, str | None]:
    if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
        value = value[:MAX_LIST_ITEMS]
    text = json.dumps(value, default=str)
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        return None, f"the handler returned {len(text)} bytes; Payload is limited to 100 KB"
    return json.loads(text), None


def attachment_path(directory: str, name: str) -> Path | str:
    """The file an ``Attachment`` names inside the attachments ``directory``, or why it is refused.

    The name is resolved with every symlink followed; a result outside the resolved directory
    (``../x.py``, an absolute path, a symlink leading out) is refused, as is a missing file.
    """
    root = Path(directory).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or path == root:
        return (f"attachment {name!r} is outside the attachments directory {root}; "
                "an Attachment must name a file inside it")
    if not path.is_file():
        return f"attachment {root / name} does not exist"
    return path


async def handler(ctx: ActionContext) -> ActionResult:
    if ctx.cancel.is_set():
        return cancelled(ctx)
    with hold(ctx.clock):
        return await _run(ctx)


async def _run(ctx: ActionContext) -> ActionResult:
    inputs = ctx.inputs
    missing = missing_input(ctx, "Runtime")
    if missing is not None:
        return missing
    argv, problem = _runtime(str(inputs["Runtime"]))
    if argv is None:
        return ActionResult.failed(problem or "unsupported runtime", failure_type="Verification")
    missing = missing_input(ctx, "Handler")  # every runtime that runs here is a Python one
    if missing is not None:
        return missing
    handler_name = str(inputs.get("Handler", ""))
    events = inputs.get("InputPayload") or {}
    if isinstance(events, str):
        with contextlib.suppress(json.JSONDecodeError):
            events = json.loads(events)
    request: dict[str, object] = {
        "handler": handler_name, "events": events,
        "context": {"automation:EXECUTION_ID": ctx.execution_id,
                    "global:ACCOUNT_ID": ctx.account_id, "global:REGION": ctx.region},
    }
    if isinstance(inputs.get("Script"), str) and inputs["Script"].strip():
        request["script"] = inputs["Script"]
        if not handler_name.isidentifier():
            return ActionResult.failed(f"Handler {handler_name!r} must name a function in Script",
                                       failure_type="Verification")
    elif inputs.get("Attachment"):
        if ctx.attachments_dir is None:
            return ActionResult.failed(
                "the step uses an Attachment but no attachments directory was given "
                "(ssm-local run --attachments DIR)", failure_type="Verification")
        found = attachment_path(ctx.attachments_dir, str(inputs["Attachment"]))
        if isinstance(found, str):
            return ActionResult.failed(found, failure_type="Verification")
        request["attachment"] = str(found)
    else:
        return ActionResult.failed("aws:executeScript needs Script or Attachment",
                                   failure_type="Verification")
    timeout = min(ctx.timeout_seconds or MAX_SECONDS, MAX_SECONDS)
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryDirectory(prefix="ssm-local-script-") as workdir:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir,
               "SSM_LOCAL_RESULT_FD": str(write_fd), "AWS_REGION": ctx.region,
               "AWS_DEFAULT_REGION": ctx.region, "LANG": "C.UTF-8"}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                     "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE",
                     "AWS_SHARED_CREDENTIALS_FILE"):
            if name in os.environ:
                env[name] = os.environ[name]
        if ctx.aws_endpoint_url:  # the script's boto3 talks to the execution's AWS endpoint
            env["AWS_ENDPOINT_URL"] = ctx.aws_endpoint_url
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=workdir, env=env, pass_fds=(write_fd,),
            start_new_session=True)
        os.close(write_fd)
        reader = asyncio.ensure_future(asyncio.to_thread(_read_all, read_fd))
        try:
            communicate = asyncio.ensure_future(
                process.communicate(json.dumps(request, default=str).encode()))
            cancel = asyncio.ensure_future(ctx.cancel.wait())
            done, _ = await asyncio.wait({communicate, cancel}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            cancel.cancel()
            if communicate not in done:
                _kill(process.pid)
                await process.wait()
                communicate.cancel()
                reason = "cancelled" if ctx.cancel.is_set() else f"timed out after {timeout:g} s"
                status = "Cancelled" if ctx.cancel.is_set() else "TimedOut"
                return ActionResult(status, failure_message=f"the script {reason}")  # type: ignore[arg-type]
            printed, _ = communicate.result()
        finally:
            with contextlib.suppress(ProcessLookupError):
                _kill(process.pid)
        raw = await reader
    if printed:
        ctx.log(printed.decode("utf-8", errors="replace"))
    try:
        outcome = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        outcome = None
    if outcome is None:
        return ActionResult.failed(
            f"the script process exited with code {process.returncode} without a result")
    if not outcome["ok"]:
        return ActionResult.failed(f"{outcome['type']}: {outcome['message']}\n"
                                   f"{outcome['traceback']}")
    payload, problem = _payload(outcome["payload"])
    if problem is not None:
        return ActionResult.failed(problem)
    return ActionResult.success({"Payload": payload}, {"Payload": payload})


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)

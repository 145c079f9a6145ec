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
from typing import Any

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
MAX_PRINTED_BYTES = 24_000 * 4
"""Bytes of what a script prints that go to the step's log (the rest is dropped)."""
MAX_RESULT_BYTES = 4 * MAX_PAYLOAD_BYTES
"""Bytes of the handler's JSON result read at most; a longer one fails as a Payload over 100 KB."""
PIPE_GRACE_SECONDS = 0.5
"""How long the pipes are still read after the handler's result is complete."""
KILL_WAIT_SECONDS = 5.0
"""How long a killed handler process is waited for before the step goes on without it."""
"""How long the pipes are still read after the handler's process has exited."""

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
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except Exception:
        pass
out.write("\n")
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
        outcome_pipe = _PipeReader(read_fd, MAX_RESULT_BYTES)
        printed = bytearray()
        work = asyncio.ensure_future(_converse(
            process, json.dumps(request, default=str).encode(), printed))
        cancel: asyncio.Future[Any] = asyncio.ensure_future(ctx.cancel.wait())
        try:
            # The handler is done when its result is complete (a line), or the result pipe ends
            # (the process died). asyncio's process.wait() would also wait for every process
            # still holding its output pipe, such as a child that outlives the handler.
            waiters: set[asyncio.Future[Any]] = {outcome_pipe.ended, cancel}
            done, _ = await asyncio.wait(waiters, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            _kill(process.pid)
            if outcome_pipe.ended not in done:
                reason = "cancelled" if ctx.cancel.is_set() else f"timed out after {timeout:g} s"
                status = "Cancelled" if ctx.cancel.is_set() else "TimedOut"
                return ActionResult(status, failure_message=f"the script {reason}")  # type: ignore[arg-type]
            # What is still in the output pipe is read for a moment; a child that outlives the
            # handler (in a session of its own) cannot hold the step open.
            await asyncio.wait({work}, timeout=PIPE_GRACE_SECONDS)
        finally:
            _kill(process.pid)
            await _close(process, (work, cancel))
            outcome_pipe.close()
        raw = bytes(outcome_pipe.data)
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


async def _converse(process: asyncio.subprocess.Process, request: bytes, printed: bytearray) -> None:
    """Send the request on stdin and keep the first ``MAX_PRINTED_BYTES`` of what it prints."""
    assert process.stdin is not None and process.stdout is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(request)
        await process.stdin.drain()
    process.stdin.close()
    while chunk := await process.stdout.read(64 * 1024):
        room = MAX_PRINTED_BYTES - len(printed)
        if room > 0:
            printed += chunk[:room]


async def _close(process: asyncio.subprocess.Process, tasks: tuple[asyncio.Future[Any], ...]) -> None:
    """Stop reading and close the process's pipes now, on this loop: a transport left to the
    garbage collector after the loop closed prints "Event loop is closed"."""
    for task in tasks:
        if not task.done():
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # Close the pipes (not the process transport, whose close() would reap the process behind
    # the child watcher's back); wait() then ends as soon as the killed process is gone.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        for fd in (0, 1):
            pipe = transport.get_pipe_transport(fd)
            if pipe is not None:
                pipe.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), KILL_WAIT_SECONDS)


class _PipeReader:
    """Reads the one-line result from the event loop (never a blocked thread), at most ``limit``
    bytes; ``ended`` completes at the end of the line, at end of file or at the limit. ``close``
    stops at once, even if a child that outlives the handler still holds the other end."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self.limit = limit
        self.data = bytearray()
        self.loop = asyncio.get_running_loop()
        self.ended: asyncio.Future[None] = self.loop.create_future()
        os.set_blocking(fd, False)
        self.loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return
        if not chunk:
            self.close()
            return
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if b"\n" in chunk or room <= len(chunk):  # the result is one line: it is complete
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1
        if not self.ended.done():
            self.ended.set_result(None)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)

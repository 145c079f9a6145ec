"""Run Command: SendCommand, CancelCommand, ListCommands, ListCommandInvocations and
GetCommandInvocation, run for real on the registered nodes.

``CommandService.prepare`` does everything that can be refused before anything runs (find the
document, resolve and check the parameters once, resolve the targets, parse MaxConcurrency and
MaxErrors) and then writes the Command and one Pending CommandInvocation per node in one
transaction; a bad parameter value names the parameter and leaves nothing in the store.
``execute`` runs a prepared command to the end through the fan-out driver
(``command_fanout``), whose state changes the persistence batcher (``command_persister``)
writes while it runs. ``send_command`` (runs in a thread of its own) and ``start_command`` (runs
in the caller's event loop) return a ``CommandHandle`` to wait on or cancel. The read calls
(``command_views``) return AWS's shapes: ``Command``, ``CommandInvocation`` with
``CommandPlugins``, and GetCommandInvocation's result. Documents are found by
``services.resolution``.

Every command has an owner (``services.ownership``): the process that prepared it, which holds
and renews the lease while ``execute`` runs. A command whose owner is gone is finished by the
next ``get_command`` or ``cancel_command`` (``finish_orphaned``): a cancel completes at once
(Cancelled); otherwise invocations that were running end TimedOut / Execution Timed Out (the
reply was lost) and unsent ones TimedOut / Delivery Timed Out (docs/decisions.md, "Run
ownership").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import uuid
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ssm_local.documents import Document
from ssm_local.documents.parameters import resolve_parameters
from ssm_local.engine import ratecontrol
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.command import BUILTIN_PLUGINS, CommandPlugin
from ssm_local.engine.command.results import PENDING
from ssm_local.engine.command.spool import OutputSpool
from ssm_local.engine.ratecontrol import InvocationStatusDetails, command_state
from ssm_local.engine.services.command_fanout import FanOut
from ssm_local.engine.services.command_models import (
    COMMANDS,
    DEFAULT_TIMEOUT_SECONDS,
    INVOCATIONS,
    MAX_COMMENT_CHARS,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    CommandError,
    OutputListener,
    PreparedCommand,
    Progress,
    ProgressListener,
)
from ssm_local.engine.services.command_views import CommandViews
from ssm_local.engine.services.nodes import NodeExecutorFactory, NodeRegistry
from ssm_local.engine.services.ownership import COMMAND, OwnerAlive, Ownership
from ssm_local.engine.services.resolution import (
    DocumentLookup,
    ResolvedDocument,
    SsmResolver,
    resolve_document,
)
from ssm_local.engine.store import Store
from ssm_local.engine.substitution import ParameterReader
from ssm_local.engine.wire import to_string_list_map


def parse_targets(items: Sequence[str]) -> list[dict[str, Any]]:
    """``Key=tag:Role,Values=web,db`` (the AWS CLI shorthand) -> ``{"Key", "Values"}`` maps."""
    targets = []
    for item in items:
        key, sep, rest = item.partition(",Values=")
        if not key.startswith("Key=") or not sep or not rest:
            raise CommandError(f"cannot read target {item!r}: use Key=KEY,Values=V1,V2",
                               code="InvalidTarget")
        targets.append({"Key": key[4:], "Values": rest.split(",")})
    return targets


class CommandHandle:
    """A command that was sent: wait for it (``wait()`` or ``await``), cancel it, read it."""

    def __init__(self, service: CommandService, prepared: PreparedCommand,
                 future: concurrent.futures.Future[dict[str, Any]]) -> None:
        self._service = service
        self._prepared = prepared
        self._future = future
        self.command_id = prepared.command_id

    @property
    def progress(self) -> Progress:
        return self._prepared.progress

    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the command ends; returns its ``Command`` shape."""
        return self._future.result(timeout)

    def __await__(self) -> Generator[Any, None, dict[str, Any]]:
        return asyncio.wrap_future(self._future).__await__()

    def cancel(self, instance_ids: Sequence[str] | None = None) -> None:
        """CancelCommand: in-flight invocations are killed, unsent ones never start."""
        self._service.cancel_command(self.command_id, instance_ids)

    def command(self) -> dict[str, Any]:
        return self._service.get_command(self.command_id)

    def invocations(self, *, details: bool = True) -> list[dict[str, Any]]:
        """ListCommandInvocations of this command (with ``CommandPlugins`` unless ``details``
        is False)."""
        found: list[dict[str, Any]] = self._service.list_command_invocations(
            command_id=self.command_id, details=details)["CommandInvocations"]
        return found

    def result(self) -> dict[str, Any]:
        """``{"Command": ..., "CommandInvocations": [...]}``: what ``run --output json`` prints."""
        return {"Command": self.command(), "CommandInvocations": self.invocations()}


class CommandService:
    """Run Command over the nodes of a ``NodeRegistry``, with history in a ``Store``.

    ``registry`` finds documents by name (see ``services.resolution.registry_lookup``; bundled
    documents and files are always found); ``resolve_ssm`` reads ``{{ssm:name}}`` parameter values;
    ``executor_factory`` (node -> executor) replaces the node registry's executors, e.g. with a
    ``MockExecutor`` for a dry run; ``plugins`` is the Command plugin table (default
    ``BUILTIN_PLUGINS``); ``parameter_store`` resolves ``{{ssm:name}}`` inside step inputs;
    ``lease_seconds`` is the owner's lease (default ``SSM_LOCAL_LEASE_SECONDS`` or 30 s).
    ``spool`` keeps the whole output of every step in size-capped files (none: the store's
    24,000/8,000-character views are all that is kept).
    """

    def __init__(self, store: Store, nodes: NodeRegistry, *, region: str = "us-east-1",
                 clock: Clock | None = None, registry: DocumentLookup | None = None,
                 resolve_ssm: SsmResolver | None = None,
                 executor_factory: NodeExecutorFactory | None = None,
                 plugins: Mapping[str, CommandPlugin] | None = None,
                 parameter_store: ParameterReader | None = None,
                 lease_seconds: float | None = None,
                 spool: OutputSpool | None = None) -> None:
        self.store = store
        self.spool = spool
        self.nodes = nodes
        self.region = region
        self.clock: Clock = clock or SystemClock()
        self.registry = registry
        self.resolve_ssm = resolve_ssm
        self.parameter_store = parameter_store
        self.executor_factory = executor_factory
        self.plugins: Mapping[str, CommandPlugin] = BUILTIN_PLUGINS if plugins is None else plugins
        self._plugin_names = frozenset(self.plugins)
        self.views = CommandViews(store, region=region, spool=spool)
        self._active: dict[str, PreparedCommand] = {}
        self._lock = threading.Lock()
        self.ownership = Ownership(store, self.clock, lease_seconds=lease_seconds)
        self._tokens: dict[str, str] = {}

    def find_document(self, name_or_path: str, version: str | None = None) -> ResolvedDocument:
        """A file, else ``name[:version]`` in the registry, else a bundled document; raises
        DocumentError InvalidDocument when there is none or it is not valid."""
        return resolve_document(name_or_path, version, registry=self.registry,
                                plugins=self._plugin_names)

    def _plugin_document(self, name: str) -> Document:
        return self.find_document(name).document

    # --- SendCommand ---------------------------------------------------------------------------

    def prepare(self, document: str | ResolvedDocument, *,
                parameters: Mapping[str, Any] | None = None,
                instance_ids: Sequence[str] | None = None,
                targets: Sequence[Mapping[str, Any]] | None = None,
                document_version: str | None = None, max_concurrency: str | int | None = None,
                max_errors: str | int | None = None, timeout_seconds: int | None = None,
                comment: str = "") -> PreparedCommand:
        """Check everything, then write the Command and its Pending invocations; nothing runs.

        ``document`` is a file path, a registry name (``name[:version]``, or ``document_version``
        ``$DEFAULT``/``$LATEST``/a number), a bundled name, or a ``ResolvedDocument``.
        ``parameters`` are native values or AWS's list-of-strings form; ``instance_ids`` (node
        ids or names, at most 50) or ``targets`` (``[{"Key": "tag:role", "Values": ["web"]}]``,
        at most 5) choose the nodes (neither: this machine); ``max_concurrency`` and
        ``max_errors`` are a count or a percentage (``"10%"``; defaults 50 and 0);
        ``timeout_seconds`` (30-2,592,000) is both the delivery timeout and each invocation's
        overall timeout; ``comment`` is at most 100 characters.

        Raises (``code``): DocumentError / CommandError InvalidDocument (not found, not valid, not
        a Command document); ParameterError InvalidParameters (a value that is undeclared,
        missing or breaks its rules) or ParameterNotFound (a ``{{ssm:...}}`` value that cannot be
        read); CommandError InvalidParameters (comment, timeout); NodeError InvalidInstanceId (an
        unknown node), InvalidParameters (both or too many InstanceIds) or InvalidTarget; ApiError
        ValidationException (MaxConcurrency, MaxErrors).
        """
        resolved = (document if isinstance(document, ResolvedDocument)
                    else self.find_document(document, document_version))
        doc = resolved.document
        if doc.kind != "Command":
            raise CommandError(f"{resolved.name} is a {doc.kind} document (schemaVersion "
                               f"{doc.schema_version}); Run Command runs Command documents",
                               code="InvalidDocument")
        supplied = dict(parameters or {})
        values = resolve_parameters(doc.parameters, supplied, resolve_ssm=self.resolve_ssm)
        if len(comment) > MAX_COMMENT_CHARS:
            raise CommandError(f"Comment is longer than {MAX_COMMENT_CHARS} characters")
        if timeout_seconds is not None and not (
                MIN_TIMEOUT_SECONDS <= int(timeout_seconds) <= MAX_TIMEOUT_SECONDS):
            raise CommandError(f"TimeoutSeconds must be between {MIN_TIMEOUT_SECONDS} and "
                               f"{MAX_TIMEOUT_SECONDS}, got {timeout_seconds}")
        if not instance_ids and not targets:
            instance_ids = [self.nodes.ensure_self().node_id]
        nodes = self.nodes.resolve_targets(instance_ids, targets)
        concurrency = ratecontrol.MaxConcurrency.parse(max_concurrency).text
        errors = ratecontrol.MaxErrors.parse(max_errors).text
        command_id = str(uuid.uuid4())
        now = self.clock.time()
        with self.store.write() as conn:
            conn.execute(sa.insert(COMMANDS), {
                "command_id": command_id, "document_name": resolved.name,
                "document_version": resolved.version, "document_hash": resolved.hash,
                "document_content": doc.text, "comment": comment,
                "parameters": json.dumps(to_string_list_map(supplied)),
                "instance_ids": json.dumps([n.node_id for n in nodes] if instance_ids else []),
                "targets": json.dumps([dict(t) for t in targets or []]),
                "requested_at": now,
                "expires_after": now + (timeout_seconds or DEFAULT_TIMEOUT_SECONDS),
                "status": PENDING, "status_details": "Pending", "max_concurrency": concurrency,
                "max_errors": errors, "timeout_seconds": timeout_seconds,
                "target_count": len(nodes),
            })
            if nodes:
                conn.execute(sa.insert(INVOCATIONS), [
                    {"command_id": command_id, "instance_id": node.node_id, "position": i,
                     "instance_name": node.name, "requested_at": now, "status": PENDING,
                     "status_details": "Pending", "response_code": -1}
                    for i, node in enumerate(nodes)
                ])
            self._tokens[command_id] = self.ownership.insert(conn, COMMAND, command_id)
        return PreparedCommand(command_id, resolved, values, nodes, concurrency, errors,
                               timeout_seconds, now, Progress(total=len(nodes)))


    async def start_command(self, document: str | ResolvedDocument, *,
                            parameters: Mapping[str, Any] | None = None,
                            instance_ids: Sequence[str] | None = None,
                            targets: Sequence[Mapping[str, Any]] | None = None,
                            document_version: str | None = None,
                            max_concurrency: str | int | None = None,
                            max_errors: str | int | None = None,
                            timeout_seconds: int | None = None, comment: str = "",
                            on_output: OutputListener | None = None,
                            on_progress: ProgressListener | None = None) -> CommandHandle:
        """SendCommand in the running event loop; returns as soon as the command is sent.

        The request is ``prepare``'s (and raises as it does); ``on_output(instance_id, step,
        stream, chunk)`` receives live output, ``on_progress(progress)`` the counters."""
        prepared = self.prepare(
            document, parameters=parameters, instance_ids=instance_ids, targets=targets,
            document_version=document_version, max_concurrency=max_concurrency,
            max_errors=max_errors, timeout_seconds=timeout_seconds, comment=comment)
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._register(prepared, asyncio.get_running_loop())
        task = asyncio.ensure_future(self.execute(prepared, on_output=on_output,
                                                  on_progress=on_progress))
        task.add_done_callback(lambda t: _settle(future, t))
        return CommandHandle(self, prepared, future)

    def send_command(self, document: str | ResolvedDocument, *,
                     parameters: Mapping[str, Any] | None = None,
                     instance_ids: Sequence[str] | None = None,
                     targets: Sequence[Mapping[str, Any]] | None = None,
                     document_version: str | None = None,
                     max_concurrency: str | int | None = None,
                     max_errors: str | int | None = None,
                     timeout_seconds: int | None = None, comment: str = "",
                     on_output: OutputListener | None = None,
                     on_progress: ProgressListener | None = None) -> CommandHandle:
        """SendCommand from any thread: checks run here (and raise here, see ``prepare``); the
        fan-out runs in a thread with its own event loop. ``on_output(instance_id, step, stream,
        chunk)`` receives live output, ``on_progress(progress)`` the counters; both are called
        from that thread."""
        prepared = self.prepare(
            document, parameters=parameters, instance_ids=instance_ids, targets=targets,
            document_version=document_version, max_concurrency=max_concurrency,
            max_errors=max_errors, timeout_seconds=timeout_seconds, comment=comment)
        return self.run_prepared(prepared, on_output=on_output, on_progress=on_progress)

    def run_prepared(self, prepared: PreparedCommand, *, on_output: OutputListener | None = None,
                     on_progress: ProgressListener | None = None) -> CommandHandle:
        """Run a prepared command in a thread with its own event loop; returns at once."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        ready = threading.Event()

        def runner() -> None:
            loop = asyncio.new_event_loop()
            try:
                self._register(prepared, loop)
                ready.set()
                result = loop.run_until_complete(
                    self.execute(prepared, on_output=on_output, on_progress=on_progress))
                future.set_result(result)
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                ready.set()
                loop.close()

        threading.Thread(target=runner, name=f"ssm-local-command-{prepared.command_id[:8]}",
                         daemon=True).start()
        ready.wait()
        return CommandHandle(self, prepared, future)

    def _register(self, prepared: PreparedCommand, loop: asyncio.AbstractEventLoop) -> None:
        prepared.loop = loop
        with self._lock:
            self._active[prepared.command_id] = prepared

    # --- CancelCommand -------------------------------------------------------------------------

    def cancel_command(self, command_id: str, instance_ids: Sequence[str] | None = None) -> None:
        """CancelCommand: stop the whole command, or only the invocations on ``instance_ids``.
        A command whose owner is gone is Cancelled at once."""
        self.views.get_command(command_id)
        with self._lock:
            active = self._active.get(command_id)
        if active is None and not instance_ids and self.finish_orphaned(command_id, cancel=True):
            return
        if active is None or active.loop is None:
            # Running in another process (or finished): the runner polls this flag.
            if instance_ids:
                raise CommandError("cancelling single invocations works only in the process that "
                                   "runs the command", code="InvalidCommandId")
            with self.store.write() as conn:
                conn.execute(sa.update(COMMANDS).where(COMMANDS.c.command_id == command_id)
                             .values(cancel_requested=True))
            return
        loop = active.loop

        def fire() -> None:
            if instance_ids:
                for instance_id in instance_ids:
                    event = active.node_cancel.get(instance_id)
                    if event is not None:
                        event.set()
            elif active.cancel is not None:
                active.cancel.set()
                for event in active.node_cancel.values():
                    event.set()

        with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to cancel
            loop.call_soon_threadsafe(fire)

    # --- the fan-out ---------------------------------------------------------------------------

    async def execute(self, prepared: PreparedCommand, *, on_output: OutputListener | None = None,
                      on_progress: ProgressListener | None = None) -> dict[str, Any]:
        """Run a prepared command to the end; returns its ``Command`` shape."""
        self._register(prepared, asyncio.get_running_loop())
        command_id = prepared.command_id
        token = self._tokens.pop(command_id, None)
        try:
            if token is None or not self.ownership.hold(COMMAND, command_id, token):
                token = self.ownership.claim(COMMAND, command_id, what=f"Command {command_id}")
        except OwnerAlive as exc:
            with self._lock:
                self._active.pop(command_id, None)
            raise CommandError(exc.message, code="InvalidCommandId") from None
        fan_out = FanOut(self.store, self.nodes, self.clock, self.region, self.plugins,
                         self._plugin_document, self.executor_factory, self.parameter_store,
                         self.spool)
        try:
            await fan_out.run(prepared, on_output=on_output, on_progress=on_progress)
        finally:
            with self._lock:
                self._active.pop(command_id, None)
            await asyncio.to_thread(self.ownership.release, COMMAND, command_id, token)
        return self.get_command(command_id)

    def finish_orphaned(self, command_id: str, *, cancel: bool = False) -> bool:
        """Finish a command whose owner is gone (lease expired, or its process on this host is
        dead); True when this call finished it. With ``cancel`` (CancelCommand) every unfinished
        invocation ends Cancelled; otherwise running ones end Execution Timed Out (their reply
        was lost) and unsent ones Delivery Timed Out. Nothing happens to a finished command or
        one whose owner lives."""
        with self.store.read() as conn:
            row = conn.execute(sa.select(
                COMMANDS.c.status, COMMANDS.c.max_errors, COMMANDS.c.target_count,
                COMMANDS.c.cancel_requested).where(COMMANDS.c.command_id == command_id)).first()
        if row is None or row.status not in (PENDING, "InProgress", "Cancelling"):
            return False
        if self.ownership.alive(self.ownership.owner(COMMAND, command_id)):
            return False
        try:
            token = self.ownership.claim(COMMAND, command_id, what=f"Command {command_id}")
        except OwnerAlive:
            return False
        cancelled = cancel or bool(row.cancel_requested)
        now = self.clock.time()
        try:
            with self.store.write() as conn:
                invocations = conn.execute(sa.select(
                    INVOCATIONS.c.instance_id, INVOCATIONS.c.status_details).where(
                    INVOCATIONS.c.command_id == command_id)).all()
                details: list[InvocationStatusDetails] = []
                for invocation in invocations:
                    found = InvocationStatusDetails(invocation.status_details)
                    if not found.terminal:
                        found = (InvocationStatusDetails.CANCELLED if cancelled
                                 else InvocationStatusDetails.EXECUTION_TIMED_OUT
                                 if found is InvocationStatusDetails.IN_PROGRESS
                                 else InvocationStatusDetails.DELIVERY_TIMED_OUT)
                        conn.execute(sa.update(INVOCATIONS).where(
                            INVOCATIONS.c.command_id == command_id,
                            INVOCATIONS.c.instance_id == invocation.instance_id).values(
                            status=found.status, status_details=found.value, finished_at=now))
                    details.append(found)
                allowed = ratecontrol.MaxErrors.parse(row.max_errors).allowed(row.target_count)
                state = command_state(details, allowed_errors=allowed,
                                      cancel_requested=cancelled)
                conn.execute(sa.update(COMMANDS).where(COMMANDS.c.command_id == command_id)
                             .values(status=state.status,
                                     status_details=state.status_details.value,
                                     completed_count=state.completed_count,
                                     error_count=state.error_count,
                                     delivery_timed_out_count=state.delivery_timed_out_count,
                                     cancel_requested=cancelled))
        finally:
            self.ownership.release(COMMAND, command_id, token)
        return True

    # --- reads (``command_views``) -------------------------------------------------------------

    def get_command(self, command_id: str) -> dict[str, Any]:
        """The ``Command`` shape; CommandError InvalidCommandId when there is no such command. A
        command whose owner is gone is finished first (``finish_orphaned``)."""
        with self._lock:
            running_here = command_id in self._active
        if not running_here:
            self.finish_orphaned(command_id)
        return self.views.get_command(command_id)

    def list_commands(self, *, command_id: str | None = None, instance_id: str | None = None,
                      filters: Sequence[Mapping[str, str]] | None = None,
                      max_results: int | None = None, next_token: str | None = None
                      ) -> dict[str, Any]:
        """ListCommands: ``{"Commands": [...], "NextToken"?}``; see ``CommandViews.list_commands``."""
        return self.views.list_commands(command_id=command_id, instance_id=instance_id,
                                        filters=filters, max_results=max_results,
                                        next_token=next_token)

    def list_command_invocations(self, *, command_id: str | None = None,
                                 instance_id: str | None = None, details: bool = False,
                                 filters: Sequence[Mapping[str, str]] | None = None,
                                 max_results: int | None = None,
                                 next_token: str | None = None) -> dict[str, Any]:
        """ListCommandInvocations: ``{"CommandInvocations": [...], "NextToken"?}``; ``details``
        adds ``CommandPlugins``; see ``CommandViews.list_command_invocations``."""
        return self.views.list_command_invocations(
            command_id=command_id, instance_id=instance_id, details=details, filters=filters,
            max_results=max_results, next_token=next_token)

    def get_command_invocation(self, command_id: str, instance_id: str,
                               plugin_name: str | None = None) -> dict[str, Any]:
        """GetCommandInvocation; see ``CommandViews.get_command_invocation``."""
        return self.views.get_command_invocation(command_id, instance_id, plugin_name)

    def get_command_output(self, command_id: str, instance_id: str,
                           plugin_name: str | None = None) -> tuple[str, str]:
        """The complete ``(stdout, stderr)`` of one invocation or one of its plugins."""
        return self.views.get_command_output(command_id, instance_id, plugin_name)


def _settle(future: concurrent.futures.Future[dict[str, Any]], task: asyncio.Future[Any]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


__all__ = [
    "CommandError",
    "CommandHandle",
    "CommandService",
    "PreparedCommand",
    "Progress",
    "parse_targets",
]

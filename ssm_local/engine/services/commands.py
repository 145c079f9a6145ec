"""Run Command: SendCommand, CancelCommand, ListCommands, ListCommandInvocations and
GetCommandInvocation, run for real on the registered nodes. ``CommandService.prepare`` does
everything that can be refused before anything runs (find the document, resolve and check the
parameters once, resolve the targets, parse MaxConcurrency and MaxErrors) and then writes the
Command and one Pending CommandInvocation per node in one transaction; a bad parameter value names
the parameter and leaves nothing in the store. ``execute`` fans the document out over the nodes with
the rate-control rules of ``ssm_local.engine.ratecontrol`` (ssm-semantics.md §4.6): at most MaxConcurrency
invocations in flight, no new ones once the errors pass MaxErrors (the unsent ones end
Cancelled/Terminated), cancellation that kills in-flight invocations and cancels the unsent ones,
and an optional overall timeout per invocation. Results are written in batches while the command
runs (the full output of every step is kept; the API's views are truncated as AWS truncates them).
``send_command`` (runs in a thread of its own) and ``start_command`` (runs in the caller's event
loop) return a ``CommandHandle`` to wait on or cancel. The read calls return AWS's shapes:
``Command``, ``CommandInvocation`` with ``CommandPlugins``, and GetCommandInvocation's result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ssm_local import documents
from ssm_local.documents import Document
from ssm_local.documents import library as bundled
from ssm_local.documents.parameters import resolve_parameters
from ssm_local.engine import ratecontrol
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.command import InvocationResult, NodeContext, PluginResult, run_invocation
from ssm_local.engine.command.results import (
    CANCELLED,
    FAILED,
    IN_PROGRESS,
    MAX_STDERR_CHARS,
    MAX_STDOUT_CHARS,
    PENDING,
    SUCCESS,
    TIMED_OUT,
    plugin_output,
)
from ssm_local.engine.executors import Executor, LocalExecutor, SshConnectionPool
from ssm_local.engine.ratecontrol import InvocationStatusDetails, RateController
from ssm_local.engine.services.nodes import Node, NodeRegistry
from ssm_local.engine.services.parameter_queries import decode_token, encode_token
from ssm_local.engine.store import Store
from ssm_local.engine.store.command_tables import CommandInvocationRow, CommandPluginRow, CommandRow
from ssm_local.grammar.errors import ApiError, DocumentError, ParameterError

DEFAULT_TIMEOUT_SECONDS = 3600
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 30, 2_592_000
MAX_COMMENT_CHARS = 100
FLUSH_INTERVAL = 0.05
CANCEL_POLL_INTERVAL = 0.5

_COMMANDS = CommandRow.__table__  # type: ignore[attr-defined]
_INVOCATIONS = CommandInvocationRow.__table__  # type: ignore[attr-defined]
_PLUGINS = CommandPluginRow.__table__  # type: ignore[attr-defined]

DocumentLookup = Callable[[str, str | None], "tuple[Document, str] | None"]
"""``lookup(name, version)`` -> (document, version) from a registry, or None when it has none."""
SsmResolver = Callable[[str], Any]
OutputListener = Callable[[str, str, str, bytes], None]
"""``listener(instance_id, step_name, stream, chunk)``: live output of every invocation."""


class CommandError(ApiError):
    """A SendCommand, CancelCommand or read request that AWS would refuse."""

    code = "InvalidParameters"


# --- small helpers -----------------------------------------------------------------------------


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return ""
    stamp = datetime.fromtimestamp(epoch, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def wire_parameters(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Parameters in AWS's wire form: every value a list of strings."""
    wire: dict[str, list[str]] = {}
    for name, value in values.items():
        items = value if isinstance(value, list) else [value]
        wire[name] = [v if isinstance(v, str) else json.dumps(v) for v in items]
    return wire


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


# --- documents ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedDocument:
    """The document a command runs, with the name and version it is reported under."""

    name: str
    version: str
    document: Document

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.document.text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def load_document(text: str, source: str) -> Document:
    """Load and validate; cached, as the same document is sent again and again (it is frozen)."""
    document = documents.load(text, source=source)
    # The 64 KB limit is CreateDocument's; AWS runs its own larger documents, and so does
    # ssm-local when it runs a file (docs/decisions.md).
    errors = [d for d in documents.validate(document)
              if d.is_error and d.code != "MaxDocumentSizeExceeded"]
    if errors:
        raise DocumentError(f"{source} is not valid: {errors[0].format_text()}",
                            code="InvalidDocument")
    return document


def resolve_document(name_or_path: str, version: str | None = None, *,
                     registry: DocumentLookup | None = None) -> ResolvedDocument:
    """A document file, else ``name[:version]`` in the registry, else a bundled document."""
    path = Path(name_or_path)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(f"cannot read {name_or_path}: {exc}", code="InvalidDocument") from None
        return ResolvedDocument(name_or_path, version or "$DEFAULT", load_document(text, name_or_path))
    name = name_or_path
    if version is None and ":" in name and not name.startswith("arn:"):
        name, _, version = name.rpartition(":")
    if registry is not None:
        found = registry(name, version)
        if found is not None:
            return ResolvedDocument(name, found[1], found[0])
    if name in bundled.names() and version in (None, "$DEFAULT", "$LATEST", "1"):
        return ResolvedDocument(name, version or "$DEFAULT", load_document(bundled.read(name), name))
    raise DocumentError(f"document {name_or_path!r} was not found: it is not a file, not in the "
                        f"registry and not bundled (bundled: {', '.join(bundled.names())})",
                        code="InvalidDocument")


def registry_lookup(registry: Any) -> DocumentLookup:
    """A ``DocumentLookup`` over the document registry (``ssm_local.engine.services.documents``)."""

    def lookup(name: str, version: str | None) -> tuple[Document, str] | None:
        try:
            found = registry.get_document(name, document_version=version)
        except ApiError as exc:
            if exc.code == "InvalidDocument":  # no document by that name: try the bundled ones
                return None
            raise
        return load_document(found["Content"], name), str(found.get("DocumentVersion") or "$DEFAULT")

    return lookup


def parameter_store_resolver(parameters: Any) -> SsmResolver:
    """Resolves ``{{ssm:name}}`` through the Parameter Store; a StringList becomes a list."""

    def resolve(name: str) -> Any:
        try:
            parameter = parameters.get_parameter(name)
        except ApiError as exc:
            raise ParameterError(f"{{{{ssm:{name}}}}} cannot be resolved: {exc.message}",
                                 code="ParameterNotFound") from None
        return parameter.value.split(",") if parameter.type == "StringList" else parameter.value

    return resolve


# --- progress and handles ----------------------------------------------------------------------


@dataclass
class Progress:
    """Counters of a running command, for progress displays."""

    total: int
    in_flight: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    status: str = PENDING

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.cancelled


@dataclass
class PreparedCommand:
    """A command that passed every check and is in the store, Pending, ready to run."""

    command_id: str
    resolved: ResolvedDocument
    parameters: dict[str, Any]
    nodes: list[Node]
    max_concurrency: str
    max_errors: str
    timeout_seconds: int | None
    requested_at: float
    progress: Progress
    cancel: asyncio.Event | None = None
    node_cancel: dict[str, asyncio.Event] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None


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
        return self._service.list_command_invocations(
            command_id=self.command_id, details=details)["CommandInvocations"]

    def result(self) -> dict[str, Any]:
        """``{"Command": ..., "CommandInvocations": [...]}``: what ``run --output json`` prints."""
        return {"Command": self.command(), "CommandInvocations": self.invocations()}


# --- the service -------------------------------------------------------------------------------


class CommandService:
    """Run Command over the nodes of a ``NodeRegistry``, with history in a ``Store``."""

    def __init__(self, store: Store, nodes: NodeRegistry, *, region: str = "us-east-1",
                 clock: Clock | None = None, registry: DocumentLookup | None = None,
                 resolve_ssm: SsmResolver | None = None,
                 executor_factory: Callable[[Node], Executor] | None = None) -> None:
        self.store = store
        self.nodes = nodes
        self.region = region
        self.clock: Clock = clock or SystemClock()
        self.registry = registry
        self.resolve_ssm = resolve_ssm
        self.executor_factory = executor_factory
        self._active: dict[str, PreparedCommand] = {}
        self._lock = threading.Lock()

    def find_document(self, name_or_path: str, version: str | None = None) -> ResolvedDocument:
        return resolve_document(name_or_path, version, registry=self.registry)

    def _plugin_document(self, name: str) -> Document:
        return self.find_document(name).document

    # --- SendCommand ---------------------------------------------------------------------------

    def prepare(self, document: str | ResolvedDocument, *, parameters: Mapping[str, Any] | None = None,
                instance_ids: Sequence[str] | None = None,
                targets: Sequence[Mapping[str, Any]] | None = None,
                document_version: str | None = None, max_concurrency: str | int | None = None,
                max_errors: str | int | None = None, timeout_seconds: int | None = None,
                comment: str = "") -> PreparedCommand:
        """Check everything, then write the Command and its Pending invocations; nothing runs."""
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
            conn.execute(sa.insert(_COMMANDS), {
                "command_id": command_id, "document_name": resolved.name,
                "document_version": resolved.version, "document_hash": resolved.hash,
                "document_content": doc.text, "comment": comment,
                "parameters": json.dumps(wire_parameters(supplied)),
                "instance_ids": json.dumps([n.node_id for n in nodes] if instance_ids else []),
                "targets": json.dumps([dict(t) for t in targets or []]),
                "requested_at": now,
                "expires_after": now + (timeout_seconds or DEFAULT_TIMEOUT_SECONDS),
                "status": PENDING, "status_details": "Pending", "max_concurrency": concurrency,
                "max_errors": errors, "timeout_seconds": timeout_seconds,
                "target_count": len(nodes),
            })
            if nodes:
                conn.execute(sa.insert(_INVOCATIONS), [
                    {"command_id": command_id, "instance_id": node.node_id, "position": i,
                     "instance_name": node.name, "requested_at": now, "status": PENDING,
                     "status_details": "Pending", "response_code": -1}
                    for i, node in enumerate(nodes)
                ])
        return PreparedCommand(command_id, resolved, values, nodes, concurrency, errors,
                               timeout_seconds, now, Progress(total=len(nodes)))

    async def start_command(self, document: str | ResolvedDocument, *,
                            on_output: OutputListener | None = None,
                            on_progress: Callable[[Progress], None] | None = None,
                            **request: Any) -> CommandHandle:
        """SendCommand in the running event loop; returns as soon as the command is sent."""
        prepared = self.prepare(document, **request)
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._register(prepared, asyncio.get_running_loop())
        task = asyncio.ensure_future(self.execute(prepared, on_output=on_output,
                                                  on_progress=on_progress))
        task.add_done_callback(lambda t: _settle(future, t))
        return CommandHandle(self, prepared, future)

    def send_command(self, document: str | ResolvedDocument, *,
                     on_output: OutputListener | None = None,
                     on_progress: Callable[[Progress], None] | None = None,
                     **request: Any) -> CommandHandle:
        """SendCommand from any thread: checks run here (and raise here); the fan-out runs in a
        thread with its own event loop."""
        prepared = self.prepare(document, **request)
        return self.run_prepared(prepared, on_output=on_output, on_progress=on_progress)

    def run_prepared(self, prepared: PreparedCommand, *, on_output: OutputListener | None = None,
                     on_progress: Callable[[Progress], None] | None = None) -> CommandHandle:
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
        """CancelCommand: stop the whole command, or only the invocations on ``instance_ids``."""
        self.get_command(command_id)
        with self._lock:
            active = self._active.get(command_id)
        if active is None or active.loop is None:
            # Running in another process (or finished): the runner polls this flag.
            if instance_ids:
                raise CommandError("cancelling single invocations works only in the process that "
                                   "runs the command", code="InvalidCommandId")
            with self.store.write() as conn:
                conn.execute(sa.update(_COMMANDS).where(_COMMANDS.c.command_id == command_id)
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
                      on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
        """Run a prepared command to the end; returns its ``Command`` shape."""
        loop = asyncio.get_running_loop()
        prepared.loop = loop
        with self._lock:
            self._active[prepared.command_id] = prepared
        cancel = prepared.cancel = asyncio.Event()
        prepared.node_cancel = {n.node_id: asyncio.Event() for n in prepared.nodes}
        by_id = {n.node_id: n for n in prepared.nodes}
        controller = RateController(
            list(by_id), max_concurrency=prepared.max_concurrency,
            max_errors=prepared.max_errors, delivery_timeout_seconds=prepared.timeout_seconds,
            clock=self.clock)
        persister = _Persister(self.store, prepared.command_id)
        progress = prepared.progress
        pool = SshConnectionPool()
        local = LocalExecutor()
        closed: set[str] = set()
        closed_unsent: list[bool] = []

        def report() -> None:
            progress.in_flight = len(controller.in_flight)
            if on_progress is not None:
                on_progress(progress)

        def record_unsent() -> None:
            # Unsent targets close all at once (MaxErrors passed, cancel, delivery timeout),
            # and always leave the unsent list empty: one scan after that is enough.
            if controller.unsent or closed_unsent:
                return
            closed_unsent.append(True)
            for state in controller.invocations():
                if state.target not in closed and state.status_details in _NOT_SENT:
                    closed.add(state.target)
                    progress.cancelled += 1
                    persister.not_sent(state.target, state.status, state.status_details.value)

        def command_values() -> dict[str, Any]:
            state = controller.state()
            progress.status = state.status
            return {"status": state.status, "status_details": state.status_details.value,
                    "completed_count": state.completed_count, "error_count": state.error_count,
                    "delivery_timed_out_count": state.delivery_timed_out_count}

        def record_state() -> None:
            persister.command_changed(command_values)

        async def invoke(node: Node) -> InvocationResult:
            persister.started(node.node_id, self.clock.time())
            return await self._invoke(prepared, node, local, pool, on_output)

        running: dict[str, asyncio.Future[InvocationResult]] = {}
        all_done = asyncio.Event()

        def send() -> None:
            if cancel.is_set() and not controller.cancel_requested:
                for target in controller.cancel():
                    prepared.node_cancel[target].set()
            for target in controller.next_targets():
                task = asyncio.ensure_future(invoke(by_id[target]))
                running[target] = task
                task.add_done_callback(functools.partial(finish, target))
            record_unsent()
            record_state()
            report()
            if not running and controller.finished:
                all_done.set()

        broken: list[BaseException] = []

        def finish(target: str, task: asyncio.Future[InvocationResult]) -> None:
            # A done-callback: an exception here would only be logged by the loop and the
            # command would wait for ever, so it is kept and re-raised by the main loop.
            running.pop(target, None)
            if task.cancelled():
                return
            try:
                result = task.result()
                details = invocation_details(result)
                controller.complete(target, details)
                closed.add(target)
                if details is InvocationStatusDetails.SUCCESS:
                    progress.succeeded += 1
                elif details is InvocationStatusDetails.CANCELLED:
                    progress.cancelled += 1
                else:
                    progress.failed += 1
                persister.finished(target, result)
                send()
            except BaseException as exc:
                broken.append(exc)
                all_done.set()

        async def on_cancel() -> None:
            await cancel.wait()
            send()

        canceller = asyncio.ensure_future(on_cancel())
        flusher = asyncio.ensure_future(persister.run(cancel))
        try:
            send()
            while not all_done.is_set():
                deadline = controller.deadline()
                timeout = None if deadline is None else max(deadline - self.clock.time(), 0.01)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_done.wait(), timeout)
                if not all_done.is_set():
                    send()  # the delivery timeout passed: expire the unsent targets
            if broken:
                raise broken[0]
            record_unsent()
            record_state()
        except BaseException:
            # Whatever went wrong, the command must not stay InProgress in the store.
            persister.command_changed(lambda: {"status": FAILED, "status_details": "Failed"})
            raise
        finally:
            canceller.cancel()
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), canceller, return_exceptions=True)
            await pool.aclose()
            await local.aclose()
            persister.stop()
            await flusher
            with self._lock:
                self._active.pop(prepared.command_id, None)
        report()
        return self.get_command(prepared.command_id)

    async def _invoke(self, prepared: PreparedCommand, node: Node, local: Executor,
                      pool: SshConnectionPool, on_output: OutputListener | None) -> InvocationResult:
        loop = asyncio.get_running_loop()
        executor = (self.executor_factory(node) if self.executor_factory is not None
                    else self.nodes.executor_for(node, local=local, pool=pool))
        sink = None
        if on_output is not None:
            node_id = node.node_id

            def sink(step: str, stream: str, chunk: bytes) -> None:
                on_output(node_id, step, stream, chunk)

        context = NodeContext(
            node_id=node.node_id, executor=executor, command_id=prepared.command_id,
            platform=node.platform_type, region=self.region,
            work_dir=self.nodes.work_dir(node, prepared.command_id),
            resolve_document=self._plugin_document, cancel=prepared.node_cancel[node.node_id],
            on_output=sink, clock=self.clock,
            deadline=(loop.time() + prepared.timeout_seconds
                      if prepared.timeout_seconds is not None else None),
        )
        started = self.clock.now()
        try:
            return await run_invocation(prepared.resolved.document, prepared.parameters, context)
        except Exception as exc:  # a bug below must not take the other invocations down
            step = prepared.resolved.document.steps[0] if prepared.resolved.document.steps else None
            failed = PluginResult(step.name if step else "ssm-local", step.action if step else "",
                                  FAILED, "Failed", -1, started, self.clock.now(),
                                  stderr=f"ssm-local internal error: {type(exc).__name__}: {exc}\n")
            return InvocationResult.aggregate([failed], started, self.clock.now())

    # --- reads ---------------------------------------------------------------------------------

    def get_command(self, command_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = conn.execute(sa.select(_COMMANDS).where(
                _COMMANDS.c.command_id == command_id)).mappings().first()
        if row is None:
            raise CommandError(f"command {command_id!r} does not exist", code="InvalidCommandId")
        return self._command_shape(row)

    def list_commands(self, *, command_id: str | None = None, instance_id: str | None = None,
                      filters: Sequence[Mapping[str, str]] | None = None,
                      max_results: int | None = None, next_token: str | None = None
                      ) -> dict[str, Any]:
        """ListCommands, newest first, with AWS's filters and NextToken pages."""
        query = sa.select(_COMMANDS).order_by(_COMMANDS.c.requested_at.desc(),
                                              _COMMANDS.c.command_id)
        if command_id is not None:
            query = query.where(_COMMANDS.c.command_id == command_id)
        if instance_id is not None:
            query = query.where(_COMMANDS.c.command_id.in_(
                sa.select(_INVOCATIONS.c.command_id).where(
                    _INVOCATIONS.c.instance_id == instance_id)))
        query = _filtered(query, _COMMANDS, filters)
        rows, token = self._page(query, "ListCommands", max_results, next_token)
        if command_id is not None and not rows and next_token is None:
            raise CommandError(f"command {command_id!r} does not exist", code="InvalidCommandId")
        return _with_token({"Commands": [self._command_shape(row) for row in rows]}, token)

    def list_command_invocations(self, *, command_id: str | None = None,
                                 instance_id: str | None = None, details: bool = False,
                                 filters: Sequence[Mapping[str, str]] | None = None,
                                 max_results: int | None = None,
                                 next_token: str | None = None) -> dict[str, Any]:
        """ListCommandInvocations; ``details`` adds ``CommandPlugins``."""
        query = (sa.select(_INVOCATIONS, _COMMANDS.c.document_name, _COMMANDS.c.document_version,
                           _COMMANDS.c.comment)
                 .join(_COMMANDS, _COMMANDS.c.command_id == _INVOCATIONS.c.command_id)
                 .order_by(_COMMANDS.c.requested_at.desc(), _INVOCATIONS.c.command_id,
                           _INVOCATIONS.c.position))
        if command_id is not None:
            query = query.where(_INVOCATIONS.c.command_id == command_id)
        if instance_id is not None:
            query = query.where(_INVOCATIONS.c.instance_id == instance_id)
        query = _filtered(query, _INVOCATIONS, filters)
        rows, token = self._page(query, "ListCommandInvocations", max_results, next_token)
        plugins: dict[tuple[str, str], list[Any]] = {}
        if rows:
            keys = {(row["command_id"], row["instance_id"]) for row in rows}
            plugin_query = sa.select(_PLUGINS).where(
                _PLUGINS.c.command_id.in_({k[0] for k in keys})).order_by(_PLUGINS.c.position)
            if instance_id is not None:
                plugin_query = plugin_query.where(_PLUGINS.c.instance_id == instance_id)
            with self.store.read() as conn:
                for plugin in conn.execute(plugin_query).mappings():
                    key = (plugin["command_id"], plugin["instance_id"])
                    if key in keys:
                        plugins.setdefault(key, []).append(plugin)
        if command_id is not None and not rows and next_token is None:
            self.get_command(command_id)
        shapes = []
        for row in rows:
            own = plugins.get((row["command_id"], row["instance_id"]), [])
            shape = self._invocation_shape(row, own)
            shape["CommandPlugins"] = [self._plugin_shape(p) for p in own] if details else []
            shapes.append(shape)
        return _with_token({"CommandInvocations": shapes}, token)

    def _page(self, query: Any, kind: str, max_results: int | None,
              next_token: str | None) -> tuple[list[Any], str | None]:
        if max_results is not None and not 1 <= max_results <= MAX_RESULTS:
            raise CommandError(f"MaxResults must be between 1 and {MAX_RESULTS}",
                               code="ValidationException")
        offset = decode_token(kind, next_token) or 0
        if not isinstance(offset, int) or offset < 0:
            raise CommandError("The NextToken is not valid for this request.",
                               code="InvalidNextToken")
        if max_results is not None:
            query = query.limit(max_results + 1)
        with self.store.read() as conn:
            rows = list(conn.execute(query.offset(offset)).mappings().all())
        if max_results is not None and len(rows) > max_results:
            return rows[:max_results], encode_token(kind, offset + max_results)
        return rows, None

    def get_command_invocation(self, command_id: str, instance_id: str,
                               plugin_name: str | None = None) -> dict[str, Any]:
        """GetCommandInvocation: one plugin's result (the only one, or ``plugin_name``)."""
        invocation, plugins = self._invocation_rows(command_id, instance_id)
        if plugin_name is not None:
            chosen = [p for p in plugins if p["name"] == plugin_name]
            if not chosen:
                raise CommandError(f"invocation {command_id}/{instance_id} has no plugin "
                                   f"{plugin_name!r}", code="InvalidPluginName")
        elif len(plugins) > 1:
            raise CommandError(f"the document has {len(plugins)} steps; give the PluginName of "
                               f"one ({', '.join(p['name'] for p in plugins)})",
                               code="InvalidPluginName")
        else:
            chosen = plugins
        base = {
            "CommandId": command_id, "InstanceId": instance_id,
            "Comment": invocation["comment"], "DocumentName": invocation["document_name"],
            "DocumentVersion": invocation["document_version"],
            "StandardOutputUrl": "", "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
        }
        if not chosen:  # nothing ran yet
            return {**base, "PluginName": plugin_name or "", "ResponseCode": -1,
                    "ExecutionStartDateTime": "", "ExecutionElapsedTime": "",
                    "ExecutionEndDateTime": "", "Status": invocation["status"],
                    "StatusDetails": invocation["status_details"],
                    "StandardOutputContent": "", "StandardErrorContent": ""}
        plugin = chosen[0]
        started, finished = plugin["started_at"], plugin["finished_at"]
        elapsed = (f"PT{max(finished - started, 0):.3f}S"
                   if started is not None and finished is not None else "")
        return {**base, "PluginName": plugin["name"], "ResponseCode": plugin["response_code"],
                "ExecutionStartDateTime": _iso(started), "ExecutionElapsedTime": elapsed,
                "ExecutionEndDateTime": _iso(finished), "Status": plugin["status"],
                "StatusDetails": plugin["status_details"],
                "StandardOutputContent": plugin["stdout"][:MAX_STDOUT_CHARS],
                "StandardErrorContent": plugin["stderr"][:MAX_STDERR_CHARS]}

    def get_command_output(self, command_id: str, instance_id: str,
                           plugin_name: str | None = None) -> tuple[str, str]:
        """The complete (untruncated) stdout and stderr of one invocation or one of its plugins."""
        _, plugins = self._invocation_rows(command_id, instance_id)
        if plugin_name is not None:
            plugins = [p for p in plugins if p["name"] == plugin_name]
            if not plugins:
                raise CommandError(f"invocation {command_id}/{instance_id} has no plugin "
                                   f"{plugin_name!r}", code="InvalidPluginName")
        return "".join(p["stdout"] for p in plugins), "".join(p["stderr"] for p in plugins)

    def _invocation_rows(self, command_id: str, instance_id: str) -> tuple[Any, list[Any]]:
        with self.store.read() as conn:
            invocation = conn.execute(
                sa.select(_INVOCATIONS, _COMMANDS.c.document_name, _COMMANDS.c.document_version,
                          _COMMANDS.c.comment)
                .join(_COMMANDS, _COMMANDS.c.command_id == _INVOCATIONS.c.command_id)
                .where(_INVOCATIONS.c.command_id == command_id,
                       _INVOCATIONS.c.instance_id == instance_id)).mappings().first()
            plugins = conn.execute(sa.select(_PLUGINS).where(
                _PLUGINS.c.command_id == command_id, _PLUGINS.c.instance_id == instance_id)
                .order_by(_PLUGINS.c.position)).mappings().all()
        if invocation is None:
            self.get_command(command_id)
            raise CommandError(f"command {command_id} has no invocation on {instance_id!r}",
                               code="InvocationDoesNotExist")
        return invocation, list(plugins)

    def _command_shape(self, row: Any) -> dict[str, Any]:
        return {
            "CommandId": row["command_id"], "DocumentName": row["document_name"],
            "DocumentVersion": row["document_version"], "Comment": row["comment"],
            "ExpiresAfter": _dt(row["expires_after"]),
            "Parameters": json.loads(row["parameters"]),
            "InstanceIds": json.loads(row["instance_ids"]), "Targets": json.loads(row["targets"]),
            "RequestedDateTime": _dt(row["requested_at"]), "Status": row["status"],
            "StatusDetails": row["status_details"], "OutputS3Region": self.region,
            "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
            "MaxConcurrency": row["max_concurrency"], "MaxErrors": row["max_errors"],
            "TargetCount": row["target_count"], "CompletedCount": row["completed_count"],
            "ErrorCount": row["error_count"],
            "DeliveryTimedOutCount": row["delivery_timed_out_count"], "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [],
                                   "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
            "TimeoutSeconds": row["timeout_seconds"] or DEFAULT_TIMEOUT_SECONDS,
            "TriggeredAlarms": [],
        }

    def _invocation_shape(self, row: Any, plugins: Sequence[Any]) -> dict[str, Any]:
        trace = plugin_output("".join(p["stdout"] for p in plugins),
                              "".join(p["stderr"] for p in plugins)) if plugins else ""
        return {
            "CommandId": row["command_id"], "InstanceId": row["instance_id"],
            "InstanceName": row["instance_name"], "Comment": row["comment"],
            "DocumentName": row["document_name"], "DocumentVersion": row["document_version"],
            "RequestedDateTime": _dt(row["requested_at"]), "Status": row["status"],
            "StatusDetails": row["status_details"], "TraceOutput": trace,
            "StandardOutputUrl": "", "StandardErrorUrl": "", "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [],
                                   "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "",
                                       "CloudWatchOutputEnabled": False},
        }

    def _plugin_shape(self, row: Any) -> dict[str, Any]:
        result = PluginResult(row["name"], row["plugin"], row["status"], row["status_details"],
                              row["response_code"], _dt(row["started_at"]),
                              _dt(row["finished_at"]), row["stdout"], row["stderr"])
        shape = result.to_api()
        shape["OutputS3Region"] = self.region
        return shape


_NOT_SENT = frozenset({InvocationStatusDetails.TERMINATED, InvocationStatusDetails.CANCELLED,
                       InvocationStatusDetails.DELIVERY_TIMED_OUT})


def invocation_details(result: InvocationResult) -> InvocationStatusDetails:
    """The StatusDetails rate control counts for one finished invocation."""
    if result.status == SUCCESS:
        return InvocationStatusDetails.SUCCESS
    if result.status == TIMED_OUT:
        return InvocationStatusDetails.EXECUTION_TIMED_OUT
    if result.status == CANCELLED:
        return InvocationStatusDetails.CANCELLED
    if result.status_details == InvocationStatusDetails.UNDELIVERABLE.value:
        return InvocationStatusDetails.UNDELIVERABLE
    return InvocationStatusDetails.FAILED


MAX_RESULTS = 50
_FILTER_KEYS = ("InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName")


def _filtered(query: Any, table: Any, filters: Sequence[Mapping[str, str]] | None) -> Any:
    """ListCommands / ListCommandInvocations filters (``{"key": ..., "value": ...}``)."""
    for item in filters or []:
        key, value = item.get("key"), item.get("value")
        if key not in _FILTER_KEYS or not isinstance(value, str) or not value:
            raise CommandError(f"filter key {key!r} is not valid: use one of "
                               f"{', '.join(_FILTER_KEYS)} with a value", code="InvalidFilterKey")
        if key in ("InvokedAfter", "InvokedBefore"):
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"{key} needs an ISO 8601 date, got {value!r}",
                                   code="InvalidFilterValue") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            column = table.c.requested_at
            query = query.where(column >= when.timestamp() if key == "InvokedAfter"
                                else column <= when.timestamp())
        elif key == "Status":
            query = query.where(table.c.status == value)
        elif key == "ExecutionStage":
            if value not in ("Executing", "Complete"):
                raise CommandError("ExecutionStage is Executing or Complete",
                                   code="InvalidFilterValue")
            running = table.c.status.in_((PENDING, IN_PROGRESS, "Delayed", "Cancelling"))
            query = query.where(running if value == "Executing" else sa.not_(running))
        else:
            query = query.where(_COMMANDS.c.document_name == value)
    return query


def _with_token(shape: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        shape["NextToken"] = token
    return shape


def _settle(future: concurrent.futures.Future[dict[str, Any]], task: asyncio.Future[Any]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


# --- batched persistence -----------------------------------------------------------------------


class _Persister:
    """Collects state changes of one command and writes them in batches, off the event loop.

    Changes are coalesced per invocation (an invocation that started and finished since the last
    write is written once, finished) and written with one executemany per kind of statement.
    """

    def __init__(self, store: Store, command_id: str) -> None:
        self.store = store
        self.command_id = command_id
        self._started: dict[str, float] = {}
        self._finished: dict[str, InvocationResult] = {}
        self._not_sent: dict[str, tuple[str, str]] = {}
        self._command_values: Callable[[], dict[str, Any]] | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def started(self, instance_id: str, at: float) -> None:
        self._started[instance_id] = at
        self._wake.set()

    def finished(self, instance_id: str, result: InvocationResult) -> None:
        self._started.pop(instance_id, None)
        self._finished[instance_id] = result
        self._wake.set()

    def not_sent(self, instance_id: str, status: str, details: str) -> None:
        self._not_sent[instance_id] = (status, details)
        self._wake.set()

    def command_changed(self, values: Callable[[], dict[str, Any]]) -> None:
        """The command's row changed; ``values()`` gives its columns when the batch is written."""
        self._command_values = values
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self, cancel: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        last_poll = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CANCEL_POLL_INTERVAL)
            self._wake.clear()
            if not self._stop.is_set():  # let a batch gather, unless the run is over
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), FLUSH_INTERVAL)
            command = self._command_values() if self._command_values is not None else {}
            self._command_values = None
            batch = (self._started, self._finished, self._not_sent, command)
            self._started, self._finished, self._not_sent = {}, {}, {}
            if any(batch):
                await asyncio.to_thread(self._write, *batch)
            if self._stop.is_set():
                if not any((self._started, self._finished, self._not_sent, self._command_values)):
                    return
                continue
            if cancel is not None and not cancel.is_set() and (
                    loop.time() - last_poll >= CANCEL_POLL_INTERVAL):
                last_poll = loop.time()
                if await asyncio.to_thread(self._cancel_requested):
                    cancel.set()

    def _cancel_requested(self) -> bool:
        with self.store.read() as conn:
            return bool(conn.execute(sa.select(_COMMANDS.c.cancel_requested).where(
                _COMMANDS.c.command_id == self.command_id)).scalar())

    def _write(self, started: dict[str, float], finished: dict[str, InvocationResult],
               not_sent: dict[str, tuple[str, str]], command: dict[str, Any]) -> None:
        one = sa.and_(_INVOCATIONS.c.command_id == self.command_id,
                      _INVOCATIONS.c.instance_id == sa.bindparam("iid"))
        with self.store.write() as conn:
            if started:
                conn.execute(
                    sa.update(_INVOCATIONS).where(one, _INVOCATIONS.c.status == PENDING).values(
                        status=IN_PROGRESS, status_details="In Progress",
                        started_at=sa.bindparam("at")),
                    [{"iid": k, "at": v} for k, v in started.items()])
            if finished:
                conn.execute(
                    sa.update(_INVOCATIONS).where(one).values(
                        status=sa.bindparam("st"), status_details=sa.bindparam("sd"),
                        response_code=sa.bindparam("rc"), started_at=sa.bindparam("t0"),
                        finished_at=sa.bindparam("t1")),
                    [{"iid": k, "st": r.status, "sd": r.status_details, "rc": r.response_code,
                      "t0": _epoch(r.started_at), "t1": _epoch(r.finished_at)}
                     for k, r in finished.items()])
                plugins = [
                    {"command_id": self.command_id, "instance_id": k, "position": i,
                     "name": p.name, "plugin": p.plugin, "status": p.status,
                     "status_details": p.status_details, "response_code": p.response_code,
                     "started_at": _epoch(p.started_at), "finished_at": _epoch(p.finished_at),
                     "stdout": p.stdout, "stderr": p.stderr}
                    for k, r in finished.items() for i, p in enumerate(r.plugins)
                ]
                if plugins:
                    conn.execute(sa.insert(_PLUGINS), plugins)
            if not_sent:
                conn.execute(
                    sa.update(_INVOCATIONS).where(one).values(
                        status=sa.bindparam("st"), status_details=sa.bindparam("sd")),
                    [{"iid": k, "st": v[0], "sd": v[1]} for k, v in not_sent.items()])
            if command:
                conn.execute(sa.update(_COMMANDS).where(
                    _COMMANDS.c.command_id == self.command_id).values(**command))


__all__ = [
    "CommandError",
    "CommandHandle",
    "CommandService",
    "PreparedCommand",
    "Progress",
    "ResolvedDocument",
    "invocation_details",
    "load_document",
    "parameter_store_resolver",
    "parse_targets",
    "registry_lookup",
    "resolve_document",
    "wire_parameters",
]

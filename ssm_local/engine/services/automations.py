"""Automation executions as a service: start, run, signal, stop, describe and resume them.

``AutomationService.start`` loads and validates the runbook, resolves its parameters once
(``{{ssm:...}}`` defaults from the Parameter Store, then Automation defaults that refer to other
parameters or ``global:`` values), and writes the execution row and its ``Started`` event in one
transaction: a bad document or parameter leaves nothing behind. ``run`` drives the execution
with ``AutomationRunner`` until it ends, persisting every event. ``signal`` and ``stop`` store a
signal that the runner takes in (from this process or another); ``resume`` continues every
execution that a dead process left InProgress, Waiting or Cancelling. ``get`` returns
GetAutomationExecution's ``AutomationExecution`` and ``list`` the summaries, in AWS's shapes.

Every execution has an owner (``services.ownership``): the process that started it, or the one
that took it over with ``run``/``resume`` once its owner was gone; the owner renews its lease
while it runs. ``run`` and ``resume`` refuse an execution whose owner lives (``OwnerAlive``
names it) and take a dead owner's over atomically, so two resumes never run a step twice;
``stop`` of an execution with no live runner ends it at once, Cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ssm_local import documents
from ssm_local.documents import library
from ssm_local.documents.model import Document
from ssm_local.documents.parameters import resolve_parameters
from ssm_local.engine.automation.actions import AutomationAction, AutomationStarter, CommandSender
from ssm_local.engine.automation.approvers import approvers_of, refusal
from ssm_local.engine.automation.events import Event, Finished, Signal, WaitStarted, event_from_json, iso
from ssm_local.engine.automation.interpreter import replay, started_event
from ssm_local.engine.automation.outputs import document_outputs
from ssm_local.engine.automation.references import lookup_for
from ssm_local.engine.automation.runner import SENDER_KEY, AutomationRunner, RunnerOptions
from ssm_local.engine.automation.state import (
    CANCELLED,
    FAILED,
    IN_PROGRESS,
    PENDING,
    TERMINAL,
    TIMED_OUT,
    ExecutionState,
)
from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.services.ownership import AUTOMATION, Owner, OwnerAlive, Ownership
from ssm_local.engine.store.automation_tables import (
    AutomationEventRow,
    AutomationExecutionRow,
    AutomationSignalRow,
)
from ssm_local.engine.store.database import FastCursor, Store
from ssm_local.engine.substitution import render
from ssm_local.engine.wire import (
    drop_none,
    from_epoch,
    parse_iso8601,
    to_epoch,
    to_string,
    to_string_list_map,
)
from ssm_local.grammar.errors import ApiError, DocumentError, ParameterError, SsmLocalError, StoreError

EXECUTIONS = AutomationExecutionRow.__table__  # type: ignore[attr-defined]
EVENTS = AutomationEventRow.__table__  # type: ignore[attr-defined]
SIGNALS = AutomationSignalRow.__table__  # type: ignore[attr-defined]
SIGNAL_TYPES = ("Approve", "Reject", "StartStep", "StopStep", "Resume", "Revoke")
RESUMABLE = ("Pending", "InProgress", "Waiting", "Cancelling")
_PAYLOAD = json.JSONEncoder(default=str, separators=(",", ":"))
"""Events' JSON as the runner stores it (compact; one encoder, not one per event)."""


def _fail(code: str, message: str) -> ApiError:
    return ApiError(message, code=code)


def _epoch(text: str | None) -> float | None:
    """An event's ISO 8601 time as epoch seconds (None for no time)."""
    return to_epoch(parse_iso8601(text)) if text else None


class StoreLog:
    """The runner's ``EventLog`` on the store: one transaction per event.

    Each event is written as its JSON form (``to_json()``, the ``payload`` column) with the
    ``clock``'s epoch time (``at``). Events go in with a bare DB-API cursor
    (``Store.fast_write``): SQLAlchemy Core's per-statement cost would be most of a trivial
    step's time. The execution row is only touched when its status changes and at the end.
    Pending signals are looked for at most every ``signal_poll_seconds`` (real time, a rate
    limit on reads) unless ``notify`` says one was just stored here.
    """

    def __init__(self, store: Store, document: Document, clock: Clock, *,
                 signal_poll_seconds: float = 0.2) -> None:
        self.store = store
        self.document = document
        self.clock = clock
        self.signal_poll_seconds = signal_poll_seconds
        self._status_written: str | None = None
        self._next_signal_check = 0.0
        self._last_accept: frozenset[str] = frozenset()
        self._raw: Any = None
        self._cursor: FastCursor | None = None

    def notify(self) -> None:
        self._next_signal_check = 0.0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[FastCursor]:
        """One transaction on the log's own SQLite connection (kept open for the run, so no
        pool checkout per event); other databases use ``Store.fast_write``."""
        if self.store.dialect != "sqlite":
            with self.store.fast_write() as cursor:
                yield cursor
            return
        if self._raw is None:
            self._raw = self.store.engine.raw_connection()
            self._cursor = FastCursor(self._raw.cursor(), "sqlite")
        raw, kept = self._raw, self._cursor
        assert kept is not None
        try:
            kept.execute("BEGIN IMMEDIATE")
            yield kept
            kept.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                kept.execute("ROLLBACK")
            self.close()
            if isinstance(exc, Exception) and not isinstance(exc, SsmLocalError):
                raise StoreError(f"the store at {self.store.display_url} failed to record an "
                                 f"automation event: {exc}", code="StoreUnavailable") from None
            raise
        del raw

    def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.close()
        self._raw = None
        self._cursor = None

    def append(self, state: ExecutionState, events: list[tuple[int, Event]]) -> None:
        last_seq, last = events[-1]
        update: dict[str, Any] | None = None
        if isinstance(last, Finished):
            update = {"status": last.status, "end_time": _epoch(last.at),
                      "failure_message": last.message or state.failure_message,
                      "outputs": json.dumps(document_outputs(self.document, state, last.status),
                                            default=str),
                      "event_count": last_seq}
        else:
            status = _status_after(state, last)
            if status != self._status_written:
                update = {"status": status}
        now = self.clock.time()
        with self._transaction() as cursor:
            for seq, event in events:
                cursor.execute(
                    "INSERT INTO automation_events (execution_id, seq, type, payload, at) "
                    "VALUES (:execution_id, :seq, :type, :payload, :at)",
                    {"execution_id": state.execution_id, "seq": seq, "type": event.type,
                     "payload": _PAYLOAD.encode(event.to_json()),
                     "at": now})
            if update is not None:
                assignments = ", ".join(f"{column} = :{column}" for column in update)
                cursor.execute(f"UPDATE automation_executions SET {assignments} "
                               "WHERE execution_id = :execution_id",
                               {**update, "execution_id": state.execution_id})
        if update is not None:
            self._status_written = update["status"]

    def take_signals(self, execution_id: str, accept: frozenset[str]
                     ) -> list[tuple[str, dict[str, Any]]]:
        now = time.monotonic()
        if now < self._next_signal_check and accept == self._last_accept:
            return []
        self._last_accept = accept
        self._next_signal_check = now + self.signal_poll_seconds
        with self.store.read() as conn:
            pending = conn.execute(
                sa.select(SIGNALS.c.id).where(SIGNALS.c.execution_id == execution_id,
                                              SIGNALS.c.consumed.is_(False),
                                              SIGNALS.c.signal_type.in_(sorted(accept)))
                .limit(1)).first()
        if pending is None:
            return []
        self._next_signal_check = 0.0  # there may be more behind it
        with self.store.write() as conn:
            rows = conn.execute(
                sa.select(SIGNALS.c.id, SIGNALS.c.signal_type, SIGNALS.c.payload)
                .where(SIGNALS.c.execution_id == execution_id, SIGNALS.c.consumed.is_(False),
                       SIGNALS.c.signal_type.in_(sorted(accept)))
                .order_by(SIGNALS.c.id).limit(1)).all()
            if rows:
                conn.execute(SIGNALS.update().where(SIGNALS.c.id.in_([r.id for r in rows]))
                             .values(consumed=True))
        return [(r.signal_type, json.loads(r.payload)) for r in rows]


def _status_after(state: ExecutionState, event: Event) -> str:
    """The status the execution row shows once ``event`` is applied (an approximation that
    ``Finished`` always corrects)."""
    if isinstance(event, WaitStarted) and event.kind in ("pause", "approve", "interactive"):
        return "Waiting"
    if isinstance(event, Signal) and event.signal == "Cancel":
        return "Cancelling"
    if state.cancel_path or state.status == "Cancelling":
        return "Cancelling"
    return IN_PROGRESS


@dataclass
class AutomationHandle:
    """A started execution: await ``run()`` (or ``wait()``), ``signal()`` it or ``stop()`` it."""

    service: AutomationService
    execution_id: str
    runner: AutomationRunner | None = field(default=None, repr=False)

    async def run(self) -> dict[str, Any]:
        """Run to the end in this task and return GetAutomationExecution's shape."""
        state = await self.service.run(self.execution_id, handle=self)
        return self.service.shape(state)

    wait = run

    def signal(self, signal_type: str, payload: Mapping[str, Any] | None = None, *,
               identity: str | None = None) -> None:
        self.service.signal(self.execution_id, signal_type, payload, identity=identity)

    def stop(self) -> None:
        self.service.stop(self.execution_id)

    def status(self) -> str:
        return str(self.service.get(self.execution_id)["AutomationExecutionStatus"])


class AutomationService:
    """Automation executions in one store.

    ``actions`` maps action names to handlers (default ``BUILTIN_ACTIONS``; the mapping is read
    at every step, not copied). ``commands`` is the Run Command that aws:runCommand steps use and
    ``automations`` where aws:executeAutomation steps start their children: usually this service
    itself (``Engine`` sets both); without them those two actions fail the step. ``identity``
    is who sends signals when ``signal`` is not told (``Engine`` sets ``default_identity()``;
    None: nobody, and Approvers are not checked).
    ``lease_seconds`` is the owner's lease (default ``SSM_LOCAL_LEASE_SECONDS`` or 30 s).
    """

    def __init__(self, store: Store, *, region: str = "us-east-1",
                 account_id: str = "123456789012", clock: Clock | None = None,
                 resolve_document: Callable[[str, str | None], tuple[str, str, str]] | None = None,
                 resolve_ssm: Callable[[str], Any] | None = None,
                 actions: Mapping[str, AutomationAction] | None = None,
                 commands: CommandSender | None = None,
                 automations: AutomationStarter | None = None,
                 identity: str | None = None,
                 lease_seconds: float | None = None) -> None:
        self.store = store
        self.identity = identity
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.resolve_document = resolve_document
        self.resolve_ssm = resolve_ssm
        self.actions = actions
        self.commands = commands
        self.automations = automations
        self._handles: dict[str, AutomationHandle] = {}
        self._documents: dict[tuple[str, str, str], Document] = {}
        self.ownership = Ownership(store, self.clock, lease_seconds=lease_seconds)
        self._tokens: dict[str, str] = {}

    # -- starting ---------------------------------------------------------------------------

    def _document_text(self, name_or_text: str, version: str | None) -> tuple[str, str, str]:
        """``(name, version, content)`` for a registry or bundled name; text passes through."""
        if self.resolve_document is not None:
            try:
                return self.resolve_document(name_or_text, version)
            except (ApiError, KeyError):
                pass
        try:
            return name_or_text, "1", library.read(name_or_text)
        except KeyError:
            raise _fail("InvalidDocument",
                        f"Document with name {name_or_text} does not exist.") from None

    def start(self, document: str | Document, parameters: Mapping[str, Any] | None = None, *,
              document_name: str | None = None, document_version: str | None = None,
              mode: str = "Auto", aws_endpoint_url: str | None = None,
              attachments_dir: str | None = None, parent_execution_id: str | None = None
              ) -> AutomationHandle:
        """StartAutomationExecution. ``document`` is a loaded runbook, or a name in the
        registry / bundled library."""
        if mode not in ("Auto", "Interactive"):
            raise _fail("ValidationException", f"Mode must be Auto or Interactive, not {mode}")
        if isinstance(document, Document):
            loaded = document
            name = document_name or loaded.source
            version = document_version or "1"
        else:
            name, version, text = self._document_text(document, document_version)
            loaded = documents.load(text, source=name)
        if loaded.kind != "Automation":
            raise _fail("InvalidDocument",
                        f"{name} is a {loaded.kind} document; Automation needs schemaVersion 0.3")
        errors = [d for d in documents.validate(loaded) if d.is_error]
        if errors:
            raise DocumentError(f"{name} is not a valid runbook: {errors[0].format_text()}",
                                code="InvalidDocumentContent")
        try:
            values = resolve_parameters(loaded.parameters, dict(parameters or {}),
                                        resolve_ssm=self.resolve_ssm)
        except ParameterError as exc:
            raise _fail("InvalidAutomationExecutionParametersException", exc.message) from None
        execution_id = str(uuid.uuid4())
        values = self._substitute_defaults(loaded, values, dict(parameters or {}), execution_id)
        now = self.clock.now()
        event = started_event(execution_id, name, version, values, mode, now)
        options = {"aws_endpoint_url": aws_endpoint_url, "attachments_dir": attachments_dir}
        with self.store.write() as conn:
            conn.execute(sa.insert(EXECUTIONS).values(
                execution_id=execution_id, document_name=name, document_version=version,
                document_content=loaded.text, document_format=loaded.format,
                status=PENDING, mode=mode,
                parameters=json.dumps(values, default=str), outputs="{}",
                parent_execution_id=parent_execution_id, options=json.dumps(options),
                start_time=now.timestamp(), event_count=1))
            conn.execute(sa.insert(EVENTS).values(
                execution_id=execution_id, seq=1, type="Started",
                payload=json.dumps(event.to_json(), default=str), at=self.clock.time()))
            self._tokens[execution_id] = self.ownership.insert(conn, AUTOMATION, execution_id)
        self._documents[(loaded.text, name, loaded.format)] = loaded
        handle = AutomationHandle(self, execution_id)
        self._handles[execution_id] = handle
        return handle

    def start_with_targets(self, document: str, parameters: Mapping[str, Any] | None = None, *,
                           target_parameter_name: str | None = None,
                           targets: list[dict[str, Any]] | None = None,
                           target_maps: list[dict[str, Any]] | None = None,
                           max_concurrency: str | None = None, max_errors: str | None = None,
                           document_version: str | None = None,
                           aws_endpoint_url: str | None = None) -> AutomationHandle:
        """A rate-controlled StartAutomationExecution: one child execution per target. The
        parent execution runs a single aws:executeAutomation step that fans out with
        MaxConcurrency (default 10) and MaxErrors (default 0)."""
        if (target_maps is None) == (target_parameter_name is None):
            raise _fail("ValidationException",
                        "give TargetParameterName with Targets, or TargetMaps")
        name, version, text = self._document_text(document, document_version)
        loaded = documents.load(text, source=name)
        if target_parameter_name is not None and target_parameter_name not in loaded.parameters:
            raise _fail("InvalidAutomationExecutionParametersException",
                        f"TargetParameterName {target_parameter_name} is not a parameter of "
                        f"{name}")
        # The caller's values travel as the parent's parameters, each input one whole
        # placeholder: inserted once as data, never read as the parent's template text.
        supplied: dict[str, Any] = {"RuntimeParameters": dict(parameters or {})}
        declared: dict[str, Any] = {"RuntimeParameters": {"type": "StringMap"}}
        inputs: dict[str, Any] = {"DocumentName": name, "DocumentVersion": version,
                                  "RuntimeParameters": "{{ RuntimeParameters }}"}
        key = "TargetMaps" if target_maps is not None else "Targets"
        supplied[key] = target_maps if target_maps is not None else targets or []
        declared[key] = {"type": "MapList"}
        inputs[key] = "{{ " + key + " }}"
        if target_maps is None:
            inputs["TargetParameterName"] = target_parameter_name
        if max_concurrency is not None:
            inputs["MaxConcurrency"] = str(max_concurrency)
        if max_errors is not None:
            inputs["MaxErrors"] = str(max_errors)
        parent = documents.load(json.dumps({
            "schemaVersion": "0.3",
            "description": f"Rate-controlled execution of {name}",
            "parameters": declared,
            "mainSteps": [{"name": "ExecuteAutomationForTargets",
                           "action": "aws:executeAutomation", "inputs": inputs}],
        }), source=name)
        return self.start(parent, supplied, document_name=name, document_version=version,
                          aws_endpoint_url=aws_endpoint_url)

    def _substitute_defaults(self, document: Document, values: dict[str, Any],
                             supplied: Mapping[str, Any], execution_id: str) -> dict[str, Any]:
        """Automation defaults may read other parameters and ``global:``/``automation:`` values
        (AWS-UpdateLinuxAmi does): substitute them once the supplied values are known."""
        state = ExecutionState(execution_id=execution_id, parameters=dict(values))
        lookup = lookup_for(state, self.clock.now(), region=self.region,
                            account=self.account_id, strict=False)
        result = dict(values)
        for name in values:
            if name not in supplied:
                result[name] = render(values[name], lookup)
        return result

    # -- running ----------------------------------------------------------------------------

    def _load(self, execution_id: str) -> tuple[dict[str, Any], Document, ExecutionState]:
        with self.store.read() as conn:
            row = conn.execute(sa.select(EXECUTIONS)
                               .where(EXECUTIONS.c.execution_id == execution_id)).mappings().first()
            if row is None:
                raise _fail("AutomationExecutionNotFoundException",
                            f"Automation execution {execution_id} not found.")
            events = [event_from_json(json.loads(p)) for p in conn.execute(
                sa.select(EVENTS.c.payload).where(EVENTS.c.execution_id == execution_id)
                .order_by(EVENTS.c.seq)).scalars()]
        document = self._parsed(row["document_content"], row["document_name"],
                                row["document_format"])
        return dict(row), document, replay(document, execution_id, events)

    def _parsed(self, content: str, name: str, fmt: str) -> Document:
        """Runbooks parsed once per process (an execution is read many times)."""
        key = (content, name, fmt)
        found = self._documents.get(key)
        if found is None:
            found = documents.load(content, source=name, format=fmt)  # type: ignore[arg-type]
            if len(self._documents) >= 64:
                self._documents.pop(next(iter(self._documents)))
            self._documents[key] = found
        return found

    def _clients(self, endpoint_url: str | None) -> Callable[[str], Any]:
        cache: dict[str, Any] = {}

        def clients(service: str) -> Any:
            if service not in cache:
                import boto3
                from botocore.config import Config

                config = None
                if service == "lambda":
                    # aws:invokeLambdaFunction waits up to 300 s; a retry would invoke twice
                    config = Config(read_timeout=310, retries={"max_attempts": 0})
                cache[service] = boto3.client(service, region_name=self.region,
                                              endpoint_url=endpoint_url, config=config)
            return cache[service]

        return clients

    async def run(self, execution_id: str, *, handle: AutomationHandle | None = None,
                  log: Callable[[str, str], None] | None = None,
                  on_event: Callable[[ExecutionState, Event], None] | None = None
                  ) -> ExecutionState:
        """Drive the execution until it ends; safe to call again after a crash (resume).
        ``on_event(state, event)`` is called after each event is persisted and applied.
        Raises ``OwnerAlive`` (InvalidAutomationStatusUpdateException, naming the owner's host
        and pid) when another live process drives it."""
        row, document, state = self._load(execution_id)
        if state.status in TERMINAL:
            return state
        token = self._tokens.pop(execution_id, None)
        if token is None or not self.ownership.hold(AUTOMATION, execution_id, token):
            token = self.ownership.claim(AUTOMATION, execution_id,
                                         what=f"Automation execution {execution_id}")
        try:
            row, document, state = self._load(execution_id)  # as the owner, read it again
            if state.status in TERMINAL:
                return state
            return await self._drive(row, document, state, handle, log, on_event)
        finally:
            await asyncio.to_thread(self.ownership.release, AUTOMATION, execution_id, token)

    async def _drive(self, row: dict[str, Any], document: Document, state: ExecutionState,
                     handle: AutomationHandle | None,
                     log: Callable[[str, str], None] | None,
                     on_event: Callable[[ExecutionState, Event], None] | None
                     ) -> ExecutionState:
        execution_id = state.execution_id
        options = json.loads(row["options"] or "{}")
        runner = AutomationRunner(
            document, state, StoreLog(self.store, document, self.clock, signal_poll_seconds=0.2),
            self.clock,
            RunnerOptions(clients=self._clients(options.get("aws_endpoint_url")),
                          region=self.region, account_id=self.account_id,
                          attachments_dir=options.get("attachments_dir"),
                          aws_endpoint_url=options.get("aws_endpoint_url"),
                          commands=self.commands, automations=self.automations, log=log),
            actions=self.actions)
        runner.on_event = on_event
        handle = handle or self._handles.get(execution_id)
        if handle is not None:
            handle.runner = runner
        try:
            return await runner.run()
        finally:
            log_close = getattr(runner.log, "close", None)
            if log_close is not None:
                log_close()

    async def resume(self, execution_ids: list[str] | None = None, *,
                     on_refused: Callable[[str, OwnerAlive], None] | None = None,
                     on_start: Callable[[str], None] | None = None) -> list[str]:
        """Continue the given executions, or every one left unfinished whose owner is gone;
        returns the ids this call ran. An execution whose owner lives (or that another process
        takes over first) is not run: ``on_refused(id, error)`` hears of it, and without
        ``on_refused`` the error is raised. ``on_start(id)`` is called as each one is taken."""
        if execution_ids is None:
            with self.store.read() as conn:
                ids = list(conn.execute(sa.select(EXECUTIONS.c.execution_id)
                                        .where(EXECUTIONS.c.status.in_(RESUMABLE))
                                        .order_by(EXECUTIONS.c.start_time)).scalars())
        else:
            ids = list(execution_ids)
        ran: list[str] = []

        async def one(execution_id: str) -> None:
            try:
                self._status(execution_id)
                token = self.ownership.claim(AUTOMATION, execution_id,
                                             what=f"Automation execution {execution_id}")
            except OwnerAlive as exc:
                if on_refused is None:
                    raise
                on_refused(execution_id, exc)
                return
            self._tokens[execution_id] = token
            ran.append(execution_id)
            if on_start is not None:
                on_start(execution_id)
            await self.run(execution_id)

        if ids:
            await asyncio.gather(*(one(i) for i in ids))
        return [i for i in ids if i in ran]

    def owner(self, execution_id: str) -> tuple[Owner | None, bool]:
        """The execution's owner in the store and whether it is alive."""
        owner = self.ownership.owner(AUTOMATION, execution_id)
        return owner, self.ownership.alive(owner)

    # -- signals ----------------------------------------------------------------------------

    def signal(self, execution_id: str, signal_type: str,
               payload: Mapping[str, Any] | None = None, *, identity: str | None = None) -> None:
        """SendAutomationSignal, sent by ``identity`` (default: the service's ``identity``).

        With an identity, Approve and Reject are checked against the waiting aws:approve step's
        Approvers (``approvers.is_approver``) and one identity counts once toward
        MinRequiredApprovals (a repeat is accepted and changes nothing); a signal stored before
        its approval step waits is checked when the execution takes it, and ignored then if its
        sender is not an approver. Without one (a service made with ``identity=None`` and no
        ``identity`` here) anyone decides, as before identities. Raises ``ApiError``
        InvalidAutomationSignalException (an unknown type, an empty identity, a sender who is
        not an approver of the waiting step), InvalidAutomationStatusUpdateException (the
        execution has ended), AutomationExecutionNotFoundException.
        """
        if signal_type not in (*SIGNAL_TYPES, "Cancel"):
            raise _fail("InvalidAutomationSignalException",
                        f"Signal type {signal_type} is not valid; use one of "
                        f"{', '.join(SIGNAL_TYPES)}.")
        sender = self.identity if identity is None else identity
        if sender is not None and not sender.strip():
            raise _fail("InvalidAutomationSignalException", "The signal's identity is empty.")
        status = self._status(execution_id)
        if status in TERMINAL:
            raise _fail("InvalidAutomationStatusUpdateException",
                        f"Automation execution {execution_id} is already {status}.")
        stored = {k: v for k, v in (payload or {}).items() if k != SENDER_KEY}
        if sender is not None:
            if signal_type in ("Approve", "Reject"):
                self._check_approver(execution_id, sender)
            stored[SENDER_KEY] = sender
        with self.store.write() as conn:
            conn.execute(sa.insert(SIGNALS).values(
                execution_id=execution_id, signal_type=signal_type,
                payload=json.dumps(stored, default=str), sent_at=self.clock.time()))
        handle = self._handles.get(execution_id)
        if handle is not None and handle.runner is not None:
            handle.runner.notify()

    def _check_approver(self, execution_id: str, identity: str) -> None:
        """Refuse ``identity`` if the execution waits on an aws:approve step that does not
        list it (InvalidAutomationSignalException)."""
        _, _, state = self._load(execution_id)
        waiting = state.waiting
        if waiting is None or waiting.kind != "approve" or waiting.step_name is None:
            return
        record = state.last_record(waiting.step_name)
        message = refusal(identity, waiting.step_name, approvers_of(record.inputs if record else {}))
        if message is not None:
            raise _fail("InvalidAutomationSignalException", message)

    def stop(self, execution_id: str) -> None:
        """StopAutomationExecution (Type Cancel). With a live runner (here or in another
        process) this stores the Cancel signal that the runner takes in; with none, the
        execution ends at once, Cancelled (its unfinished steps Cancelled too)."""
        handle = self._handles.get(execution_id)
        if handle is None or handle.runner is None:
            status = self._status(execution_id)
            _owner, alive = self.owner(execution_id)
            if status not in TERMINAL and not alive and self._finish_cancelled(execution_id):
                return
        self.signal(execution_id, "Cancel")

    def _finish_cancelled(self, execution_id: str) -> bool:
        """Take the execution from its gone owner and record it Cancelled; False when another
        process took it first."""
        try:
            token = self.ownership.claim(AUTOMATION, execution_id,
                                         what=f"Automation execution {execution_id}")
        except OwnerAlive:
            return False
        try:
            _row, document, state = self._load(execution_id)
            if state.status in TERMINAL:
                return True
            log = StoreLog(self.store, document, self.clock)
            try:
                event = Finished(status=CANCELLED, message=None, at=iso(self.clock.now()))
                log.append(state, [(state.seq + 1, event)])
            finally:
                log.close()
        finally:
            self.ownership.release(AUTOMATION, execution_id, token)
        return True

    def _status(self, execution_id: str) -> str:
        with self.store.read() as conn:
            status = conn.execute(sa.select(EXECUTIONS.c.status)
                                  .where(EXECUTIONS.c.execution_id == execution_id)).scalar()
        if status is None:
            raise _fail("AutomationExecutionNotFoundException",
                        f"Automation execution {execution_id} not found.")
        return str(status)

    # -- reading ----------------------------------------------------------------------------

    def get(self, execution_id: str) -> dict[str, Any]:
        """GetAutomationExecution's ``AutomationExecution``."""
        row, document, state = self._load(execution_id)
        return execution_shape(row, document, state)

    def shape(self, state: ExecutionState) -> dict[str, Any]:
        """``get`` for a state already in memory (reads only the execution's row)."""
        with self.store.read() as conn:
            row = conn.execute(sa.select(EXECUTIONS).where(
                EXECUTIONS.c.execution_id == state.execution_id)).mappings().first()
        assert row is not None
        document = self._parsed(row["document_content"], row["document_name"],
                                row["document_format"])
        return execution_shape(dict(row), document, state)

    def list(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """DescribeAutomationExecutions' ``AutomationExecutionMetadataList`` (newest first)."""
        query = sa.select(EXECUTIONS).order_by(EXECUTIONS.c.start_time.desc()).limit(limit)
        if status is not None:
            query = query.where(EXECUTIONS.c.status == status)
        with self.store.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [{
            "AutomationExecutionId": r["execution_id"], "DocumentName": r["document_name"],
            "DocumentVersion": r["document_version"], "AutomationExecutionStatus": r["status"],
            "ExecutionStartTime": from_epoch(r["start_time"]), "ExecutionEndTime": from_epoch(r["end_time"]),
            "Mode": r["mode"], "FailureMessage": r["failure_message"],
            "ParentAutomationExecutionId": r["parent_execution_id"],
        } for r in rows]



def execution_shape(row: Mapping[str, Any], document: Document, state: ExecutionState
                    ) -> dict[str, Any]:
    steps = []
    for record in state.records:
        step: dict[str, Any] = {
            "StepName": record.step_name, "Action": record.action,
            "TimeoutSeconds": record.timeout_seconds, "OnFailure": record.on_failure,
            "MaxAttempts": record.max_attempts,
            "ExecutionStartTime": parse_iso8601(record.start) if record.start else None,
            "ExecutionEndTime": parse_iso8601(record.end) if record.end else None,
            "StepStatus": record.status, "Attempts": record.attempts,
            "Inputs": {k: to_string(v) for k, v in record.inputs.items()},
            "Outputs": record.outputs, "StepExecutionId": record.step_execution_id,
            "IsEnd": record.is_end, "NextStep": record.next_step,
            "IsCritical": record.is_critical,
        }
        if record.failure_message:
            step["FailureMessage"] = record.failure_message
            step["FailureDetails"] = {"FailureType": record.failure_type or "Unknown",
                                      "FailureStage": "Execution"}
        if record.parent:
            step["ParentStepDetails"] = record.parent
        steps.append(drop_none(step))
    status = state.status if state.status != PENDING else row["status"]
    shape: dict[str, Any] = {
        "AutomationExecutionId": state.execution_id,
        "DocumentName": row["document_name"],
        "DocumentVersion": row["document_version"],
        "ExecutionStartTime": from_epoch(row["start_time"]),
        "ExecutionEndTime": from_epoch(row["end_time"]),
        "AutomationExecutionStatus": status,
        "StepExecutions": steps,
        "StepExecutionsTruncated": False,
        "Parameters": to_string_list_map(state.parameters),
        "Outputs": document_outputs(document, state, status) if status in TERMINAL
        else json.loads(row["outputs"] or "{}"),
        "Mode": row["mode"],
        "ExecutedBy": "ssm-local",
        "Variables": to_string_list_map(state.variables),
    }
    if state.failure_message and status in (FAILED, TIMED_OUT, CANCELLED):
        shape["FailureMessage"] = state.failure_message
    if row["parent_execution_id"]:
        shape["ParentAutomationExecutionId"] = row["parent_execution_id"]
    if state.status not in TERMINAL and state.records:
        current = state.records[-1]
        shape["CurrentStepName"] = current.step_name
        shape["CurrentAction"] = current.action
    return drop_none(shape)


__all__ = ["AutomationHandle", "AutomationService", "StoreLog", "execution_shape", "iso"]

"""Run Command's persistence batcher: a running command's state changes, written in batches.

The fan-out (``command_fanout``) reports every change of one command to a ``CommandPersister``
(an invocation started, finished or was never sent; the command's counters changed). The
persister coalesces them per invocation and writes them off the event loop, one transaction per
batch, at most every ``FLUSH_INTERVAL`` seconds while the command runs. Each step's output is
written with its result as the API shows it, the first 24,000 characters of stdout and 8,000 of
stderr (the whole output is in the spool, ``ssm_local.engine.command.spool``), so the store
never grows with what a script prints. Between batches it polls the store for a CancelCommand sent by
another process (every ``CANCEL_POLL_INTERVAL`` seconds) and sets the command's cancel event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ssm_local.engine.command.results import IN_PROGRESS, PENDING, InvocationResult
from ssm_local.engine.services.command_models import COMMANDS, INVOCATIONS, PLUGINS
from ssm_local.engine.store import Store
from ssm_local.engine.wire import to_epoch

FLUSH_INTERVAL = 0.05
"""Seconds a batch gathers before it is written."""
CANCEL_POLL_INTERVAL = 0.5
"""Seconds between two reads of the command's ``cancel_requested`` flag."""


class CommandPersister:
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
            return bool(conn.execute(sa.select(COMMANDS.c.cancel_requested).where(
                COMMANDS.c.command_id == self.command_id)).scalar())

    def _write(self, started: dict[str, float], finished: dict[str, InvocationResult],
               not_sent: dict[str, tuple[str, str]], command: dict[str, Any]) -> None:
        one = sa.and_(INVOCATIONS.c.command_id == self.command_id,
                      INVOCATIONS.c.instance_id == sa.bindparam("iid"))
        with self.store.write() as conn:
            if started:
                conn.execute(
                    sa.update(INVOCATIONS).where(one, INVOCATIONS.c.status == PENDING).values(
                        status=IN_PROGRESS, status_details="In Progress",
                        started_at=sa.bindparam("at")),
                    [{"iid": k, "at": v} for k, v in started.items()])
            if finished:
                conn.execute(
                    sa.update(INVOCATIONS).where(one).values(
                        status=sa.bindparam("st"), status_details=sa.bindparam("sd"),
                        response_code=sa.bindparam("rc"), started_at=sa.bindparam("t0"),
                        finished_at=sa.bindparam("t1")),
                    [{"iid": k, "st": r.status, "sd": r.status_details, "rc": r.response_code,
                      "t0": to_epoch(r.started_at), "t1": to_epoch(r.finished_at)}
                     for k, r in finished.items()])
                plugins = [
                    {"command_id": self.command_id, "instance_id": k, "position": i,
                     "name": p.name, "plugin": p.plugin, "status": p.status,
                     "status_details": p.status_details, "response_code": p.response_code,
                     "started_at": to_epoch(p.started_at), "finished_at": to_epoch(p.finished_at),
                     "stdout": p.standard_output_content, "stderr": p.standard_error_content}
                    for k, r in finished.items() for i, p in enumerate(r.plugins)
                ]
                if plugins:
                    conn.execute(sa.insert(PLUGINS), plugins)
            if not_sent:
                conn.execute(
                    sa.update(INVOCATIONS).where(one).values(
                        status=sa.bindparam("st"), status_details=sa.bindparam("sd")),
                    [{"iid": k, "st": v[0], "sd": v[1]} for k, v in not_sent.items()])
            if command:
                conn.execute(sa.update(COMMANDS).where(
                    COMMANDS.c.command_id == self.command_id).values(**command))


__all__ = ["CANCEL_POLL_INTERVAL", "FLUSH_INTERVAL", "CommandPersister"]

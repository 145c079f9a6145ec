"""Run Command's fan-out driver: one prepared command run on all its nodes under rate control.

``FanOut.run`` sends the document to the command's nodes with the rules of
``ssm_local.engine.ratecontrol`` (ssm-semantics.md §4.6): at most MaxConcurrency invocations in
flight, no new ones once the errors pass MaxErrors (the unsent ones end Cancelled/Terminated),
cancellation that kills in-flight invocations and cancels the unsent ones, a delivery timeout for
invocations still waiting, and an overall timeout per invocation. Every state change goes to a
``CommandPersister``. ``FanOut.invoke`` runs the document on one node through the Command
interpreter, with the node's executor (the ``executor_factory`` when one is given, else the node
registry's ``executor_for``); an executor that cannot be made leaves the invocation Failed /
Undeliverable, and a bug below never takes the other invocations down. With a ``spool``, every
chunk a step prints is also written to its size-capped spool file (``command.spool``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ssm_local.engine.clock import Clock
from ssm_local.engine.command import (
    CommandPlugin,
    InvocationResult,
    NodeContext,
    PluginResult,
    run_invocation,
)
from ssm_local.engine.command.plugins.base import DocumentResolver
from ssm_local.engine.command.results import CANCELLED, FAILED, SUCCESS, TIMED_OUT
from ssm_local.engine.command.spool import OutputSpool
from ssm_local.engine.executors import Executor, LocalExecutor
from ssm_local.engine.ratecontrol import InvocationStatusDetails, RateController
from ssm_local.engine.services.command_models import OutputListener, PreparedCommand, ProgressListener
from ssm_local.engine.services.command_persister import CommandPersister
from ssm_local.engine.services.nodes import Node, NodeExecutorFactory, NodeRegistry
from ssm_local.engine.store import Store
from ssm_local.engine.substitution import ParameterReader
from ssm_local.grammar.errors import ExecutorError

if TYPE_CHECKING:  # asyncssh loads only when an SSH node runs
    from ssm_local.engine.executors.ssh import SshConnectionPool

_NOT_SENT = frozenset({InvocationStatusDetails.TERMINATED, InvocationStatusDetails.CANCELLED,
                       InvocationStatusDetails.DELIVERY_TIMED_OUT})


def _ssh_pool(nodes: list[Node]) -> SshConnectionPool | None:
    """A connection pool shared by the command's SSH nodes, or ``None`` when it has none (then
    asyncssh is never imported)."""
    if not any(node.executor == "ssh" for node in nodes):
        return None
    from ssm_local.engine.executors.ssh import SshConnectionPool

    return SshConnectionPool()


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


@dataclass(frozen=True)
class FanOut:
    """What running a command needs: the store, the nodes, the clock and the plugins.

    ``executor_factory`` (node -> executor) replaces the node registry's executors; the executors
    it returns belong to the caller and are not closed. ``resolve_document`` serves aws:runDocument
    and aws:downloadContent. ``spool`` keeps the whole output of every step in capped files.
    """

    store: Store
    nodes: NodeRegistry
    clock: Clock
    region: str
    plugins: Mapping[str, CommandPlugin]
    resolve_document: DocumentResolver
    executor_factory: NodeExecutorFactory | None = None
    parameter_store: ParameterReader | None = None
    spool: OutputSpool | None = None

    async def run(self, prepared: PreparedCommand, *, on_output: OutputListener | None = None,
                  on_progress: ProgressListener | None = None) -> None:
        """Run a prepared command to the end; its final state is in the store when this returns."""
        cancel = prepared.cancel = asyncio.Event()
        prepared.node_cancel = {n.node_id: asyncio.Event() for n in prepared.nodes}
        by_id = {n.node_id: n for n in prepared.nodes}
        controller = RateController(
            list(by_id), max_concurrency=prepared.max_concurrency,
            max_errors=prepared.max_errors, delivery_timeout_seconds=prepared.timeout_seconds,
            clock=self.clock)
        persister = CommandPersister(self.store, prepared.command_id)
        progress = prepared.progress
        pool = _ssh_pool(prepared.nodes)
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
            return await self.invoke(prepared, node, local=local, pool=pool, on_output=on_output)

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
            if pool is not None:
                await pool.aclose()
            await local.aclose()
            persister.stop()
            await flusher
        report()

    async def invoke(self, prepared: PreparedCommand, node: Node, *, local: Executor,
                     pool: SshConnectionPool | None, on_output: OutputListener | None = None
                     ) -> InvocationResult:
        """Run the command's document on ``node``; ``local`` and ``pool`` are the command's shared
        local executor and SSH connections. Failures are results, never exceptions."""
        loop = asyncio.get_running_loop()
        started = self.clock.now()
        owned = False
        try:
            if self.executor_factory is not None:
                executor = self.executor_factory(node)
            else:
                executor = self.nodes.executor_for(node, local=local, pool=pool)
                owned = executor is not local
        except ExecutorError as exc:  # a plugin that is gone, or options it rejects
            return self._failed(prepared, started, "Undeliverable", f"{exc.message}\n")
        spooled = (self.spool.invocation(prepared.command_id, node.node_id)
                   if self.spool is not None and self.spool.enabled else None)
        sink = None
        if on_output is not None or spooled is not None:
            node_id = node.node_id

            def sink(step: str, stream: str, chunk: bytes) -> None:
                if spooled is not None:
                    spooled.write(step, stream, chunk)
                if on_output is not None:
                    on_output(node_id, step, stream, chunk)

        context = NodeContext(
            node_id=node.node_id, executor=executor, command_id=prepared.command_id,
            platform=node.platform_type, region=self.region,
            work_dir=self.nodes.work_dir(node, prepared.command_id),
            work_root=self.nodes.work_root(node),
            resolve_document=self.resolve_document, cancel=prepared.node_cancel[node.node_id],
            on_output=sink, clock=self.clock, parameter_store=self.parameter_store,
            deadline=(loop.time() + prepared.timeout_seconds
                      if prepared.timeout_seconds is not None else None),
        )
        try:
            return await run_invocation(prepared.resolved.document, prepared.parameters, context,
                                        plugins=self.plugins)
        except Exception as exc:  # a bug below must not take the other invocations down
            return self._failed(prepared, started, "Failed",
                                f"ssm-local internal error: {type(exc).__name__}: {exc}\n")
        finally:
            if spooled is not None:
                spooled.close()
            if owned:
                await executor.aclose()

    def _failed(self, prepared: PreparedCommand, started: datetime, details: str,
                stderr: str) -> InvocationResult:
        steps = prepared.resolved.document.steps
        step = steps[0] if steps else None
        failed = PluginResult(step.name if step else "ssm-local", step.action if step else "",
                              FAILED, details, -1, started, self.clock.now(), stderr=stderr)
        return InvocationResult.aggregate([failed], started, self.clock.now())


__all__ = ["FanOut", "invocation_details"]

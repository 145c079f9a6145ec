"""``Engine``: the one object an embedding service needs, opening a store by URL.

``Engine(url)`` opens (and migrates) the store, makes the key ring from ``$SSM_LOCAL_HOME``
or the environment, and exposes the services: ``engine.parameters`` (Parameter Store),
``engine.documents`` (the document registry), ``engine.nodes`` and ``engine.commands`` (Run
Command; ``engine.send_command(...)`` returns a handle). Everything is injectable for tests: the home
directory, the environment, a clock, the account and region, how nodes get their executors
(``executor_factory``, e.g. a ``MockExecutor`` for a dry run) and the Command plugin table
(``plugins``). Use it as a context manager, or call ``close()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ssm_local.engine.clock import Clock, SystemClock
from ssm_local.engine.services.keyring import KeyRing
from ssm_local.engine.services.parameters import ParameterStore
from ssm_local.engine.store import Store, ssm_local_home
from ssm_local.engine.store.database import (
    default_store_url,
    protect_own_state,
    release_own_state,
)

if TYPE_CHECKING:
    from ssm_local.documents.model import Document
    from ssm_local.engine.automation.actions import AutomationAction
    from ssm_local.engine.command import CommandPlugin
    from ssm_local.engine.command.spool import OutputSpool
    from ssm_local.engine.services.automations import AutomationHandle, AutomationService
    from ssm_local.engine.services.command_models import OutputListener, ProgressListener
    from ssm_local.engine.services.commands import CommandHandle, CommandService
    from ssm_local.engine.services.documents import DocumentRegistry
    from ssm_local.engine.services.nodes import NodeExecutorFactory, NodeRegistry
    from ssm_local.engine.services.resolution import ResolvedDocument

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


class Engine:
    """ssm-local in process: a store plus the services that live in it."""

    def __init__(
        self,
        url: str | None = None,
        *,
        home: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        clock: Clock | None = None,
        keyring: KeyRing | None = None,
        cache_ttl: float | None = 1.0,
        executor_factory: NodeExecutorFactory | None = None,
        plugins: Mapping[str, CommandPlugin] | None = None,
        actions: Mapping[str, AutomationAction] | None = None,
        output_limit: int | None = None,
    ) -> None:
        """Open the store at ``url`` (default: ``SSM_LOCAL_DB``, else SQLite under ``home``).

        ``executor_factory(node)`` gives the executor every Run Command invocation runs on
        (instead of the node's own: ``local``, ``ssh`` or a plugin); the executors it returns are
        the caller's to close. ``plugins`` is the Command plugin table (None: ``BUILTIN_PLUGINS``).
        ``actions`` is the Automation action table (None: ``BUILTIN_ACTIONS``); pass
        ``{**BUILTIN_ACTIONS, "aws:myAction": handler}`` to add or replace actions.
        ``output_limit`` caps each step's spooled stdout and stderr under ``home/output`` in bytes
        (None: ``SSM_LOCAL_OUTPUT_LIMIT``, else 100 MiB; 0: no spool files).
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        self._environ = env
        self.home = Path(home).expanduser() if home is not None else ssm_local_home(env)
        protect_own_state(self.home)  # no document may read it (aws:downloadContent file://)
        self._closed = False
        if url is None:
            url = default_store_url({**env, "SSM_LOCAL_HOME": str(self.home)})
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.store = Store(url)
        self.keyring = keyring or KeyRing.from_environment(
            self.home, env, region=region, account_id=account_id
        )
        self.parameters = ParameterStore(
            self.store,
            self.keyring,
            region=region,
            account_id=account_id,
            clock=self.clock,
            cache_ttl=cache_ttl,
        )
        self.executor_factory = executor_factory
        self.plugins = plugins
        self.output_limit = output_limit
        self._documents: DocumentRegistry | None = None
        self._nodes: NodeRegistry | None = None
        self._commands: CommandService | None = None
        self._automations: AutomationService | None = None
        self._actions = actions

    @property
    def documents(self) -> DocumentRegistry:
        """The document registry (made on first use)."""
        if self._documents is None:
            from ssm_local.engine.services.documents import DocumentRegistry

            self._documents = DocumentRegistry(
                self.store, region=self.region, account_id=self.account_id, clock=self.clock
            )
        return self._documents

    @property
    def nodes(self) -> NodeRegistry:
        """The node registry (Run Command's targets; made on first use)."""
        if self._nodes is None:
            from ssm_local.engine.services.nodes import NodeRegistry

            self._nodes = NodeRegistry(self.store, clock=self.clock, home=self.home)
        return self._nodes

    @property
    def commands(self) -> CommandService:
        """Run Command: send, cancel and read commands (made on first use)."""
        if self._commands is None:
            from ssm_local.engine.services.commands import CommandService
            from ssm_local.engine.services.resolution import parameter_store_resolver, registry_lookup

            self._commands = CommandService(
                self.store, self.nodes, region=self.region, clock=self.clock,
                registry=registry_lookup(self.documents),
                resolve_ssm=parameter_store_resolver(self.parameters),
                executor_factory=self.executor_factory, plugins=self.plugins,
                parameter_store=self.parameters, spool=self._output_spool(),
            )
        return self._commands

    def _output_spool(self) -> OutputSpool:
        from ssm_local.engine.command.spool import OutputSpool, output_limit_from_environment

        limit = self.output_limit
        if limit is None:
            limit = output_limit_from_environment(self._environ)
        return OutputSpool(self.home / "output", limit)

    @property
    def automations(self) -> AutomationService:
        """Automation executions: start, run, signal, stop, read, resume (made on first use)."""
        if self._automations is None:
            from ssm_local.engine.automation.approvers import default_identity
            from ssm_local.engine.services.automations import AutomationService
            from ssm_local.engine.services.resolution import parameter_store_value, registry_content

            resolve_document = registry_content(self.documents)
            resolve_ssm = parameter_store_value(self.parameters)

            service = AutomationService(
                self.store, region=self.region, account_id=self.account_id,
                resolve_document=resolve_document, resolve_ssm=resolve_ssm,
                actions=self._actions, commands=self, clock=self.clock,
                identity=default_identity(self._environ))
            service.automations = service  # aws:executeAutomation's children run here too
            self._automations = service
        return self._automations

    def start_automation(self, document: str | Document,
                         parameters: Mapping[str, Any] | None = None, *,
                         document_name: str | None = None, document_version: str | None = None,
                         mode: str = "Auto", aws_endpoint_url: str | None = None,
                         attachments_dir: str | None = None) -> AutomationHandle:
        """StartAutomationExecution: the runbook and its parameters are checked here (and
        raise); ``await handle.run()`` runs it and returns GetAutomationExecution's
        ``AutomationExecution``.

        ``document`` is a registry or bundled name, or a loaded ``documents.Document`` (named
        ``document_name``); ``mode`` is ``Auto`` or ``Interactive``; ``aws_endpoint_url`` is
        where the execution's AWS calls go; ``attachments_dir`` holds aws:executeScript
        attachments. Raises ``ApiError``/``DocumentError`` with AWS's codes: ``InvalidDocument``
        (no such runbook, or not an Automation document), ``InvalidDocumentContent``,
        ``InvalidAutomationExecutionParametersException``, ``ValidationException`` (mode).
        """
        return self.automations.start(
            document, parameters, document_name=document_name, document_version=document_version,
            mode=mode, aws_endpoint_url=aws_endpoint_url, attachments_dir=attachments_dir)

    def send_command(
        self,
        document: str | ResolvedDocument,
        *,
        parameters: Mapping[str, Any] | None = None,
        instance_ids: Sequence[str] | None = None,
        targets: Sequence[Mapping[str, Any]] | None = None,
        document_version: str | None = None,
        max_concurrency: str | int | None = None,
        max_errors: str | int | None = None,
        timeout_seconds: int | None = None,
        comment: str = "",
        on_output: OutputListener | None = None,
        on_progress: ProgressListener | None = None,
    ) -> CommandHandle:
        """SendCommand: checks run (and raise) here, then the command runs in the background.

        ``document`` is a file path, a registry name (``name[:version]``) or a bundled name.
        ``parameters`` are native values or AWS's list-of-strings form; ``instance_ids`` (ids
        or names, at most 50) or ``targets`` (``[{"Key": "tag:role", "Values": ["web"]}]``, at
        most 5) choose the nodes (neither: this machine); ``max_concurrency`` and ``max_errors``
        are a count or a percentage such as ``"10%"`` (defaults 50 and 0); ``timeout_seconds``
        (30-2,592,000 seconds) is the delivery timeout and each invocation's overall timeout;
        ``comment`` is at most 100 characters. ``on_output(instance_id, step, stream, chunk)``
        gets live output and ``on_progress(progress)`` the counters, from the command's thread.

        Raises (``code``): InvalidDocument (not found, not valid, not a Command document),
        InvalidParameters (a bad parameter value, comment or timeout; both InstanceIds and
        Targets), ParameterNotFound (a ``{{ssm:...}}`` value), InvalidInstanceId (an unknown
        node), InvalidTarget, ValidationException (MaxConcurrency, MaxErrors); see
        ``CommandService.prepare``. The handle has ``command_id``, ``wait()``, ``await handle``,
        ``cancel()`` and ``result()`` (the Command and its CommandInvocations in AWS's shape).
        """
        return self.commands.send_command(
            document, parameters=parameters, instance_ids=instance_ids, targets=targets,
            document_version=document_version, max_concurrency=max_concurrency,
            max_errors=max_errors, timeout_seconds=timeout_seconds, comment=comment,
            on_output=on_output, on_progress=on_progress)

    def close(self) -> None:
        """Stop background work and close the store's connections."""
        self.parameters.close()
        self.store.close()
        if not self._closed:
            self._closed = True
            release_own_state(self.home)

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({self.store.display_url!r})"

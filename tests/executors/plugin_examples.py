"""Objects the registry tests load through fake ``ssm_local.executors`` entry points."""

from __future__ import annotations

import asyncio

from ssm_local.engine.executors import InvocationRequest, MockExecutor, OutputCallback, ProcessResult


class EchoExecutor(MockExecutor):
    """A plugin executor: every invocation exits with ``code``."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(lambda request: code)
        self.code = code

    async def run(
        self,
        request: InvocationRequest,
        on_output: OutputCallback | None = None,
        *,
        cancel: asyncio.Event | None = None,
    ) -> ProcessResult:
        return await super().run(request, on_output, cancel=cancel)


class NotAnExecutor:
    """Has no ``run``."""


NOT_CALLABLE = 42


def raising_factory() -> NotAnExecutor:
    raise RuntimeError("the plugin needs a licence key")

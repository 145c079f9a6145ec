"""Fixtures for the AWS Automation actions: moto's HTTP server, a fake clock, step contexts.

The actions run against ``moto.server.ThreadedMotoServer`` (the local AWS emulator a user would
point ``--aws-endpoint-url`` at; one server per test session, emptied before each test) through
ordinary boto3 clients, or against botocore ``Stubber`` clients where a test needs a response
moto cannot produce (a pending image, a failed stack, a Lambda function error).
``RecordingClock`` is the engine's ``FakeClock`` (virtual time, so waits and timeouts take no
real time) that also records the sleeps; ``on_sleep`` lets a test change the world between two
polls (stop an instance, cancel the step).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.stub import Stubber

from ssm_local.engine.automation.actions import BUILTIN_ACTIONS, ActionContext, ActionResult
from ssm_local.engine.clock import FakeClock

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class RecordingClock(FakeClock):
    """The engine's ``FakeClock``, recording how long each ``sleep`` asked for.

    ``on_sleep(n)`` runs when the n-th sleep starts, before virtual time moves: a test changes
    the world (or cancels the step) between two polls.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))
        await super().sleep(seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


@dataclass
class Moto:
    """A running moto server and a boto3 client factory pointed at it."""

    url: str
    built: list[str] = field(default_factory=list)
    _ami: str | None = None

    @property
    def ami(self) -> str:
        """An AMI that moto ships (listing them is slow, so once per session)."""
        if self._ami is None:
            images = self.client("ec2").describe_images(Owners=["amazon"])["Images"]
            self._ami = str(images[0]["ImageId"])
        return self._ami

    def client(self, service: str) -> Any:
        self.built.append(service)
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            config=Config(retries={"max_attempts": 1}), **CREDENTIALS)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def configure(self, config: Mapping[str, Any]) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/config", method="POST",
                                         data=json.dumps(config).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="session")
def moto_server(moto_url: str) -> Iterator[Moto]:
    """The session's moto server (``tests/conftest.py``), with Lambda run without Docker."""
    moto = Moto(moto_url)
    moto.configure({"lambda": {"use_docker": False}})
    try:
        yield moto
    finally:
        moto.configure({"lambda": {"use_docker": True}})  # moto's settings are process-wide


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    """The moto server, emptied before the test."""
    moto_server.reset()
    moto_server.built.clear()
    return moto_server


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@dataclass
class Step:
    """Runs one action the way the runner would, and keeps the step log."""

    clients: Callable[[str], Any]
    clock: FakeClock
    logs: list[str] = field(default_factory=list)
    cancel: asyncio.Event | None = None

    def context(self, action: str, inputs: Mapping[str, Any],
                timeout_seconds: float | None = None) -> ActionContext:
        return ActionContext(execution_id="00000000-0000-4000-8000-000000000000",
                             step_name="step", action=action, inputs=dict(inputs),
                             clients=self.clients, clock=self.clock,
                             timeout_seconds=timeout_seconds, log=self.logs.append)

    def run(self, action: str, inputs: Mapping[str, Any], *,
            timeout_seconds: float | None = None,
            before: Callable[[ActionContext], None] | None = None) -> ActionResult:
        handler = BUILTIN_ACTIONS[action]
        ctx = self.context(action, inputs, timeout_seconds)

        async def go() -> ActionResult:
            self.cancel = ctx.cancel
            if before is not None:
                before(ctx)
            return await handler(ctx)

        return asyncio.run(go())


@pytest.fixture
def step(moto: Moto, clock: RecordingClock) -> Step:
    """Run an action against moto's server with the fake clock."""
    return Step(moto.client, clock)


class Stubbed:
    """boto3 clients with botocore Stubbers: queue exact responses and errors per service."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            client = boto3.client(service, region_name=REGION, **CREDENTIALS)
            stubber = Stubber(client)
            stubber.activate()
            self.clients[service], self.stubbers[service] = client, stubber
        return self.clients[service]

    def respond(self, service: str, operation: str, response: Mapping[str, Any],
                params: Mapping[str, Any] | None = None) -> None:
        self(service)
        self.stubbers[service].add_response(xform_name(operation), dict(response),
                                            None if params is None else dict(params))

    def fail(self, service: str, operation: str, code: str, message: str,
             status: int = 400) -> None:
        self(service)
        self.stubbers[service].add_client_error(xform_name(operation), code, message, status)

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    stubs = Stubbed()
    yield stubs
    for stubber in stubs.stubbers.values():
        stubber.deactivate()


@pytest.fixture
def stub_step(stubbed: Stubbed, clock: RecordingClock) -> Step:
    """Run an action against Stubber clients with the fake clock."""
    return Step(stubbed, clock)

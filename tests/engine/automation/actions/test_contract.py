"""One contract for every built-in Automation action: the same tests over all of BUILTIN_ACTIONS.

Each ``Case`` gives inputs that validate against the action's schema and a world in which the
action would wait for ever: moto's server or botocore ``Stubber`` responses that never reach the
desired state for the AWS actions that poll, a call held in flight for the one-shot AWS actions,
a ``CommandSender`` whose command never ends for aws:runCommand, a child runbook that sleeps an
hour for aws:executeAutomation, a script that sleeps for aws:executeScript. The contract:

(a) a required input missing (the schema's ``required``, plus the conditional ones) fails the
    step, FailureType ``Verification``, with a message naming the input, before any call;
(b) a step cancelled before its action starts ends ``Cancelled`` and calls nothing;
(c) a step cancelled while its action waits (between two polls) ends ``Cancelled``; one-shot
    actions have nothing to wait between and skip, saying so;
(d) ``timeoutSeconds``: run through ``AutomationService`` on the engine's ``FakeClock``, the step
    ends ``TimedOut`` after exactly ``timeoutSeconds`` of virtual time, and the handler itself
    returned (it stopped when told, rather than being abandoned by the runner). Actions that
    wait on real work (a call, a command, a script) hold virtual time still, so the test moves
    it by hand once the work is under way; the others wait on the clock, which jumps by itself.

No test sleeps for real beyond starting a script or making a local call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from ssm_local import documents
from ssm_local.engine.automation.actions import (
    BUILTIN_ACTIONS,
    ActionContext,
    ActionResult,
    AutomationAction,
    ClientFactory,
)
from ssm_local.engine.services.automations import AutomationService
from ssm_local.engine.store.database import Store

from .conftest import CREDENTIALS, REGION, Moto, RecordingClock, Stubbed

TIMEOUT_SECONDS = 30
SLEEPER = """
schemaVersion: "0.3"
mainSteps:
  - {name: nap, action: aws:sleep, inputs: {Duration: PT1H}}
"""
SCRIPT = (
    "import time\n"
    "def handler(events, context):\n"
    "    open(events['marker'], 'w').close()\n"
    "    time.sleep(60)\n"
)
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"


# --- the worlds --------------------------------------------------------------------------------


class PendingCommand:
    """A command that runs until it is cancelled (a ``SentCommand``)."""

    def __init__(self) -> None:
        self._ended: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.status = "InProgress"

    def __await__(self) -> Generator[Any, None, dict[str, Any]]:
        return asyncio.wrap_future(self._ended).__await__()

    def cancel(self) -> None:
        if not self._ended.done():
            self.status = "Cancelled"
            self._ended.set_result(self.result()["Command"])

    def result(self) -> dict[str, Any]:
        return {"Command": {"CommandId": "c-1", "Status": self.status,
                            "StatusDetails": self.status},
                "CommandInvocations": []}


class EndlessCommands:
    """A ``CommandSender`` whose commands never end by themselves; records what was sent."""

    def __init__(self, on_send: Callable[[], None] = lambda: None) -> None:
        self.sent: list[str] = []
        self.commands: list[PendingCommand] = []
        self._on_send = on_send

    def send_command(self, document: str, *, parameters: Mapping[str, Any] | None,
                     instance_ids: Sequence[str] | None,
                     targets: Sequence[Mapping[str, Any]] | None,
                     document_version: str | None, max_concurrency: str | int | None,
                     max_errors: str | int | None, timeout_seconds: int | None,
                     comment: str) -> PendingCommand:
        self.sent.append(document)
        self.commands.append(PendingCommand())
        self._on_send()
        return self.commands[-1]


class HeldCalls:
    """boto3 clients whose calls hang in flight until released (nothing reaches the network)."""

    def __init__(self, on_call: Callable[[], None]) -> None:
        self._on_call = on_call
        self._release = threading.Event()

    def __call__(self, service: str) -> Any:
        client = boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9",
                              config=Config(retries={"max_attempts": 1}), **CREDENTIALS)
        client.meta.events.register("before-send", self._hold)
        return client

    def _hold(self, **_: Any) -> None:
        self._on_call()
        self._release.wait(30)
        raise ConnectionAbortedError("the held call was released")

    def release(self) -> None:
        self._release.set()


@dataclass
class World:
    """Where one action runs; ``waiting`` is set once it is waiting (or its work is under way)."""

    inputs: dict[str, Any]
    waiting: asyncio.Event
    clients: ClientFactory
    commands: EndlessCommands | None = None
    held: bool = False
    """The action waits on real work, which holds virtual time still."""
    cleanups: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class Kit:
    """What worlds are built from. Made inside the running event loop."""

    request: pytest.FixtureRequest
    clock: RecordingClock
    tmp_path: Path
    loop: asyncio.AbstractEventLoop

    @property
    def moto(self) -> Moto:
        moto: Moto = self.request.getfixturevalue("moto")
        return moto

    @property
    def stubbed(self) -> Stubbed:
        stubbed: Stubbed = self.request.getfixturevalue("stubbed")
        return stubbed

    def signal(self, event: asyncio.Event) -> Callable[[], None]:
        """Set ``event`` from any thread."""
        return lambda: self.loop.call_soon_threadsafe(event.set)

    def on_first_sleep(self, event: asyncio.Event) -> None:
        def sleeping(count: int) -> None:
            if count == 1:
                event.set()

        self.clock.on_sleep = sleeping

    def polling(self, inputs: dict[str, Any], clients: ClientFactory) -> World:
        """An action that polls on the clock: waiting from its first sleep."""
        waiting = asyncio.Event()
        self.on_first_sleep(waiting)
        return World(inputs, waiting, clients)

    def one_call(self, inputs: dict[str, Any]) -> World:
        """A one-shot AWS action: its call hangs in flight."""
        waiting = asyncio.Event()
        calls = HeldCalls(self.signal(waiting))
        return World(inputs, waiting, calls, held=True, cleanups=[calls.release])


def _no_clients(service: str) -> Any:
    raise AssertionError(f"no AWS client expected, asked for {service}")


def _images(state: str, **extra: Any) -> dict[str, Any]:
    return {"Images": [{"ImageId": "ami-1", "State": state, **extra}]}


def _instances(state: str) -> dict[str, Any]:
    return {"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": state}}]}]}


def _stacks(status: str) -> dict[str, Any]:
    return {"Stacks": [{"StackId": STACK_ID, "StackName": "s", "StackStatus": status,
                        "CreationTime": "2026-01-01T00:00:00Z"}]}


def _repeat(stubbed: Stubbed, service: str, operation: str, response: dict[str, Any],
            times: int = 20) -> None:
    for _ in range(times):
        stubbed.respond(service, operation, response)


def wait_for_property(kit: Kit, inputs: dict[str, Any]) -> World:
    moto = kit.moto
    moto.client("ssm").put_parameter(Name="/contract/state", Value="pending", Type="String")
    return kit.polling(inputs, moto.client)


def change_instance_state(kit: Kit, inputs: dict[str, Any]) -> World:
    moto = kit.moto
    instance_id = moto.client("ec2").run_instances(
        ImageId=moto.ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return kit.polling({**inputs, "InstanceIds": [instance_id]}, moto.client)


def run_instances(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.respond("ec2", "RunInstances",
                    {"Instances": [{"InstanceId": "i-1", "State": {"Name": "pending"}}]})
    _repeat(stubbed, "ec2", "DescribeInstances", _instances("pending"))
    return kit.polling(inputs, stubbed)


def create_image(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.respond("ec2", "CreateImage", {"ImageId": "ami-1"})
    _repeat(stubbed, "ec2", "DescribeImages", _images("pending"))
    return kit.polling(inputs, stubbed)


def copy_image(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.respond("ec2", "CopyImage", {"ImageId": "ami-1"})
    _repeat(stubbed, "ec2", "DescribeImages", _images("pending"))
    return kit.polling(inputs, stubbed)


def delete_image(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.respond("ec2", "DescribeImages", _images("available", BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-1"}}]))
    stubbed.respond("ec2", "DeregisterImage", {})
    for _ in range(40):
        stubbed.fail("ec2", "DeleteSnapshot", "InvalidSnapshot.InUse", "in use by ami-1")
    return kit.polling(inputs, stubbed)


def create_stack(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.fail("cloudformation", "DescribeStacks", "ValidationError",
                 "Stack with id s does not exist")
    stubbed.respond("cloudformation", "CreateStack", {"StackId": STACK_ID})
    _repeat(stubbed, "cloudformation", "DescribeStacks", _stacks("CREATE_IN_PROGRESS"))
    return kit.polling(inputs, stubbed)


def delete_stack(kit: Kit, inputs: dict[str, Any]) -> World:
    stubbed = kit.stubbed
    stubbed.respond("cloudformation", "DescribeStacks", _stacks("CREATE_COMPLETE"))
    stubbed.respond("cloudformation", "DeleteStack", {})
    _repeat(stubbed, "cloudformation", "DescribeStacks", _stacks("DELETE_IN_PROGRESS"))
    return kit.polling(inputs, stubbed)


def one_call(kit: Kit, inputs: dict[str, Any]) -> World:
    return kit.one_call(inputs)


def execute_script(kit: Kit, inputs: dict[str, Any]) -> World:
    marker = kit.tmp_path / "script-started"
    waiting = asyncio.Event()

    async def watch() -> None:
        while not marker.exists():
            await asyncio.sleep(0.01)
        waiting.set()

    watcher = asyncio.ensure_future(watch())
    return World({**inputs, "InputPayload": {"marker": str(marker)}}, waiting, _no_clients,
                 held=True, cleanups=[watcher.cancel])


def run_command(kit: Kit, inputs: dict[str, Any]) -> World:
    waiting = asyncio.Event()
    return World(inputs, waiting, _no_clients, commands=EndlessCommands(kit.signal(waiting)),
                 held=True)


def execute_automation(kit: Kit, inputs: dict[str, Any]) -> World:
    waiting = asyncio.Event()
    kit.on_first_sleep(waiting)  # the child's aws:sleep
    return World(inputs, waiting, _no_clients)


# --- the cases ---------------------------------------------------------------------------------


PROPERTY = {"Service": "ssm", "Api": "GetParameter", "Name": "/contract/state",
            "PropertySelector": "$.Parameter.Value", "DesiredValues": ["done"]}


@dataclass(frozen=True)
class Case:
    action: str
    inputs: dict[str, Any]
    """Inputs that validate against the action's schema."""
    world: Callable[[Kit, dict[str, Any]], World]
    also_required: tuple[str, ...] = ()
    """Inputs AWS requires that the schema's top-level ``required`` does not list."""
    one_shot: bool = False


CASES = [
    Case("aws:executeScript", {"Runtime": "python3.11", "Handler": "handler", "Script": SCRIPT,
                               "InputPayload": {"marker": "/nonexistent/marker"}},
         execute_script, also_required=("Handler", "Script")),
    Case("aws:executeAwsApi", {"Service": "ssm", "Api": "DescribeParameters"}, one_call,
         one_shot=True),
    Case("aws:waitForAwsResourceProperty", PROPERTY, wait_for_property),
    Case("aws:assertAwsResourceProperty", PROPERTY, one_call, one_shot=True),
    Case("aws:changeInstanceState", {"InstanceIds": ["i-0123456789abcdef0"],
                                     "DesiredState": "stopped", "CheckStateOnly": True},
         change_instance_state),
    Case("aws:createTags", {"ResourceIds": ["i-0123456789abcdef0"],
                            "Tags": [{"Key": "k", "Value": "v"}]}, one_call, one_shot=True),
    Case("aws:createImage", {"InstanceId": "i-1", "ImageName": "img"}, create_image),
    Case("aws:deleteImage", {"ImageId": "ami-1"}, delete_image),
    Case("aws:runInstances", {"ImageId": "ami-1"}, run_instances),
    Case("aws:copyImage", {"SourceRegion": "us-west-2", "SourceImageId": "ami-0",
                           "ImageName": "copy"}, copy_image),
    Case("aws:createStack", {"StackName": "s", "TemplateBody": "{}"}, create_stack),
    Case("aws:deleteStack", {"StackName": "s"}, delete_stack),
    Case("aws:invokeLambdaFunction", {"FunctionName": "f"}, one_call, one_shot=True),
    Case("aws:runCommand", {"DocumentName": "AWS-RunShellScript",
                            "Parameters": {"commands": ["sleep 600"]}}, run_command),
    Case("aws:executeAutomation", {"DocumentName": "Sleeper"}, execute_automation),
]
BY_ACTION = {case.action: case for case in CASES}


def schema_required(action: str) -> list[str]:
    name = f"action-{action.replace(':', '_')}.json"
    schema = json.loads(resources.files("ssm_local.documents.schemas").joinpath(name).read_text())
    return list(schema.get("required", []))


MISSING = [(case.action, name) for case in CASES
           for name in [*schema_required(case.action), *case.also_required]]


def test_every_builtin_action_has_a_case() -> None:
    assert len(BUILTIN_ACTIONS) == 15
    assert sorted(BY_ACTION) == sorted(BUILTIN_ACTIONS)


# --- running a handler, as the runner would ----------------------------------------------------


@dataclass
class Calls:
    """Everything an action could reach, recording what it did reach."""

    clients: list[str] = field(default_factory=list)
    commands: EndlessCommands = field(default_factory=EndlessCommands)
    children: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        self.clients.append(service)
        raise AssertionError(f"no AWS client expected, asked for {service}")

    @property
    def none(self) -> bool:
        return not (self.clients or self.commands.sent or self.children)


def _service(tmp_path: Path, clock: RecordingClock, *,
             actions: Mapping[str, AutomationAction] | None = None,
             commands: EndlessCommands | None = None) -> AutomationService:
    def resolve(name: str, version: str | None) -> tuple[str, str, str]:
        return name, "1", SLEEPER

    service = AutomationService(Store(f"sqlite:///{tmp_path / 'contract.db'}"), clock=clock,
                                resolve_document=resolve, actions=actions, commands=commands)
    service.automations = service
    return service


def _context(action: str, inputs: Mapping[str, Any], clock: RecordingClock, *,
             clients: ClientFactory, commands: EndlessCommands | None = None,
             automations: AutomationService | None = None) -> ActionContext:
    return ActionContext(execution_id="00000000-0000-4000-8000-000000000000", step_name="step",
                         action=action, inputs=dict(inputs), clients=clients, clock=clock,
                         commands=commands, automations=automations)


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


# --- (a) a missing required input --------------------------------------------------------------


@pytest.mark.parametrize(("action", "name"), MISSING, ids=[f"{a}-{n}" for a, n in MISSING])
def test_missing_required_input_fails_the_step(action: str, name: str, clock: RecordingClock,
                                               tmp_path: Path) -> None:
    case = BY_ACTION[action]
    calls = Calls()
    service = _service(tmp_path, clock)
    inputs = {key: value for key, value in case.inputs.items() if key != name}
    ctx = _context(action, inputs, clock, clients=calls.client, commands=calls.commands,
                   automations=service)
    result = asyncio.run(BUILTIN_ACTIONS[action](ctx))
    assert (result.status, result.failure_type) == ("Failed", "Verification")
    assert result.failure_message is not None and name in result.failure_message
    assert calls.none and service.list() == []


# --- (b) cancelled before start ----------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(BY_ACTION))
def test_cancel_before_start_ends_cancelled(action: str, clock: RecordingClock,
                                            tmp_path: Path) -> None:
    case = BY_ACTION[action]
    calls = Calls()
    service = _service(tmp_path, clock)
    ctx = _context(action, case.inputs, clock, clients=calls.client, commands=calls.commands,
                   automations=service)
    ctx.cancel.set()
    result = asyncio.run(BUILTIN_ACTIONS[action](ctx))
    assert result.status == "Cancelled"
    assert calls.none and service.list() == []
    assert clock.sleeps == []


# --- (c) cancelled while waiting ---------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(BY_ACTION))
def test_cancel_between_polls_ends_cancelled(action: str, clock: RecordingClock,
                                             tmp_path: Path, request: pytest.FixtureRequest
                                             ) -> None:
    case = BY_ACTION[action]
    if case.one_shot:
        pytest.skip(f"{action} makes one call and does not wait: there is nothing to cancel "
                    "between; a call in flight is dropped on cancel (see the timeout case)")

    async def go() -> tuple[ActionResult, datetime, datetime]:
        kit = Kit(request, clock, tmp_path, asyncio.get_running_loop())
        world = case.world(kit, dict(case.inputs))
        service = _service(tmp_path, clock, commands=world.commands)
        ctx = _context(action, world.inputs, clock, clients=world.clients,
                       commands=world.commands, automations=service)
        task = asyncio.ensure_future(BUILTIN_ACTIONS[action](ctx))
        try:
            waiting = asyncio.ensure_future(world.waiting.wait())
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            assert not task.done(), f"{action} ended before it waited: {task.result()}"
            cancelled_at = clock.now()
            ctx.cancel.set()
            return await asyncio.wait_for(task, 10), cancelled_at, clock.now()
        finally:
            for cleanup in world.cleanups:
                cleanup()

    result, cancelled_at, ended_at = asyncio.run(go())
    assert result.status == "Cancelled", result
    assert ended_at == cancelled_at, "the action waited out its poll interval after the cancel"


# --- (d) timeoutSeconds on the fake clock ------------------------------------------------------


@dataclass
class Probe:
    """Runs the built-in handler with the world's AWS clients; keeps what it returned."""

    handler: AutomationAction
    clients: ClientFactory
    results: list[ActionResult] = field(default_factory=list)

    async def __call__(self, ctx: ActionContext, /) -> ActionResult:
        result = await self.handler(replace(ctx, clients=self.clients))
        self.results.append(result)
        return result


def _runbook(action: str, inputs: Mapping[str, Any]) -> documents.Document:
    text = json.dumps({"schemaVersion": "0.3", "mainSteps": [
        {"name": "step", "action": action, "timeoutSeconds": TIMEOUT_SECONDS,
         "inputs": dict(inputs)}]})
    return documents.load(text, source="contract.json")


@pytest.mark.parametrize("action", sorted(BY_ACTION))
def test_timeout_seconds_is_honoured_on_the_fake_clock(action: str, clock: RecordingClock,
                                                       tmp_path: Path,
                                                       request: pytest.FixtureRequest) -> None:
    case = BY_ACTION[action]
    probes: list[Probe] = []

    async def go() -> dict[str, Any]:
        kit = Kit(request, clock, tmp_path, asyncio.get_running_loop())
        world = case.world(kit, dict(case.inputs))
        probe = Probe(BUILTIN_ACTIONS[action], world.clients)
        probes.append(probe)
        service = _service(tmp_path, clock, actions={action: probe}, commands=world.commands)
        handle = service.start(_runbook(action, world.inputs), {}, document_name="Contract")
        run = asyncio.ensure_future(handle.run())
        try:
            if world.held:  # real work holds virtual time: move it by hand once under way
                waiting = asyncio.ensure_future(world.waiting.wait())
                await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                assert not run.done(), f"{action} ended before it waited: {run.result()}"
                clock.advance(TIMEOUT_SECONDS)
            return await asyncio.wait_for(run, 20)
        finally:
            for cleanup in world.cleanups:
                cleanup()

    execution = asyncio.run(go())
    [step] = execution["StepExecutions"]
    assert step["StepStatus"] == "TimedOut", step
    started: datetime = step["ExecutionStartTime"]
    ended: datetime = step["ExecutionEndTime"]
    assert (ended - started).total_seconds() == TIMEOUT_SECONDS
    [result] = probes[0].results  # the handler ended by itself, within the runner's grace
    assert result.status in ("TimedOut", "Cancelled"), result


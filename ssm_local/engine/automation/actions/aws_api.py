"""Shared plumbing for the Automation actions that call AWS through boto3.

``AwsSession`` makes the calls for one step attempt: it resolves AWS's names (``Service: ec2``,
``Api: DescribeInstances``) to a boto3 client and method, runs the blocking call in a thread
under a cap (25 s for aws:executeAwsApi, as AWS documents), races it against cancellation and
translates every botocore exception into an ``ActionFailure`` whose message names the API and the
error code. ``json_safe`` turns a boto3 response into plain JSON values for selectors and the
store, ``property_text`` stringifies a selected value the way AWS compares it with
``DesiredValues``, and ``wait_until`` polls with the injected clock until a check is satisfied, the
step's timeout passes or the step is cancelled. Action modules raise ``ActionFailure`` and let the
``aws_action`` decorator turn it into the ``ActionResult`` the runner expects.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import difflib
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import botocore
import botocore.session
from botocore import xform_name
from botocore.eventstream import EventStream
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    UnknownServiceError,
)
from botocore.response import StreamingBody

from ssm_local.engine.automation.actions import ActionContext, ActionResult, ActionStatus, unset
from ssm_local.engine.clock import hold

__all__ = [
    "CALL_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "ActionCancelled",
    "ActionFailure",
    "AwsSession",
    "Deadline",
    "as_bool",
    "as_string_list",
    "aws_action",
    "decode_base64",
    "json_safe",
    "operation_name",
    "optional_inputs",
    "pause",
    "property_text",
    "require",
    "service_name",
    "wait_until",
]

CALL_TIMEOUT_SECONDS = 25.0
"""AWS's limit for one API call made by aws:executeAwsApi and friends."""

DEFAULT_TIMEOUT_SECONDS = 3600.0
"""How long a waiting action polls when the step sets no ``timeoutSeconds`` (AWS's default)."""

_PERMISSION_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
    "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
    "SignatureDoesNotMatch", "MissingAuthenticationToken",
})
_THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
    "SlowDown", "ProvisionedThroughputExceededException", "PriorRequestNotComplete",
})

T = TypeVar("T")


# --- failures as data ------------------------------------------------------------------------


class ActionFailure(Exception):
    """Ends the step: ``aws_action`` turns it into ``ActionResult(status, ...)``.

    ``failure_type`` is AWS's FailureDetails.FailureType (Action, Permission, Throttling,
    Verification, Internal, or Unknown). ``code`` is the AWS error code when there is one.
    """

    def __init__(self, message: str, *, status: ActionStatus = "Failed",
                 failure_type: str = "Unknown", code: str | None = None,
                 outputs: Mapping[str, Any] | None = None, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status: ActionStatus = status
        self.failure_type = failure_type
        self.code = code
        self.outputs = dict(outputs or {})
        self.response = response

    def result(self) -> ActionResult:
        return ActionResult(self.status, self.outputs, self.response, self.message,
                            self.failure_type)


class ActionCancelled(Exception):
    """The step's cancel event was set while the action was calling AWS or waiting."""


def aws_action(
    body: Callable[[ActionContext], Awaitable[ActionResult]],
) -> Callable[[ActionContext], Awaitable[ActionResult]]:
    """Wrap an action body so that ``ActionFailure``, cancellation and any other exception
    become results (an unexpected exception is FailureType ``Internal``)."""

    @functools.wraps(body)
    async def handler(ctx: ActionContext) -> ActionResult:
        try:
            if ctx.cancel.is_set():
                raise ActionCancelled
            return await body(ctx)
        except ActionFailure as failure:
            return failure.result()
        except ActionCancelled:
            return ActionResult("Cancelled", failure_message=f"{ctx.action} was cancelled")
        except Exception as exc:  # a bug or an unexpected response shape: still a result
            return ActionResult.failed(f"{ctx.action} failed unexpectedly: "
                                       f"{type(exc).__name__}: {exc}", failure_type="Internal")

    return handler


# --- inputs ----------------------------------------------------------------------------------


def require(ctx: ActionContext, name: str) -> Any:
    """The input ``name``; a missing or empty one fails the step (Verification)."""
    value = ctx.inputs.get(name)
    if unset(value):
        raise ActionFailure(f"{ctx.action} needs the input {name}", failure_type="Verification")
    return value


def as_bool(ctx: ActionContext, name: str, default: bool = False) -> bool:
    """A Boolean input, accepting ``true``/``false`` written as strings as AWS does."""
    value = ctx.inputs.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ActionFailure(f"{ctx.action} input {name} must be true or false, not {value!r}",
                        failure_type="Verification")


def as_string_list(ctx: ActionContext, name: str) -> list[str]:
    """A required StringList input; a single string counts as a list of one."""
    value = require(ctx, name)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ActionFailure(f"{ctx.action} input {name} must be a list of strings, not {value!r}",
                            failure_type="Verification")
    return list(items)


def optional_inputs(ctx: ActionContext, renames: Mapping[str, str],
                    skip: Iterable[str] = ()) -> dict[str, Any]:
    """Inputs to pass on to an API: ``renames`` maps action input names to API names, every
    other input (except ``skip``) goes through unchanged, as AWS's actions accept "most" of the
    API's parameters. Absent (None) values are dropped."""
    skipped = set(skip)
    params: dict[str, Any] = {}
    for name, value in ctx.inputs.items():
        if name in skipped or value is None:
            continue
        params[renames.get(name, name)] = value
    return params


# --- JSON-safe responses ---------------------------------------------------------------------


class StreamingResponse(ActionFailure):
    """A response that carries a stream: aws:executeAwsApi cannot return it."""


def json_safe(value: Any, api: str = "the API") -> Any:
    """``value`` as plain JSON values: datetimes become ISO 8601 strings in UTC, blobs become
    base64 text (their form in AWS's JSON protocols); a stream fails the step."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, api) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, api) for item in value]
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, StreamingBody | EventStream) or hasattr(value, "read"):
        raise StreamingResponse(
            f"{api} returns a stream: streaming APIs are not supported by aws:executeAwsApi",
            failure_type="Verification")
    return str(value)


def property_text(value: Any) -> str:
    """A selected value as text, the way AWS compares it with ``DesiredValues``: Python's
    ``str()``, so booleans read ``True``/``False`` and an empty list reads ``[]``."""
    return value if isinstance(value, str) else str(value)


# --- calling AWS -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _available_services() -> tuple[str, ...]:
    return tuple(botocore.session.get_session().get_available_services())


def service_name(service: Any) -> str:
    """AWS's ``Service`` input as a boto3 client name (``SQS`` → ``sqs``); unknown → failure."""
    name = str(service).strip().lower() if service is not None else ""
    if name in _available_services():
        return name
    close = difflib.get_close_matches(name, _available_services(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ActionFailure(
        f"Service {service!r} is not an AWS service that botocore {botocore.__version__} knows{hint}",
        failure_type="Verification")


def operation_name(client: Any, service: str, api: Any) -> str:
    """AWS's PascalCase ``Api`` (``DescribeInstances``) checked against the service model.

    The boto3 method name (``describe_instances``) and a different case are accepted too; the
    result is the model's operation name. An unknown name fails with the closest operations."""
    operations: list[str] = list(client.meta.service_model.operation_names)
    text = str(api).strip() if api is not None else ""
    if text in operations:
        return text
    folded = {op.lower(): op for op in operations}
    folded.update({xform_name(op): op for op in operations})
    found = folded.get(text.lower()) or folded.get(text)
    if found:
        return found
    close = difflib.get_close_matches(text, operations, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ActionFailure(f"Api {api!r} is not an operation of Service {service!r}{hint}",
                        failure_type="Verification")


def _translate(exc: BaseException, operation: str) -> ActionFailure:
    """A botocore (or transport) exception as a failure naming the operation and the code."""
    if isinstance(exc, ActionFailure):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}) if isinstance(exc.response, Mapping) else {}
        code = str(error.get("Code") or "Unknown")
        failure_type = ("Permission" if code in _PERMISSION_CODES
                        else "Throttling" if code in _THROTTLING_CODES else "Unknown")
        return ActionFailure(str(exc), failure_type=failure_type, code=code)
    code = type(exc).__name__
    failure_type = "Verification" if isinstance(exc, ParamValidationError) else (
        "Permission" if isinstance(exc, NoCredentialsError) else "Unknown")
    detail = str(exc).strip() or code
    return ActionFailure(f"An error occurred ({code}) when calling the {operation} operation: "
                         f"{detail}", failure_type=failure_type, code=code)


class AwsSession:
    """The AWS calls of one step attempt: clients are built once per service and reused."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self._clients: dict[str, Any] = {}

    async def client(self, service: Any) -> tuple[str, Any]:
        name = service_name(service)
        if name not in self._clients:
            try:
                self._clients[name] = await self.run(
                    lambda: self.ctx.clients(name), CALL_TIMEOUT_SECONDS, f"{name} client")
            except (UnknownServiceError, NoRegionError) as exc:
                raise ActionFailure(f"cannot build a {name} client: {exc}",
                                    failure_type="Verification") from None
            except BotoCoreError as exc:
                raise _translate(exc, f"{name} client") from None
        return name, self._clients[name]

    async def call(self, service: Any, api: Any, params: Mapping[str, Any] | None = None, *,
                   timeout: float | None = None, raw: bool = False) -> Any:
        """Call ``service.api(**params)``; the response as JSON values (``raw``: as boto3 gave it).

        The call is capped at ``timeout`` seconds (default ``CALL_TIMEOUT_SECONDS``). Fails the
        step (``ActionFailure``) on any error, naming the operation and the error code; raises
        ``ActionCancelled`` when the step is cancelled while the call runs."""
        timeout = CALL_TIMEOUT_SECONDS if timeout is None else timeout
        name, client = await self.client(service)
        operation = operation_name(client, name, api)
        method = getattr(client, xform_name(operation))
        arguments = dict(params or {})
        self.ctx.log(f"{name}.{operation}")
        try:
            response = await self.run(lambda: method(**arguments), timeout, operation)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, operation) from None
        return response if raw else json_safe(response, f"{name}.{operation}")

    async def run(self, work: Callable[[], T], timeout: float, what: str) -> T:
        """Run blocking ``work`` in a thread, racing the cap and the cancel event. A fake clock
        stands still meanwhile: the call is real work, not idle time to skip."""
        if self.ctx.cancel.is_set():
            raise ActionCancelled
        task = asyncio.ensure_future(asyncio.to_thread(work))
        # Should the step stop waiting for the thread, whatever it ends with is dropped.
        task.add_done_callback(_discard)
        cancelled = asyncio.ensure_future(self.ctx.cancel.wait())
        try:
            with hold(self.ctx.clock):
                done, _ = await asyncio.wait({task, cancelled}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
        if task in done:
            return task.result()
        if self.ctx.cancel.is_set():
            raise ActionCancelled
        raise ActionFailure(
            f"the {what} call did not complete within {timeout:g} seconds", code="CallTimedOut")


def _discard(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


# --- waiting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """When a waiting action gives up: the step's ``timeoutSeconds``, else AWS's default."""

    at: datetime
    seconds: float

    @classmethod
    def start(cls, ctx: ActionContext, default: float = DEFAULT_TIMEOUT_SECONDS) -> Deadline:
        seconds = float(ctx.timeout_seconds) if ctx.timeout_seconds else default
        return cls(ctx.clock.now() + timedelta(seconds=seconds), seconds)

    def remaining(self, ctx: ActionContext) -> float:
        return (self.at - ctx.clock.now()).total_seconds()


async def pause(ctx: ActionContext, seconds: float) -> None:
    """Sleep on the injected clock; raise ``ActionCancelled`` as soon as the step is cancelled."""
    if ctx.cancel.is_set():
        raise ActionCancelled
    sleeper = asyncio.ensure_future(ctx.clock.sleep(seconds))
    cancelled = asyncio.ensure_future(ctx.cancel.wait())
    try:
        await asyncio.wait({sleeper, cancelled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, cancelled):
            task.cancel()
        await asyncio.gather(sleeper, cancelled, return_exceptions=True)
    if ctx.cancel.is_set():
        raise ActionCancelled


async def wait_until(ctx: ActionContext, check: Callable[[], Awaitable[T | None]], *,
                     interval: float, deadline: Deadline, waiting_for: str,
                     retry_codes: Iterable[str] = ()) -> T:
    """Call ``check`` now and then every ``interval`` seconds until it returns a value.

    ``check`` returns None to keep waiting and raises ``ActionFailure`` to fail at once; a
    failure whose AWS error code is in ``retry_codes`` or is a throttling code is retried
    instead. Past the deadline the step ends ``TimedOut`` with ``waiting_for`` in the message.
    """
    retried = frozenset(retry_codes) | _THROTTLING_CODES
    polls = 0
    while True:
        polls += 1
        try:
            value = await check()
        except ActionFailure as failure:
            if failure.code not in retried:
                raise
            ctx.log(f"retrying after {failure.code}: {failure.message}")
            value = None
        if value is not None:
            return value
        remaining = deadline.remaining(ctx)
        if remaining <= 0:
            raise ActionFailure(
                f"timed out after {deadline.seconds:g} seconds ({polls} checks) waiting for "
                f"{waiting_for}", status="TimedOut")
        await pause(ctx, min(interval, remaining))


def decode_base64(ctx: ActionContext, name: str, value: str) -> bytes:
    """A base64 input (UserData) decoded; text that is not base64 fails the step."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ActionFailure(f"{ctx.action} input {name} must be base64-encoded",
                            failure_type="Verification") from None

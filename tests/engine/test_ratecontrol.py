"""Rate control for Run Command: parsing, AWS's rounding and counting rules, the sliding window.

Everything runs on a fake clock; the last test drives the controller with the mock executor the
way the runner does.
"""

from __future__ import annotations

import asyncio

import pytest

from ssm_local.engine.clock import FakeClock
from ssm_local.engine.executors import InvocationRequest, MockExecutor, ProcessResult
from ssm_local.engine.ratecontrol import (
    MAX_CONCURRENCY_PATTERN,
    MAX_ERRORS_PATTERN,
    CommandStatusDetails,
    InvocationStatusDetails,
    MaxConcurrency,
    MaxErrors,
    RateController,
    command_state,
)
from ssm_local.grammar.errors import ApiError, ExecutionError

S = InvocationStatusDetails
C = CommandStatusDetails


def targets(count: int) -> list[str]:
    return [f"mi-{i:017x}" for i in range(count)]


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("1", 1, False),
        ("50", 50, False),
        ("1234567", 1234567, False),
        ("1%", 1, True),
        ("9%", 9, True),
        ("10%", 10, True),
        ("99%", 99, True),
        ("100%", 100, True),
        (7, 7, False),
    ],
)
def test_max_concurrency_accepts(text: str | int, value: int, percent: bool) -> None:
    parsed = MaxConcurrency.parse(text)
    assert (parsed.text, parsed.value, parsed.percent) == (str(text), value, percent)


@pytest.mark.parametrize(
    "text", ["0", "0%", "01", "05%", "101%", "200%", "-1", "1.5", "abc", "10 ", "%", "1e3"]
)
def test_max_concurrency_rejects(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        MaxConcurrency.parse(text)
    assert caught.value.code == "ValidationException"
    assert caught.value.message == (
        f"1 validation error detected: Value '{text}' at 'maxConcurrency' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {MAX_CONCURRENCY_PATTERN}"
    )


def test_length_errors_are_listed_like_aws() -> None:
    with pytest.raises(ApiError) as caught:
        MaxConcurrency.parse("")
    assert caught.value.message == (
        "2 validation errors detected: Value '' at 'maxConcurrency' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value '' at 'maxConcurrency' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: "
        "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"
    )
    with pytest.raises(ApiError) as caught:
        MaxErrors.parse("12345678", field="MaxErrors")
    assert caught.value.message == (
        "1 validation error detected: Value '12345678' at 'MaxErrors' failed to satisfy "
        "constraint: Member must have length less than or equal to 7"
    )


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("0", 0, False),
        ("0%", 0, True),
        ("1", 1, False),
        ("5%", 5, True),
        ("10%", 10, True),
        ("100%", 100, True),
        ("1000", 1000, False),
    ],
)
def test_max_errors_accepts(text: str, value: int, percent: bool) -> None:
    parsed = MaxErrors.parse(text)
    assert (parsed.value, parsed.percent) == (value, percent)


@pytest.mark.parametrize("text", ["00", "01", "101%", "-1", "1.5", "x", "00%"])
def test_max_errors_rejects(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        MaxErrors.parse(text)
    assert caught.value.message.endswith(f"regular expression pattern: {MAX_ERRORS_PATTERN}")
    assert f"Value '{text}' at 'maxErrors'" in caught.value.message


def test_defaults_are_run_commands() -> None:
    assert MaxConcurrency.parse(None).text == "50"
    assert MaxErrors.parse(None).text == "0"
    controller = RateController(targets(3))
    assert (controller.max_concurrency, controller.allowed_errors) == (50, 0)


# --- rounding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target_count", "expected"),
    [
        ("50", 200, 50),
        ("50", 10, 50),
        ("1", 10, 1),
        ("10%", 50, 5),
        ("10%", 55, 5),
        ("10%", 5, 1),
        ("1%", 99, 1),
        ("1%", 250, 2),
        ("33%", 10, 3),
        ("50%", 3, 1),
        ("99%", 100, 99),
        ("100%", 7, 7),
        ("100%", 0, 1),
        ("10%", 0, 1),
    ],
)
def test_max_concurrency_percentages_round_down_with_a_minimum_of_one(
    text: str, target_count: int, expected: int
) -> None:
    assert MaxConcurrency.parse(text).resolve(target_count) == expected


@pytest.mark.parametrize(
    ("text", "target_count", "allowed"),
    [
        ("0", 50, 0),
        ("3", 50, 3),
        ("10%", 50, 5),
        ("10%", 59, 5),
        ("10%", 9, 0),
        ("0%", 100, 0),
        ("100%", 4, 4),
        ("25%", 10, 2),
        ("1%", 250, 2),
        ("9%", 100, 9),
        ("50%", 1, 0),
    ],
)
def test_max_errors_allows_floor_of_the_percentage(text: str, target_count: int, allowed: int) -> None:
    assert MaxErrors.parse(text).allowed(target_count) == allowed


@pytest.mark.parametrize(
    ("max_errors", "target_count", "stops_at_error"),
    [("0", 10, 1), ("1", 10, 2), ("3", 10, 4), ("10%", 50, 6), ("10%", 9, 1), ("50%", 4, 3)],
)
def test_sending_stops_at_the_error_after_max_errors(
    max_errors: str, target_count: int, stops_at_error: int
) -> None:
    controller = RateController(targets(target_count), max_concurrency="1", max_errors=max_errors)
    sent = 0
    while batch := controller.next_targets():
        sent += 1
        controller.complete(batch[0], S.FAILED)
    assert sent == stops_at_error
    assert controller.error_count == stops_at_error
    assert controller.stopped and controller.finished
    terminated = [i for i in controller.invocations() if i.status_details is S.TERMINATED]
    assert len(terminated) == target_count - stops_at_error


# --- the sliding window --------------------------------------------------------------------


def test_a_sliding_window_refills_as_invocations_complete() -> None:
    names = targets(7)
    controller = RateController(names, max_concurrency="3")
    assert controller.next_targets() == names[:3]
    assert controller.next_targets() == []
    controller.complete(names[1], S.SUCCESS)
    assert controller.next_targets() == [names[3]]
    controller.complete(names[0], S.SUCCESS)
    controller.complete(names[2], S.SUCCESS)
    assert controller.next_targets() == names[4:6]
    assert controller.in_flight == (names[3], names[4], names[5])
    assert controller.unsent == (names[6],)
    assert controller.state().status_details is C.IN_PROGRESS


def test_a_percentage_window() -> None:
    controller = RateController(targets(40), max_concurrency="10%")
    assert len(controller.next_targets()) == 4


def test_ramp_up_grows_exponentially_with_acknowledgements() -> None:
    names = targets(30)
    controller = RateController(names, max_concurrency="10", ramp_up=True)
    sizes = []
    for _ in range(5):
        batch = controller.next_targets()
        sizes.append(len(batch))
        for target in batch:
            controller.acknowledge(target)
    assert sizes == [1, 2, 4, 3, 0]  # window 1, 3, 7, then MaxConcurrency 10
    assert len(controller.in_flight) == 10


def test_ramp_up_counts_completions_as_acknowledgements() -> None:
    names = targets(5)
    controller = RateController(names, ramp_up=True)
    assert controller.next_targets() == [names[0]]
    assert controller.next_targets() == []
    controller.complete(names[0], S.SUCCESS)
    assert controller.next_targets() == names[1:4]


def test_in_flight_invocations_finish_after_the_threshold() -> None:
    names = targets(10)
    clock = FakeClock(1_767_225_600.0)
    controller = RateController(names, max_concurrency="5", max_errors="0", clock=clock)
    assert controller.next_targets() == names[:5]
    clock.advance(3)
    controller.complete(names[0], S.FAILED)
    assert controller.stopped
    assert controller.next_targets() == []
    # Unsent targets are Terminated at once (API status Failed) and never get a request time.
    for name in names[5:]:
        invocation = controller.invocation(name)
        assert (invocation.status_details, invocation.status) == (S.TERMINATED, "Failed")
        assert invocation.requested_at is None and invocation.finished_at == clock.time()
    assert not controller.finished
    assert controller.state().status_details is C.IN_PROGRESS
    # The four still running report in; failures can exceed MaxErrors.
    for name, details in zip(
        names[1:5], [S.FAILED, S.EXECUTION_TIMED_OUT, S.SUCCESS, S.SUCCESS], strict=True
    ):
        controller.complete(name, details)
    assert controller.finished
    state = controller.state()
    assert (state.status_details, state.status) == (C.FAILED, "Failed")
    assert (state.target_count, state.completed_count, state.error_count) == (10, 10, 3)
    assert controller.invocation(names[3]).status_details is S.SUCCESS


@pytest.mark.parametrize(
    "details", [S.DELIVERY_TIMED_OUT, S.UNDELIVERABLE, S.INVALID_PLATFORM, S.ACCESS_DENIED]
)
def test_statuses_that_do_not_count_against_max_errors(details: InvocationStatusDetails) -> None:
    names = targets(4)
    controller = RateController(names, max_concurrency="1", max_errors="0")
    while batch := controller.next_targets():
        controller.complete(batch[0], details if batch[0] != names[-1] else S.SUCCESS)
    assert not controller.stopped and controller.error_count == 0
    assert all(i.status_details is not S.TERMINATED for i in controller.invocations())


def test_cancel_marks_unsent_cancelled_and_returns_in_flight() -> None:
    names = targets(6)
    controller = RateController(names, max_concurrency="2")
    controller.next_targets()
    controller.complete(names[0], S.SUCCESS)
    controller.next_targets()
    assert controller.cancel() == [names[1], names[2]]
    assert [i.status_details for i in controller.invocations()] == [
        S.SUCCESS,
        S.IN_PROGRESS,
        S.IN_PROGRESS,
        S.CANCELLED,
        S.CANCELLED,
        S.CANCELLED,
    ]
    assert controller.state().status_details is C.CANCELLING
    assert controller.state().status == "Cancelling"
    assert controller.next_targets() == []
    controller.complete(names[1], S.CANCELLED)
    controller.complete(names[2], S.CANCELLED)
    assert controller.finished
    state = controller.state()
    assert (state.status_details, state.status, state.completed_count) == (C.CANCELLED, "Cancelled", 6)


def test_cancel_before_anything_was_sent() -> None:
    controller = RateController(targets(3))
    assert controller.cancel() == []
    assert controller.finished and controller.state().status_details is C.CANCELLED


def test_delivery_timeout_on_a_fake_clock() -> None:
    names = targets(3)
    clock = FakeClock(1_767_225_600.0)
    controller = RateController(names, max_concurrency="1", delivery_timeout_seconds=100, clock=clock)
    assert controller.deadline() == clock.time() + 100
    assert controller.next_targets() == [names[0]]
    assert controller.invocation(names[0]).requested_at == clock.time()
    clock.advance(99)
    assert controller.expire() == []
    clock.advance(1)
    controller.complete(names[0], S.SUCCESS)
    assert controller.next_targets() == []  # expired first
    assert [i.status_details for i in controller.invocations()] == [
        S.SUCCESS,
        S.DELIVERY_TIMED_OUT,
        S.DELIVERY_TIMED_OUT,
    ]
    assert controller.deadline() is None and controller.finished
    state = controller.state()
    assert (state.status_details, state.status, state.delivery_timed_out_count) == (
        C.DELIVERY_TIMED_OUT,
        "TimedOut",
        2,
    )


def test_timestamps_come_from_the_clock() -> None:
    names = targets(1)
    clock = FakeClock(1000.0)
    controller = RateController(names, clock=clock)
    controller.next_targets()
    clock.advance(2.5)
    controller.complete(names[0], "Success")
    invocation = controller.invocation(names[0])
    assert (invocation.requested_at, invocation.finished_at) == (1000.0, 1002.5)


@pytest.mark.parametrize(
    ("setup", "target", "details", "message"),
    [
        (0, "mi-00000000000000000", S.SUCCESS, "'mi-00000000000000000' is not in flight (it is 'Pending')"),
        (1, "mi-x", S.SUCCESS, "'mi-x' is not a target of this command"),
        (1, "mi-00000000000000000", S.TERMINATED, "an invocation cannot be reported as 'Terminated'"),
        (1, "mi-00000000000000000", S.IN_PROGRESS, "an invocation cannot be reported as 'In Progress'"),
        (1, "mi-00000000000000000", "Done", "'Done' is not an invocation StatusDetails"),
    ],
)
def test_bad_reports(setup: int, target: str, details: str, message: str) -> None:
    controller = RateController(targets(2), max_concurrency="1")
    for _ in range(setup):
        controller.next_targets()
    with pytest.raises(ExecutionError) as caught:
        controller.complete(target, details)
    assert caught.value.message == message


def test_completing_twice_is_refused() -> None:
    names = targets(1)
    controller = RateController(names)
    controller.next_targets()
    controller.complete(names[0], S.SUCCESS)
    with pytest.raises(ExecutionError, match="is not in flight \\(it is 'Success'\\)"):
        controller.complete(names[0], S.FAILED)


def test_duplicate_targets_and_bad_limits_are_refused() -> None:
    with pytest.raises(ExecutionError):
        RateController(["mi-1", "mi-1"])
    with pytest.raises(ApiError):
        RateController(targets(2), max_concurrency="0")
    with pytest.raises(ApiError):
        RateController(targets(2), max_errors="101%")


# --- the command-level status --------------------------------------------------------------


@pytest.mark.parametrize(
    ("invocations", "allowed", "details", "status"),
    [
        ([S.SUCCESS] * 3, 0, C.SUCCESS, "Success"),
        ([S.UNDELIVERABLE] * 4 + [S.SUCCESS], 0, C.SUCCESS, "Success"),
        ([S.INVALID_PLATFORM, S.ACCESS_DENIED, S.SUCCESS], 0, C.SUCCESS, "Success"),
        ([S.UNDELIVERABLE] * 3, 0, C.FAILED, "Failed"),
        ([S.UNDELIVERABLE, S.INVALID_PLATFORM], 0, C.FAILED, "Failed"),
        ([S.ACCESS_DENIED] * 2, 0, C.ACCESS_DENIED, "Failed"),
        ([S.FAILED] + [S.SUCCESS] * 9, 0, C.FAILED, "Failed"),
        ([S.FAILED] + [S.SUCCESS] * 9, 2, C.INCOMPLETE, "Failed"),
        ([S.FAILED] * 2 + [S.SUCCESS] * 8, 2, C.FAILED, "Failed"),
        ([S.EXECUTION_TIMED_OUT, S.SUCCESS], 0, C.EXECUTION_TIMED_OUT, "TimedOut"),
        ([S.EXECUTION_TIMED_OUT, S.FAILED], 0, C.FAILED, "Failed"),
        ([S.EXECUTION_TIMED_OUT, S.FAILED, S.SUCCESS], 1, C.FAILED, "Failed"),
        ([S.EXECUTION_TIMED_OUT, S.FAILED, S.SUCCESS, S.SUCCESS], 2, C.INCOMPLETE, "Failed"),
        ([S.DELIVERY_TIMED_OUT, S.SUCCESS], 0, C.DELIVERY_TIMED_OUT, "TimedOut"),
        ([S.DELIVERY_TIMED_OUT, S.SUCCESS, S.SUCCESS], 2, C.INCOMPLETE, "Failed"),
        ([S.FAILED, S.TERMINATED, S.TERMINATED], 0, C.FAILED, "Failed"),
        ([S.FAILED, S.FAILED, S.TERMINATED], 5, C.FAILED, "Failed"),
        ([S.CANCELLED, S.SUCCESS], 0, C.INCOMPLETE, "Failed"),
        ([S.PENDING, S.PENDING], 0, C.PENDING, "Pending"),
        ([S.IN_PROGRESS, S.PENDING, S.SUCCESS], 0, C.IN_PROGRESS, "InProgress"),
        ([S.FAILED, S.IN_PROGRESS], 0, C.IN_PROGRESS, "InProgress"),
        ([], 0, C.NO_INSTANCES_IN_TAG, "Failed"),
    ],
)
def test_command_status(
    invocations: list[InvocationStatusDetails], allowed: int, details: CommandStatusDetails, status: str
) -> None:
    state = command_state(invocations, allowed_errors=allowed)
    assert (state.status_details, state.status) == (details, status)


def test_command_counters() -> None:
    state = command_state(
        ["Success", "Failed", "Execution Timed Out", "Delivery Timed Out", "Terminated", "In Progress"],
        allowed_errors=0,
    )
    assert (state.target_count, state.completed_count, state.error_count, state.delivery_timed_out_count) == (
        6,
        5,
        2,
        1,
    )
    assert not state.finished


@pytest.mark.parametrize(
    ("details", "status"),
    [
        (S.PENDING, "Pending"),
        (S.IN_PROGRESS, "InProgress"),
        (S.DELAYED, "Delayed"),
        (S.SUCCESS, "Success"),
        (S.DELIVERY_TIMED_OUT, "TimedOut"),
        (S.EXECUTION_TIMED_OUT, "TimedOut"),
        (S.FAILED, "Failed"),
        (S.CANCELLED, "Cancelled"),
        (S.UNDELIVERABLE, "Failed"),
        (S.TERMINATED, "Failed"),
        (S.INVALID_PLATFORM, "Failed"),
        (S.ACCESS_DENIED, "Failed"),
    ],
)
def test_invocation_api_status(details: InvocationStatusDetails, status: str) -> None:
    assert details.status == status


# --- driven with the mock executor ---------------------------------------------------------


def test_fan_out_with_the_mock_executor() -> None:
    names = targets(20)
    failing = {names[2], names[3], names[9]}
    running = 0
    peak = 0

    async def handler(request: InvocationRequest) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return 1 if request.invocation_id in failing else 0

    async def fan_out(controller: RateController) -> None:
        executor = MockExecutor(handler)
        tasks: dict[asyncio.Task[ProcessResult], str] = {}
        while not controller.finished:
            for target in controller.next_targets():
                request = InvocationRequest(script="true", invocation_id=target)
                tasks[asyncio.ensure_future(executor.run(request))] = target
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                controller.complete(tasks.pop(task), S.SUCCESS if task.result().ok else S.FAILED)

    controller = RateController(names, max_concurrency="4", max_errors="1")
    asyncio.run(fan_out(controller))
    assert peak <= 4
    state = controller.state()
    assert state.status_details is C.FAILED
    assert 2 <= state.error_count <= 3
    by_status = {i.status_details for i in controller.invocations()}
    assert S.TERMINATED in by_status
    sent = [i for i in controller.invocations() if i.requested_at is not None]
    assert all(i.status_details in (S.SUCCESS, S.FAILED) for i in sent)

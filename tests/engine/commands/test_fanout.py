"""Fan-out over several local nodes: MaxConcurrency, MaxErrors, targets, CancelCommand, the
per-invocation timeout, unreachable nodes, and the command history surviving a new Engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services.commands import CommandError
from ssm_local.engine.services.nodes import Node, NodeError

Run = Callable[..., dict[str, Any]]


def test_max_concurrency_bounds_the_invocations_in_flight(
        engine: Engine, local_nodes: Callable[..., list[Node]], tmp_path: Path) -> None:
    local_nodes(6, fleet="f")
    seen: list[int] = []
    handle = engine.send_command(
        "AWS-RunShellScript", parameters={"commands": ["sleep 0.2"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="2",
        on_progress=lambda p: seen.append(p.in_flight))
    command = handle.wait(60)
    assert command["Status"] == "Success"
    assert max(seen) == 2
    assert command["CompletedCount"] == 6


def test_percent_max_concurrency_rounds_down_to_at_least_one(
        engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    local_nodes(3, fleet="f")
    seen: list[int] = []
    handle = engine.send_command(
        "AWS-RunShellScript", parameters={"commands": ["sleep 0.1"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="10%",
        on_progress=lambda p: seen.append(p.in_flight))
    assert handle.wait(60)["Status"] == "Success"
    assert max(seen) == 1


@pytest.mark.parametrize(
    ("max_errors", "details", "status"),
    [
        ("0", ["Failed", "Terminated", "Terminated", "Terminated", "Terminated"], "Failed"),
        ("2", ["Failed", "Failed", "Failed", "Terminated", "Terminated"], "Failed"),
        ("100%", ["Failed"] * 5, "Failed"),
    ],
)
def test_max_errors_stops_sending(engine: Engine, local_nodes: Callable[..., list[Node]],
                                  max_errors: str, details: list[str], status: str) -> None:
    local_nodes(5, fleet="f")
    handle = engine.send_command(
        "AWS-RunShellScript", parameters={"commands": ["exit 1"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="1",
        max_errors=max_errors)
    command = handle.wait(60)
    invocations = handle.invocations()
    assert [i["StatusDetails"] for i in invocations] == details
    terminated = [i for i in invocations if i["StatusDetails"] == "Terminated"]
    assert all(i["Status"] == "Failed" and i["CommandPlugins"] == [] for i in terminated)
    assert command["Status"] == status
    assert command["ErrorCount"] == details.count("Failed")


def test_in_flight_invocations_finish_after_max_errors(
        engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    nodes = local_nodes(4, fleet="f")
    slow = nodes[0].node_id
    script = f'if [ "$AWS_SSM_INSTANCE_ID" = {slow} ]; then sleep 0.5; exit 0; fi; exit 1'
    handle = engine.send_command(
        "AWS-RunShellScript", parameters={"commands": [script]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="2", max_errors="0")
    command = handle.wait(60)
    by_node = {i["InstanceId"]: i["StatusDetails"] for i in handle.invocations()}
    assert by_node[slow] == "Success"  # it was in flight: it finished
    assert sorted(by_node.values()) == ["Failed", "Success", "Terminated", "Terminated"]
    assert command["Status"] == "Failed"


def test_incomplete_when_errors_stay_within_max_errors(
        engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    nodes = local_nodes(4, fleet="f")
    bad = nodes[1].node_id
    handle = engine.send_command(
        "AWS-RunShellScript", parameters={"commands": [f'[ "$AWS_SSM_INSTANCE_ID" != {bad} ]']},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_errors="2")
    command = handle.wait(60)
    assert (command["Status"], command["StatusDetails"]) == ("Failed", "Incomplete")


def test_targets(engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    web = local_nodes(2, prefix="web", role="web")
    db = local_nodes(1, prefix="db", role="db", backup="yes")
    resolve = engine.nodes.resolve_targets
    assert resolve(targets=[{"Key": "tag:role", "Values": ["web", "db"]}]) == [*db, *web]
    assert resolve(targets=[{"Key": "tag-key", "Values": ["backup"]}]) == db
    assert resolve(targets=[{"Key": "tag:role", "Values": ["db"]},
                            {"Key": "tag-key", "Values": ["backup"]}]) == db
    assert resolve(targets=[{"Key": "InstanceIds", "Values": [web[1].node_id]}]) == [web[1]]
    assert resolve(instance_ids=[web[0].node_id, "db-0"]) == [web[0], db[0]]
    assert resolve(targets=[{"Key": "tag:role", "Values": ["none"]}]) == []
    with pytest.raises(NodeError, match="not a registered node"):
        resolve(instance_ids=["mi-00000000000000000"])
    with pytest.raises(NodeError, match="not supported"):
        resolve(targets=[{"Key": "resource-groups:Name", "Values": ["x"]}])


def test_no_instances_in_tag(engine: Engine, run: Run) -> None:
    result = run("AWS-RunShellScript", parameters={"commands": ["true"]},
                 targets=[{"Key": "tag:role", "Values": ["nobody"]}])
    command = result["Command"]
    assert (command["Status"], command["StatusDetails"], command["TargetCount"]) == (
        "Failed", "No Instances In Tag", 0)


def test_cancel_kills_in_flight_and_cancels_unsent(
        engine: Engine, local_nodes: Callable[..., list[Node]], tmp_path: Path) -> None:
    local_nodes(4, fleet="f")
    pids = tmp_path / "pids"
    pids.mkdir()
    handle = engine.send_command(
        "AWS-RunShellScript",
        parameters={"commands": [f"sleep 1000 & echo $! > {pids}/$AWS_SSM_INSTANCE_ID", "wait"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="2")
    deadline = time.monotonic() + 10
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    handle.cancel()
    command = handle.wait(30)
    assert (command["Status"], command["StatusDetails"]) == ("Cancelled", "Cancelled")
    invocations = handle.invocations()
    assert [i["Status"] for i in invocations] == ["Cancelled"] * 4
    ran = [i for i in invocations if i["CommandPlugins"]]
    assert len(ran) == 2
    assert all(i["CommandPlugins"][0]["Status"] == "Cancelled" for i in ran)
    for pid_file in pids.iterdir():
        assert not _alive(int(pid_file.read_text()))


def test_cancel_one_invocation(engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    nodes = local_nodes(2, fleet="f")
    handle = engine.send_command(
        "AWS-RunShellScript",
        parameters={"commands": [f'[ "$AWS_SSM_INSTANCE_ID" = {nodes[0].node_id} ] && sleep 60',
                                 "true"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}])
    time.sleep(0.3)
    handle.cancel([nodes[0].node_id])
    command = handle.wait(30)
    assert {i["InstanceId"]: i["StatusDetails"] for i in handle.invocations()} == {
        nodes[0].node_id: "Cancelled", nodes[1].node_id: "Success"}
    assert command["StatusDetails"] == "Incomplete"


def test_cancel_from_another_engine(engine: Engine, tmp_path: Path) -> None:
    handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["sleep 60"]})
    time.sleep(0.2)
    with Engine(engine.store.url, home=tmp_path / "home", environ={}) as other:
        other.commands.cancel_command(handle.command_id)
    command = handle.wait(30)
    assert command["Status"] == "Cancelled"


def test_per_invocation_timeout(engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    nodes = local_nodes(2, fleet="f")
    prepared = engine.commands.prepare(
        "AWS-RunShellScript", parameters={"commands": ["sleep 30"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_errors="100%")
    prepared.timeout_seconds = 1  # below AWS's minimum of 30, to keep the test short
    started = time.monotonic()
    command = asyncio.run(engine.commands.execute(prepared))
    assert time.monotonic() - started < 10
    assert (command["Status"], command["StatusDetails"]) == ("TimedOut", "Execution Timed Out")
    invocations = engine.commands.list_command_invocations(
        command_id=prepared.command_id)["CommandInvocations"]
    assert [i["StatusDetails"] for i in invocations] == ["Execution Timed Out"] * len(nodes)


def test_delivery_timeout_for_invocations_still_waiting(
        engine: Engine, local_nodes: Callable[..., list[Node]]) -> None:
    local_nodes(3, fleet="f")
    prepared = engine.commands.prepare(
        "AWS-RunShellScript", parameters={"commands": ["sleep 0.8"]},
        targets=[{"Key": "tag:fleet", "Values": ["f"]}], max_concurrency="1")
    prepared.timeout_seconds = 1
    command = asyncio.run(engine.commands.execute(prepared))
    invocations = engine.commands.list_command_invocations(
        command_id=prepared.command_id)["CommandInvocations"]
    details = [i["StatusDetails"] for i in invocations]
    assert details[0] == "Success"
    assert "Delivery Timed Out" in details
    assert command["DeliveryTimedOutCount"] == details.count("Delivery Timed Out")


def test_unreachable_ssh_node_is_undeliverable(engine: Engine, tmp_path: Path) -> None:
    engine.nodes.add_ssh("gone", "nobody@127.0.0.1:1", known_hosts=str(tmp_path / "kh"))
    handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["true"]},
                                 instance_ids=["gone"])
    command = handle.wait(60)
    (invocation,) = handle.invocations()
    assert (invocation["Status"], invocation["StatusDetails"]) == ("Failed", "Undeliverable")
    assert command["ErrorCount"] == 0  # Undeliverable does not count against MaxErrors
    assert command["Status"] == "Failed"  # ... but when every invocation is, the command fails


def test_history_survives_a_new_engine(engine: Engine, run: Run, tmp_path: Path) -> None:
    result = run("AWS-RunShellScript", parameters={"commands": ["echo kept"]}, comment="c")
    command_id = result["Command"]["CommandId"]
    node = engine.nodes.ensure_self().node_id
    with Engine(engine.store.url, home=tmp_path / "home", environ={}) as again:
        assert again.nodes.ensure_self().node_id == node
        assert again.commands.get_command(command_id) == result["Command"]
        assert again.commands.list_command_invocations(
            command_id=command_id, details=True)["CommandInvocations"] == result["CommandInvocations"]
        assert [c["CommandId"] for c in again.commands.list_commands(instance_id=node)["Commands"]] == [
            command_id]
        assert again.commands.get_command_invocation(command_id, node)["StandardOutputContent"] == (
            "kept\n")
    with pytest.raises(CommandError, match="does not exist"):
        engine.commands.get_command("00000000-0000-0000-0000-000000000000")


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                if handle.read().split()[2] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True


def test_list_filters_and_pages(engine: Engine, run: Run) -> None:
    first = run("AWS-RunShellScript", parameters={"commands": ["true"]})["Command"]
    second = run("AWS-RunShellScript", parameters={"commands": ["false"]})["Command"]
    commands = engine.commands
    assert [c["CommandId"] for c in commands.list_commands()["Commands"]] == [
        second["CommandId"], first["CommandId"]]
    page = commands.list_commands(max_results=1)
    assert [c["CommandId"] for c in page["Commands"]] == [second["CommandId"]]
    rest = commands.list_commands(max_results=1, next_token=page["NextToken"])
    assert [c["CommandId"] for c in rest["Commands"]] == [first["CommandId"]]
    assert "NextToken" not in rest
    failed = commands.list_commands(filters=[{"key": "Status", "value": "Failed"}])
    assert [c["CommandId"] for c in failed["Commands"]] == [second["CommandId"]]
    done = commands.list_command_invocations(
        filters=[{"key": "ExecutionStage", "value": "Complete"}])["CommandInvocations"]
    assert len(done) == 2
    later = commands.list_commands(filters=[{"key": "InvokedAfter", "value": "2999-01-01T00:00:00Z"}])
    assert later["Commands"] == []
    with pytest.raises(CommandError, match="filter key"):
        commands.list_commands(filters=[{"key": "Nope", "value": "x"}])
    with pytest.raises(CommandError, match="has no plugin"):
        commands.get_command_invocation(first["CommandId"], first["InstanceIds"][0], "nope")


def test_start_command_in_a_running_event_loop(engine: Engine,
                                               local_nodes: Callable[..., list[Node]]) -> None:
    local_nodes(3, fleet="f")
    chunks: list[tuple[str, bytes]] = []

    async def main() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        handle = await engine.commands.start_command(
            "AWS-RunShellScript", parameters={"commands": ["echo $AWS_SSM_INSTANCE_ID"]},
            targets=[{"Key": "tag:fleet", "Values": ["f"]}],
            on_output=lambda node, step, stream, chunk: chunks.append((node, chunk)))
        command = await handle
        return command, handle.invocations()

    command, invocations = asyncio.run(main())
    assert command["Status"] == "Success"
    assert sorted(chunks) == sorted((i["InstanceId"], (i["InstanceId"] + "\n").encode())
                                    for i in invocations)

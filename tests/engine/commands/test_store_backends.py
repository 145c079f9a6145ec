"""The Run Command tables on every store backend (SQLite and PostgreSQL): a command across
several nodes is written, read back by another Engine, and cancelled through the store."""

from __future__ import annotations

import time
from pathlib import Path

from ssm_local.engine import Engine
from tests.engine.store.backends import pg_database, store_url

__all__ = ["pg_database", "store_url"]


def test_round_trip_on_every_backend(store_url: str, tmp_path: Path) -> None:
    with Engine(store_url, home=tmp_path / "home", environ={}) as engine:
        nodes = [engine.nodes.add_local(f"n{i}", tags={"fleet": "x"}) for i in range(3)]
        handle = engine.send_command(
            "AWS-RunShellScript",
            parameters={"commands": ['echo "out $AWS_SSM_INSTANCE_ID"', "echo err >&2",
                                     '[ "$AWS_SSM_INSTANCE_ID" != "' + nodes[2].node_id + '" ]']},
            targets=[{"Key": "tag:fleet", "Values": ["x"]}], max_errors="1", comment="round trip")
        command = handle.wait(60)
        invocations = handle.invocations()
        assert (command["Status"], command["StatusDetails"]) == ("Failed", "Failed")
        assert [i["Status"] for i in invocations] == ["Success", "Success", "Failed"]
    with Engine(store_url, home=tmp_path / "home", environ={}) as again:
        assert again.commands.get_command(command["CommandId"]) == command
        assert again.commands.list_command_invocations(
            command_id=command["CommandId"], details=True)["CommandInvocations"] == invocations
        got = again.commands.get_command_invocation(command["CommandId"], nodes[0].node_id)
        assert got["StandardOutputContent"] == f"out {nodes[0].node_id}\n"
        assert got["StandardErrorContent"] == "err\n"
        assert [n.name for n in again.nodes.list_nodes()][1:] == ["n0", "n1", "n2"]
        assert again.nodes.get("n1").tags == {"fleet": "x"}


def test_cancel_through_the_store_on_every_backend(store_url: str, tmp_path: Path) -> None:
    with Engine(store_url, home=tmp_path / "home", environ={}) as engine:
        handle = engine.send_command("AWS-RunShellScript", parameters={"commands": ["sleep 60"]})
        time.sleep(0.3)
        with Engine(store_url, home=tmp_path / "home", environ={}) as other:
            other.commands.cancel_command(handle.command_id)
        assert handle.wait(30)["Status"] == "Cancelled"

"""aws:runDocument and aws:downloadContent through SendCommand: documents from the registry and
the bundled library, LocalPath after a download, HTTP from a local server and file:// URLs; and an
Engine with a plugin table of its own."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.command import BUILTIN_PLUGINS, PluginResult, StepContext

Run = Callable[..., dict[str, Any]]


def outputs(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    (invocation,) = result["CommandInvocations"]
    return [(p["Name"], p["StatusDetails"], p["Output"]) for p in invocation["CommandPlugins"]]


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_run_document_from_the_bundled_library(run: Run, write_doc: Callable[..., str]) -> None:
    path = write_doc({"schemaVersion": "2.2", "description": "nested", "mainSteps": [{
        "action": "aws:runDocument", "name": "inner",
        "inputs": {"documentType": "SSMDocument", "documentPath": "AWS-RunShellScript",
                   "documentParameters": {"commands": ["echo nested"]}}}]})
    result = run(path)
    assert outputs(result) == [("inner", "Success", "nested\n")]


def test_run_document_from_the_registry_by_name(engine: Engine, run: Run) -> None:
    inner = {"schemaVersion": "2.2", "description": "inner",
             "parameters": {"who": {"type": "String", "default": "registry"}},
             "mainSteps": [{"action": "aws:runShellScript", "name": "hello",
                            "inputs": {"runCommand": ["echo hello {{ who }}"]}}]}
    engine.documents.create_document(json.dumps(inner), "Team-Hello")
    assert outputs(run("Team-Hello"))[0][2] == "hello registry\n"
    outer = {"schemaVersion": "2.2", "description": "outer", "mainSteps": [{
        "action": "aws:runDocument", "name": "call",
        "inputs": {"documentType": "SSMDocument", "documentPath": "Team-Hello",
                   "documentParameters": "{\"who\": \"outer\"}"}}]}
    engine.documents.create_document(json.dumps(outer), "Team-Outer")
    result = run("Team-Outer")
    assert result["Command"]["DocumentName"] == "Team-Outer"
    assert result["Command"]["DocumentVersion"] == "1"
    assert outputs(result) == [("call", "Success", "hello outer\n")]


def test_bundled_run_document_downloads_then_runs_a_local_path(run: Run) -> None:
    result = run("AWS-RunDocument", parameters={
        "sourceType": "SSMDocument", "sourceInfo": {"name": "AWS-RunShellScript"},
        "documentParameters": {"commands": ["echo from a local path"]}})
    (download, local) = outputs(result)
    assert download[:2] == ("downloadContent", "Success")
    assert "ssmdocument/AWS-RunShellScript.json" in download[2]
    assert local == ("runDocument", "Success", "from a local path\n")


def test_download_content_over_http_then_run_it(run: Run, write_doc: Callable[..., str],
                                               http_root: tuple[Path, str]) -> None:
    root, base = http_root
    (root / "hello.sh").write_text('echo "hello from $(basename "$PWD")"\n', encoding="utf-8")
    path = write_doc({"schemaVersion": "2.2", "description": "download", "mainSteps": [
        {"action": "aws:downloadContent", "name": "fetch",
         "inputs": {"sourceType": "HTTP", "sourceInfo": {"url": f"{base}/hello.sh"},
                    "destinationPath": "scripts/"}},
        {"action": "aws:runShellScript", "name": "use",
         "inputs": {"workingDirectory": "scripts", "runCommand": ["sh hello.sh"]}},
    ]})
    result = run(path)
    assert outputs(result)[1] == ("use", "Success", "hello from scripts\n")


def test_download_a_document_over_http_and_run_it_by_local_path(
        run: Run, write_doc: Callable[..., str], http_root: tuple[Path, str]) -> None:
    root, base = http_root
    (root / "child.yaml").write_text(
        "schemaVersion: '2.2'\ndescription: child\nparameters:\n  n: {type: String}\n"
        "mainSteps:\n- action: aws:runShellScript\n  name: child\n"
        "  inputs: {runCommand: ['echo child {{ n }}']}\n", encoding="utf-8")
    path = write_doc({"schemaVersion": "2.2", "description": "download", "mainSteps": [
        {"action": "aws:downloadContent", "name": "fetch",
         "inputs": {"sourceType": "HTTP", "sourceInfo": {"url": f"{base}/child.yaml"}}},
        {"action": "aws:runDocument", "name": "run",
         "inputs": {"documentType": "LocalPath", "documentPath": "child.yaml",
                    "documentParameters": {"n": "7"}}},
    ]})
    assert outputs(run(path))[1] == ("run", "Success", "child 7\n")


def test_download_content_from_a_file_url(run: Run, write_doc: Callable[..., str],
                                          tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_text("local bytes\n", encoding="utf-8")
    path = write_doc({"schemaVersion": "2.2", "description": "file url", "mainSteps": [
        {"action": "aws:downloadContent", "name": "fetch",
         "inputs": {"sourceType": "HTTP", "sourceInfo": {"url": source.as_uri()},
                    "destinationPath": str(tmp_path / "out" / "copy.txt")}},
    ]})
    assert outputs(run(path))[0][1] == "Success"
    assert (tmp_path / "out" / "copy.txt").read_text(encoding="utf-8") == "local bytes\n"


def test_unsupported_sources_and_plugins_fail_their_step(run: Run,
                                                         write_doc: Callable[..., str]) -> None:
    path = write_doc({"schemaVersion": "2.2", "description": "unsupported", "mainSteps": [
        {"action": "aws:downloadContent", "name": "s3",
         "inputs": {"sourceType": "S3", "sourceInfo": {"path": "https://b.s3.amazonaws.com/k"}}},
        {"action": "aws:configurePackage", "name": "pkg",
         "inputs": {"name": "AmazonCloudWatchAgent", "action": "Install"}},
        {"action": "aws:runShellScript", "name": "still_runs", "inputs": {"runCommand": ["echo ok"]}},
    ]})
    result = run(path)
    (s3, pkg, last) = outputs(result)
    assert s3[1] == "Failed" and "not supported by ssm-local" in s3[2]
    assert pkg[1] == "Failed" and "plugin aws:configurePackage is not supported by ssm-local" in pkg[2]
    assert last == ("still_runs", "Success", "ok\n")


def test_an_engine_runs_a_plugin_table_of_its_own(tmp_path: Path,
                                                  write_doc: Callable[..., str]) -> None:
    async def configure_package(ctx: StepContext) -> PluginResult:
        now = ctx.node.clock.now()
        return PluginResult(ctx.step.name, ctx.step.action, "Success", "Success", 0, now, now,
                            stdout=f"installed {ctx.inputs['name']} on {ctx.node.node_id}\n")

    path = write_doc({"schemaVersion": "2.2", "description": "own plugin", "mainSteps": [
        {"action": "aws:configurePackage", "name": "package",
         "inputs": {"name": "AmazonCloudWatchAgent", "action": "Install"}},
        {"action": "aws:runShellScript", "name": "shell", "inputs": {"runCommand": ["echo sh"]}}]})
    table = {**BUILTIN_PLUGINS, "aws:configurePackage": configure_package}
    with Engine(f"sqlite:///{tmp_path / 'own.db'}", home=tmp_path / "own", environ={},
                plugins=table) as engine:
        handle = engine.send_command(path)
        assert handle.wait(60)["Status"] == "Success"
        node_id = engine.nodes.ensure_self().node_id
        assert outputs(handle.result()) == [
            ("package", "Success", f"installed AmazonCloudWatchAgent on {node_id}\n"),
            ("shell", "Success", "sh\n")]
    with Engine(f"sqlite:///{tmp_path / 'builtin.db'}", home=tmp_path / "builtin",
                environ={}) as engine:
        handle = engine.send_command(path)
        assert handle.wait(60)["Status"] == "Failed"
        assert outputs(handle.result())[0] == (
            "package", "Failed",
            "\n----------ERROR-------\nplugin aws:configurePackage is not supported by ssm-local\n")


def test_run_shell_script_honours_the_shebang_line(run: Run, write_doc: Callable[..., str]) -> None:
    """The agent launches ``_script.sh`` as an executable file: ``#!/bin/bash`` means bash, and a
    missing interpreter fails the step with the shell's message and 127."""
    path = write_doc({"schemaVersion": "2.2", "description": "shebangs", "mainSteps": [
        {"action": "aws:runShellScript", "name": "bash",
         "inputs": {"runCommand": ["#!/bin/bash", "a=(x y z)", "echo \"${a[2]}\""]}},
        {"action": "aws:runShellScript", "name": "missing",
         "inputs": {"runCommand": ["#!/usr/bin/ssm-local-no-such-interpreter", "echo never"]}}]})
    result = run(path)
    (invocation,) = result["CommandInvocations"]
    bash, missing = invocation["CommandPlugins"]
    assert (bash["StatusDetails"], bash["ResponseCode"], bash["Output"]) == ("Success", 0, "z\n")
    assert (missing["StatusDetails"], missing["ResponseCode"]) == ("Failed", 127)
    assert "_script.sh: not found" in missing["Output"]

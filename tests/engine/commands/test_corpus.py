"""Every Command document of the shared corpus, sent to the local node (and the plain ones over
SSH too): which run, and why the others cannot. The table below is the list in
docs/run-command.md. Fault-injection documents (and AWS's patching and agent-configuration
documents, which install software) run in the sandbox of ``sandbox.py``: as ``nobody``, with the
tools that would change the machine replaced by stubs that log their arguments; over SSH, on an
sshd whose sessions get the sandbox's PATH."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.executors import InvocationRequest, SshExecutor
from ssm_local.engine.services.nodes import Node
from tests.conftest import corpus_dir
from tests.engine.commands.sandbox import make_sandbox, sandbox_available
from tests.executors.conftest import SshdInfo


class Case(NamedTuple):
    file: str
    category: str
    """runs | pwsh (needs PowerShell) | skipped (nothing for Linux) | unsupported (plugin or
    source ssm-local does not run) | refused (a parameter can never be valid)"""
    parameters: dict[str, Any]
    expected: str | None = None
    """The invocation's Status where the outcome does not depend on the machine."""
    sandbox: bool = False


C = "adhorn__chaos-ssm-documents/"
A = "aws__amazon-ssm-agent/"
P = "ceshihao__ssm-public-documents/"
ONE_SECOND = {"DurationSeconds": "1"}
CASES = [
    # Linux fault injection (adhorn/chaos-ssm-documents): run in the sandbox.
    Case(C + "blackhole-dynamo-stress.yml", "runs", {}, "Failed", True),
    Case(C + "blackhole-ec2-stress.yml", "runs", {}, "Failed", True),
    Case(C + "blackhole-s3-stress.yml", "runs", {}, "Failed", True),
    Case(C + "blackhole-stress.yml", "runs",
         {"Protocol": "tcp", "Port": "443", "DurationSeconds": "1"}, "Failed", True),
    Case(C + "cpu-stress.yml", "runs", ONE_SECOND, "Success", True),
    Case(C + "diskspace-stress.yml", "runs", {}, "Success", True),
    Case(C + "io-stress.yml", "runs", ONE_SECOND, "Success", True),
    Case(C + "kill-process.yml", "runs", {"ProcessName": "no-such-process"}, "Success", True),
    Case(C + "latency-stress-sources.yml", "runs",
         {"Sources": "example.com", "DurationSeconds": "1"}, None, True),
    Case(C + "latency-stress.yml", "runs", ONE_SECOND, None, True),
    Case(C + "memory-stress.yml", "runs", ONE_SECOND, "Success", True),
    Case(C + "network-loss-stress-sources.yml", "runs",
         {"Sources": "example.com", "DurationSeconds": "1"}, None, True),
    Case(C + "network-loss-stress.yml", "runs", ONE_SECOND, None, True),
    # Windows fault injection: aws:runPowerShellScript with no precondition runs on Linux too.
    Case(C + "blackhole-dns-stress.yml", "pwsh", {}),
    Case(C + "blackhole-rds-stress.yml", "pwsh", {}),
    Case(C + "windows__blackhole-dynamo-stress.yml", "pwsh", {}),
    Case(C + "windows__blackhole-ec2-stress.yml", "pwsh", {}),
    Case(C + "windows__blackhole-s3-stress.yml", "pwsh", {}),
    Case(C + "windows__blackhole-stress.yml", "pwsh", {"protocol": "TCP", "port": "443"}),
    Case(C + "windows__cpu-stress.yml", "pwsh", {}),
    # SSM Agent test fixtures.
    Case(A + "cwdocument.json", "unsupported", {}, "Failed"),
    Case(A + "install.json", "pwsh", {}),
    Case(A + "jsondoc.json", "pwsh", {}),
    Case(A + "sampleAction.json", "pwsh", {}),
    Case(A + "sampleDoc.json", "runs", {}),
    Case(A + "sampleMessage.json", "pwsh", {}),
    Case(A + "sampleMessageVersion2_0.json", "pwsh", {"commands": ["Get-Date"]}),
    Case(A + "sampleMessageVersion2_2.json", "pwsh", {"commands": ["Get-Date"]}),
    Case(A + "sampleMessageWithMixedPrecondition.json", "skipped", {"messagePrecondition": "x"},
         "Success"),
    Case(A + "sampleMessageWithParamPrecondition.json", "skipped", {"messagePrecondition": "x"},
         "Success"),
    Case(A + "sampleMessageWithPlatformPrecondition.json", "skipped", {}, "Success"),
    Case(A + "sampleParams2_0StringMap.json", "pwsh", {}, "Failed"),
    Case(A + "sampleReplaceDefaultParams.json", "pwsh", {}),
    Case(A + "sampleVersion1_2.json", "unsupported", {"source": "https://example.com/a.msi"},
         "Failed"),
    Case(A + "sampleVersion2_0.json", "pwsh", {}),
    Case(A + "uninstall.json", "pwsh", {}),
    Case(A + "validcommand12.json", "runs", {}, "Success"),
    Case(A + "validcommand20.json", "runs", {}, "Success"),
    Case(A + "yamldoc.yaml", "pwsh", {}),
    Case("awslabs__aws-systems-manager/ConfigureAgentLogsUploadToCloudwatch.json", "runs",
         {"LogLevel": "Info", "EnableCloudWatchUpload": "false"}, None, True),
    # AWS-owned documents.
    Case(P + "AWS-ApplyAnsiblePlaybooks.json", "unsupported", {"SourceType": "S3"}, "Failed", True),
    Case(P + "AWS-ApplyChefRecipes.json", "unsupported", {}, "Failed", True),
    Case(P + "AWS-ApplyPatchBaseline.json", "pwsh", {"Operation": "Scan"}),
    Case(P + "AWS-ConfigureAWSPackage.json", "unsupported", {"action": "Install", "name": "x"},
         "Failed"),
    Case(P + "AWS-ConfigureCloudWatch.json", "unsupported", {}, "Failed"),
    Case(P + "AWS-ConfigureDocker.json", "unsupported", {"action": "Install"}, "Failed"),
    Case(P + "AWS-GatherSoftwareInventory.json", "unsupported", {}, "Failed"),
    Case(P + "AWS-InstallApplication.json", "skipped", {"source": "https://example.com/a.msi"},
         "Success"),
    Case(P + "AWS-InstallPowerShellModule.json", "skipped",
         {"source": "https://example.com/m.zip"}, "Success"),
    Case(P + "AWS-JoinDirectoryServiceDomain.json", "unsupported",
         {"directoryId": "d-1234567890", "directoryName": "corp.example.com"}, "Failed"),
    Case(P + "AWS-RefreshAssociation.json", "unsupported", {}, "Failed"),
    Case(P + "AWS-RunDockerAction.json", "unsupported", {"action": "Run"}, "Failed"),
    Case(P + "AWS-RunDocument.json", "runs",
         {"sourceType": "SSMDocument", "sourceInfo": {"name": "AWS-RunShellScript"},
          "documentParameters": {"commands": ["echo nested"]}}, "Success"),
    Case(P + "AWS-RunPatchBaseline.json", "runs", {"Operation": "Scan"}, None, True),
    Case(P + "AWS-RunPatchBaselineAssociation.json", "runs",
         {"AssociationId": "12345678-1234-1234-1234-123456789012", "Operation": "Scan"},
         None, True),
    Case(P + "AWS-RunPatchBaselineWithHooks.json", "unsupported", {"Operation": "Scan"}, "Failed"),
    Case(P + "AWS-RunPowerShellScript.json", "pwsh", {"commands": ["Get-Date"]}),
    Case(P + "AWS-RunRemoteScript.json", "unsupported",
         {"sourceType": "S3", "sourceInfo": '{"path": "https://example.com/x.sh"}',
          "commandLine": "x.sh"}, "Failed"),
    Case(P + "AWS-RunShellScript.json", "runs", {"commands": ["echo hi"]}, "Success"),
    Case(P + "AWS-UpdateEC2Config.json", "skipped", {}, "Success"),
    Case(P + "AWS-UpdateSSMAgent.json", "unsupported", {}, "Failed"),
    Case("getmoto__moto/good.yaml", "refused", {}),
]
SSH_CASES = [c for c in CASES if c.category != "refused"]


@pytest.fixture(scope="module")
def sandbox_sshd(sshd_factory: Callable[[], SshdInfo]) -> Iterator[SshdInfo]:
    """An sshd of its own whose sessions get the sandbox's PATH (``SetEnv``), so that the SSH
    executor's ``sh`` is the sandbox's."""
    if not sandbox_available():
        pytest.skip("the sandbox needs root, setpriv and bash")
    tools = Path(tempfile.mkdtemp(prefix="ssm-local-sandbox-bin-"))
    make_sandbox(tools)
    info = sshd_factory()
    config = info.key_path.parent / "sshd_config"
    config.write_text(config.read_text(encoding="ascii") + f"SetEnv PATH={tools}\n",
                      encoding="ascii")
    os.kill(info.pid, signal.SIGHUP)  # sshd re-executes itself and reads the configuration
    deadline = time.monotonic() + 10
    while True:
        time.sleep(0.2)
        try:
            with socket.create_connection((info.host, info.port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
    try:
        probe = asyncio.run(_probe(info))
        assert probe == f"65534 {tools}/sh {tools}", f"scripts do not run in the sandbox: {probe}"
        yield info
    finally:
        shutil.rmtree(tools, ignore_errors=True)


async def _probe(info: SshdInfo) -> str:
    """Who runs a script over SSH, with which ``sh`` and PATH."""
    async with SshExecutor(**info.executor_options()) as executor:
        result = await executor.run(InvocationRequest(
            script='echo "$(id -u) $(command -v sh) $PATH"'))
    return result.stdout_text.strip() or result.stderr_text.strip()


def _check(case: Case, invocation: dict[str, Any]) -> None:
    plugins = invocation["CommandPlugins"]
    text = "\n".join(p["Output"] for p in plugins)
    assert plugins, "every document reports at least one plugin"
    if case.expected is not None:
        assert invocation["Status"] == case.expected, text
    if case.category == "runs":
        assert "not supported" not in text
        ran = [p for p in plugins if p["StatusDetails"] != "Skipped"]
        assert ran and all(p["ResponseCode"] >= 0 for p in ran), text
    elif case.category == "pwsh":
        if shutil.which("pwsh") is None:
            assert invocation["Status"] == "Failed"
            assert "pwsh was not found" in text
    elif case.category == "skipped":
        assert all(p["StatusDetails"] == "Skipped" for p in plugins)
    elif case.category == "unsupported":
        assert "not supported" in text or "was not found" in text, text


def _send(engine: Engine, case: Case, **request: Any) -> dict[str, Any]:
    handle = engine.send_command(str(corpus_dir() / case.file), parameters=case.parameters,
                                 **request)
    handle.wait(300)
    (invocation,) = handle.invocations()
    return invocation


def test_every_command_document_of_the_corpus_is_listed() -> None:
    import csv

    with open(corpus_dir() / "INDEX.tsv", encoding="utf-8") as handle:
        commands = {row["file"] for row in csv.DictReader(handle, delimiter="\t")
                    if row["kind"] == "Command"}
    assert commands == {case.file for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.file.split("/")[-1] for c in CASES])
def test_corpus_document_on_the_local_node(case: Case, engine: Engine,
                                           request: pytest.FixtureRequest) -> None:
    if case.category == "refused":
        from ssm_local.grammar.errors import ParameterError

        with pytest.raises(ParameterError, match="does not match the allowed pattern"):
            engine.send_command(str(corpus_dir() / case.file), parameters=case.parameters)
        return
    if case.sandbox:
        if not sandbox_available():
            pytest.skip("the sandbox needs root, setpriv and bash")
        tools = Path(tempfile.mkdtemp(prefix="ssm-local-sandbox-bin-"))  # nobody must reach it
        request.addfinalizer(lambda: shutil.rmtree(tools, ignore_errors=True))
        sandbox = make_sandbox(tools)
        engine.commands.executor_factory = lambda node: sandbox
    if case.file.endswith("sampleDoc.json") and shutil.which("ifconfig") is None:
        case = case._replace(expected="Failed")
    _check(case, _send(engine, case))


@pytest.mark.parametrize("case", SSH_CASES, ids=[c.file.split("/")[-1] for c in SSH_CASES])
def test_corpus_document_over_ssh(case: Case, engine: Engine, request: pytest.FixtureRequest
                                  ) -> None:
    fixture = "sandbox_sshd" if case.sandbox else "sshd"
    info: SshdInfo = request.getfixturevalue(fixture)
    node = engine.nodes.add_ssh(fixture, f"{info.user}@{info.host}:{info.port}",
                                key_path=str(info.key_path), known_hosts=str(info.known_hosts_path))
    if case.file.endswith("sampleDoc.json") and shutil.which("ifconfig") is None:
        case = case._replace(expected="Failed")
    _check(case, _send(engine, case, instance_ids=[node.node_id]))


def test_bundled_documents_over_ssh(engine: Engine, ssh_node: Node,
                                   run: Callable[..., dict[str, Any]]) -> None:
    result = run("AWS-RunShellScript", instance_ids=[ssh_node.node_id],
                 parameters={"commands": ['echo "$AWS_SSM_INSTANCE_ID"', "exit 168"]})
    (invocation,) = result["CommandInvocations"]
    (plugin,) = invocation["CommandPlugins"]
    assert (plugin["Status"], plugin["ResponseCode"]) == ("Success", 168)
    assert plugin["Output"] == ssh_node.node_id + "\n"
    result = run("AWS-RunDocument", instance_ids=[ssh_node.node_id], parameters={
        "sourceType": "SSMDocument", "sourceInfo": {"name": "AWS-RunShellScript"},
        "documentParameters": {"commands": ["echo over ssh"]}})
    plugins = result["CommandInvocations"][0]["CommandPlugins"]
    assert [p["Status"] for p in plugins] == ["Success", "Success"]
    assert plugins[1]["Output"] == "over ssh\n"

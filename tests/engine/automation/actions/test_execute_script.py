"""aws:executeScript: a real Python subprocess per attempt, with AWS's Payload rules."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ssm_local.engine.automation.actions import ActionContext, ActionResult
from ssm_local.engine.automation.actions.execute_script import handler
from ssm_local.engine.clock import SystemClock


def _run(inputs: dict[str, Any], *, attachments: Path | None = None, timeout: float = 30,
         logs: list[str] | None = None) -> ActionResult:
    context = ActionContext(
        execution_id="exec-1", step_name="script", action="aws:executeScript", inputs=inputs,
        clients=lambda name: None, clock=SystemClock(), timeout_seconds=timeout,
        log=(logs.append if logs is not None else lambda _: None),
        attachments_dir=str(attachments) if attachments else None)
    return asyncio.run(handler(context))


SCRIPT = (
    "def handler(events, context):\n"
    "    print('working on', events['n'])\n"
    "    return {'double': events['n'] * 2, 'id': context['automation:EXECUTION_ID']}\n"
)


def test_inline_script_returns_payload_and_logs_output() -> None:
    logs: list[str] = []
    result = _run({"Runtime": "python3.8", "Handler": "handler", "Script": SCRIPT,
                   "InputPayload": {"n": 21}}, logs=logs)
    assert result.status == "Success"
    assert result.outputs == {"Payload": {"double": 42, "id": "exec-1"}}
    assert result.response == {"Payload": {"double": 42, "id": "exec-1"}}
    assert logs == ["working on 21\n"]


def test_exception_fails_with_type_message_and_traceback() -> None:
    result = _run({"Runtime": "python3.11", "Handler": "handler",
                   "Script": "def handler(events, context):\n    raise ValueError('bad input')\n"})
    assert result.status == "Failed"
    assert result.failure_message is not None
    assert result.failure_message.startswith("ValueError: bad input\nTraceback")


def test_long_list_is_cut_to_100_items_and_big_payload_fails() -> None:
    result = _run({"Runtime": "python3.11", "Handler": "h",
                   "Script": "def h(e, c):\n    return list(range(250))\n"})
    assert result.outputs["Payload"] == list(range(100))
    result = _run({"Runtime": "python3.11", "Handler": "h",
                   "Script": "def h(e, c):\n    return 'x' * 200000\n"})
    assert result.status == "Failed" and "100 KB" in (result.failure_message or "")


def test_attachment_module_and_zip(tmp_path: Path) -> None:
    (tmp_path / "tool.py").write_text("def run(events, context):\n    return 'py:' + events['a']\n")
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as bundle:
        bundle.writestr("pkgmod.py", "def go(events, context):\n    return 'zip:' + events['a']\n")
    result = _run({"Runtime": "python3.11", "Handler": "tool.run", "Attachment": "tool.py",
                   "InputPayload": {"a": "1"}}, attachments=tmp_path)
    assert result.outputs == {"Payload": "py:1"}
    result = _run({"Runtime": "python3.11", "Handler": "pkgmod.go", "Attachment": "bundle.zip",
                   "InputPayload": {"a": "2"}}, attachments=tmp_path)
    assert result.outputs == {"Payload": "zip:2"}


@pytest.mark.parametrize(("inputs", "message"), [
    ({"Runtime": "python3.11", "Handler": "h", "Attachment": "x.py"},
     "the step uses an Attachment but no attachments directory was given"),
    ({"Runtime": "nodejs18.x", "Handler": "h", "Script": "x"},
     "Runtime 'nodejs18.x' is not supported"),
    ({"Runtime": "PowerShell 7.4", "Script": "Write-Output 1"},
     "PowerShell runtimes are not supported by ssm-local's aws:executeScript yet"),
    ({"Runtime": "python3.11", "Handler": "h"}, "aws:executeScript needs Script or Attachment"),
])
def test_bad_inputs_fail_clearly(inputs: dict[str, Any], message: str) -> None:
    result = _run(inputs)
    assert result.status == "Failed"
    assert (result.failure_message or "").startswith(message)


def test_timeout_kills_the_script_and_its_children() -> None:
    marker = "sleep 1000.4242"
    script = ("import subprocess\ndef h(e, c):\n    subprocess.Popen(['sh', '-c', '" + marker +
              "'])\n    import time\n    time.sleep(1000)\n")
    result = _run({"Runtime": "python3.11", "Handler": "h", "Script": script}, timeout=1)
    assert result.status == "TimedOut"
    import subprocess

    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    assert left.stdout.strip() == ""


@pytest.mark.parametrize("attachment", ["../outside.py", "link.py", "sub/../../outside.py", "ABSOLUTE"])
def test_attachment_outside_the_directory_is_refused(tmp_path: Path, attachment: str) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "outside.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef run(events, context):\n    return 'ran'\n")
    attachments = tmp_path / "attachments"
    (attachments / "sub").mkdir(parents=True)
    (attachments / "link.py").symlink_to(tmp_path / "outside.py")
    if attachment == "ABSOLUTE":
        attachment = str(tmp_path / "outside.py")
    result = _run({"Runtime": "python3.11", "Handler": "outside.run", "Attachment": attachment},
                  attachments=attachments)
    assert result.status == "Failed"
    assert (result.failure_message or "").startswith(
        f"attachment {attachment!r} is outside the attachments directory {attachments.resolve()}")
    assert not marker.exists()


OUTLIVING = {
    "own-session": "import subprocess\ndef h(e, c):\n"
                   "    subprocess.Popen(['sleep', '5'], start_new_session=True)\n"
                   "    print('started')\n    return 1\n",
    "forked": "import os, time\ndef h(e, c):\n"
              "    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)\n"
              "    print('started')\n    return 1\n",
}


@pytest.mark.parametrize("script", list(OUTLIVING.values()), ids=list(OUTLIVING))
def test_a_child_that_outlives_the_handler_neither_holds_the_step_nor_dirties_stderr(
        script: str) -> None:
    import subprocess
    import sys
    import time

    program = (
        "import asyncio, json, sys\n"
        "from ssm_local.engine.automation.actions import ActionContext\n"
        "from ssm_local.engine.automation.actions.execute_script import handler\n"
        "from ssm_local.engine.clock import SystemClock\n"
        "logs = []\n"
        "ctx = ActionContext(execution_id='e', step_name='s', action='aws:executeScript',\n"
        "    inputs={'Runtime': 'python3.11', 'Handler': 'h', 'Script': sys.argv[1]},\n"
        "    clients=lambda n: None, clock=SystemClock(), timeout_seconds=30, log=logs.append)\n"
        "r = asyncio.run(handler(ctx))\n"
        "print(json.dumps([r.status, r.outputs, logs]))\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", program, script], capture_output=True,
                          text=True, timeout=30)
    assert done.stderr == ""
    assert done.returncode == 0
    assert json.loads(done.stdout) == ["Success", {"Payload": 1}, ["started\n"]]
    assert time.monotonic() - started < 4  # the child sleeps 5 s

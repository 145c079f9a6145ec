"""A tiny executor plugin installed for real: the ``installed_plugin`` fixture writes a module and a
``*.dist-info`` (METADATA, ``entry_points.txt`` in the group ``ssm_local.executors``) into a
directory put on ``sys.path``, as pip would install them, so that ``importlib.metadata`` finds it.
The ``recording`` executor answers every invocation itself (``<greeting> from the plugin``) and
appends what it was asked, and its closing, to the JSON-lines file named by its ``log`` option.
"""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from ssm_local.engine.executors import ENTRY_POINT_GROUP

__all__ = ["installed_plugin"]

PLUGIN_MODULE = "ssm_local_test_recording_executor"
PLUGIN_SOURCE = '''
"""A tiny executor plugin: answers every invocation itself and logs what it was asked."""

from __future__ import annotations

import json

from ssm_local.engine.executors.base import ProcessOutcome, ProcessResult, utc_now


class RecordingExecutor:
    name = "recording"

    def __init__(self, *, log: str, greeting: str = "hello") -> None:
        self.log = log
        self.greeting = greeting

    def _write(self, entry: dict) -> None:
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\\n")

    async def run(self, request, on_output=None, *, cancel=None):
        self._write({"script": request.script, "env": request.environment.get("AWS_SSM_INSTANCE_ID")})
        stdout = f"{self.greeting} from the plugin\\n".encode()
        if on_output is not None:
            on_output("stdout", stdout)
        now = utc_now()
        return ProcessResult(ProcessOutcome.EXITED, 0, stdout, b"", now, now)

    async def aclose(self):
        self._write({"closed": True})
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Installs the ``recording`` executor plugin into a directory on ``sys.path``, as pip would
    (the module plus a dist-info with METADATA and entry_points.txt); returns its name."""
    site = tmp_path / "site-packages"
    (site / PLUGIN_MODULE).mkdir(parents=True)
    (site / PLUGIN_MODULE / "__init__.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    dist_info = site / "ssm_local_test_recording_executor-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(textwrap.dedent("""\
        Metadata-Version: 2.1
        Name: ssm-local-test-recording-executor
        Version: 1.0
        """), encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nrecording = {PLUGIN_MODULE}:RecordingExecutor\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == "recording"]
    assert [ep.value for ep in found] == [f"{PLUGIN_MODULE}:RecordingExecutor"]
    return "recording"

"""ssm-local embeds in an application whose own modules are named engine, documents and grammar.

Before everything moved under ``ssm_local``, an application with its own ``engine.py`` could not
import ssm-local at all. The application runs in a real subprocess whose working directory holds
those three modules first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

APP = textwrap.dedent("""
    import json, sys

    import documents
    import engine
    import grammar
    from ssm_local import Engine

    with Engine(home=sys.argv[1]) as ssm:
        handle = ssm.send_command("AWS-RunShellScript",
                                  parameters={"commands": ["echo embedded"]})
        result = handle.wait()
        output = ssm.commands.get_command_invocation(handle.command_id, result["InstanceIds"][0])
    print(json.dumps({"app": [engine.NAME, documents.NAME, grammar.NAME],
                      "status": result["Status"], "stdout": output["StandardOutputContent"]}))
""")


def test_an_application_with_its_own_engine_module_embeds_ssm_local(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name in ("engine", "documents", "grammar"):
        (app / f"{name}.py").write_text(f'NAME = "the application\'s {name}"\n', encoding="utf-8")
    (app / "main.py").write_text(APP, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    repo = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(app), str(repo)])
    done = subprocess.run([sys.executable, "main.py", str(tmp_path / "home")], cwd=app, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "app": ["the application's engine", "the application's documents",
                "the application's grammar"],
        "status": "Success",
        "stdout": "embedded\n",
    }

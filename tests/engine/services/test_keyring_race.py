"""Key ring writes from several real processes at once: no key is ever lost.

Eight processes share one ``SSM_LOCAL_HOME`` (so one ``keyring.json``) and one SQLite store.
They start together (a barrier file), and each creates keys under distinct aliases, encrypts
SecureStrings with them and with the default key, which none of them finds on disk at the start.
Afterwards a fresh process-wide ``Engine`` must find every alias and decrypt every value: before
the key ring serialized its writes, processes rewrote the file whole from their own cache and
erased each other's keys.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services.keyring import KeyRing, KeyRingError

PROCESSES = 8
KEYS_EACH = 4

WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ssm_local.engine import Engine

    home, db, start, index = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    keys = int(sys.argv[5])
    engine = Engine(f"sqlite:///{db}", home=home, environ={}, cache_ttl=None)
    while not start.exists():
        time.sleep(0.005)
    for k in range(keys):
        alias = f"alias/p{index}-k{k}"
        engine.keyring.create_key(alias)
        engine.parameters.put_parameter(
            f"/race/{index}/{k}", f"secret-{index}-{k}", type="SecureString", key_id=alias
        )
    engine.parameters.put_parameter(f"/race/{index}/default", f"plain-{index}", type="SecureString")
    engine.close()
    """
)


def test_concurrent_processes_keep_every_key(tmp_path: Path) -> None:
    home, db, start = tmp_path / "home", tmp_path / "store.db", tmp_path / "start"
    Engine(f"sqlite:///{db}", home=home, environ={}).close()  # the schema, made once
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    env.pop("SSM_LOCAL_KMS_KEY", None)
    env.pop("SSM_LOCAL_KEYRING", None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), str(db), str(start), str(i), str(KEYS_EACH)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(PROCESSES)
    ]
    time.sleep(1.0)  # let every worker import and open the store
    start.touch()
    for proc in workers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    saved = json.loads((home / "keyring.json").read_text())
    aliases = saved["aliases"]
    assert {f"alias/p{i}-k{k}" for i in range(PROCESSES) for k in range(KEYS_EACH)} <= set(aliases)
    assert set(aliases.values()) <= set(saved["keys"])
    assert len(saved["keys"]) == PROCESSES * KEYS_EACH + 1  # one default key, made once
    assert (home / "keyring.json").stat().st_mode & 0o777 == 0o600

    with Engine(f"sqlite:///{db}", home=home, environ={}) as engine:
        for i in range(PROCESSES):
            for k in range(KEYS_EACH):
                got = engine.parameters.get_parameter(f"/race/{i}/{k}", with_decryption=True)
                assert got.value == f"secret-{i}-{k}"
            got = engine.parameters.get_parameter(f"/race/{i}/default", with_decryption=True)
            assert got.value == f"plain-{i}"


def test_alias_taken_by_another_process_is_refused(tmp_path: Path) -> None:
    """Two key rings on one file (as two processes): the second sees the first's alias on file
    under the lock, even though its own cache was loaded before the alias existed."""
    first, second = KeyRing(tmp_path / "keyring.json"), KeyRing(tmp_path / "keyring.json")
    second.resolve(None)  # loads the (then empty) file and makes the default key
    key_id = first.create_key("alias/team")
    with pytest.raises(KeyRingError) as caught:
        second.create_key("alias/team")
    assert caught.value.code == "AlreadyExistsException"
    assert second.resolve("alias/team").key_id == key_id
    assert first.resolve(None).key_id == second.resolve(None).key_id  # one default key


def test_environment_key_material_is_never_written(tmp_path: Path) -> None:
    material = bytes(range(32))
    environ = {"SSM_LOCAL_KMS_KEY": base64.b64encode(material).decode()}
    ring = KeyRing.from_environment(tmp_path, environ)
    sealed = ring.encrypt("v", None, "/p")
    ring.create_key("alias/team")
    saved = json.loads((tmp_path / "keyring.json").read_text())
    assert base64.b64encode(material).decode() not in json.dumps(saved)
    assert "alias/aws/ssm" not in saved["aliases"] and list(saved["aliases"]) == ["alias/team"]
    assert KeyRing.from_environment(tmp_path, environ).decrypt(sealed, "/p") == "v"

"""SSM_LOCAL_HOME is private to its user: the home 0700, the store and its WAL/SHM files 0600."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssm_local.engine.facade import Engine
from ssm_local.engine.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_home_is_0700_and_its_files_0600(tmp_path: Path, loose_umask: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("SSM_LOCAL_HOME", str(home))
    monkeypatch.delenv("SSM_LOCAL_DB", raising=False)
    monkeypatch.delenv("SSM_LOCAL_KEYRING", raising=False)
    engine = Engine()
    try:
        engine.parameters.put_parameter("/secret", "s3cr3t", type="SecureString")
        assert _mode(home) == 0o700
        files = sorted(p.name for p in home.iterdir() if p.is_file())
        assert {"store.db", "store.db-wal", "store.db-shm", "keyring.json"} <= set(files)
        assert {name: _mode(home / name) for name in files} == {name: 0o600 for name in files}
    finally:
        engine.close()


def test_an_existing_loose_home_and_store_are_tightened(tmp_path: Path, loose_umask: None,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "store.db").touch(mode=0o644)
    monkeypatch.setenv("SSM_LOCAL_HOME", str(home))
    with caplog.at_level(logging.WARNING):
        store = Store(f"sqlite:///{home / 'store.db'}")
    store.close()
    assert _mode(home) == 0o700
    assert _mode(home / "store.db") == 0o600
    assert f"{home} was mode 755, readable by other users; set to 700" in caplog.text


def test_a_store_elsewhere_gets_a_private_file_but_its_directory_is_left_alone(
        tmp_path: Path, loose_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    store = Store(str(shared / "x.db"))
    try:
        with store.write() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        assert _mode(shared) == 0o755
        assert _mode(shared / "x.db") == 0o600
        assert _mode(shared / "x.db-wal") == 0o600
    finally:
        store.close()


def test_a_key_ring_directory_made_for_the_key_ring_is_0700(tmp_path: Path, loose_umask: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``SSM_LOCAL_KEYRING`` in a directory that does not exist yet: the key ring makes it 0700."""
    keys = tmp_path / "keys" / "ring"
    monkeypatch.setenv("SSM_LOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SSM_LOCAL_KEYRING", str(keys / "keyring.json"))
    monkeypatch.delenv("SSM_LOCAL_DB", raising=False)
    engine = Engine()
    try:
        engine.parameters.put_parameter("/secret", "s3cr3t", type="SecureString")
        assert _mode(keys) == 0o700
        assert _mode(keys.parent) == 0o700
        assert _mode(keys / "keyring.json") == 0o600
    finally:
        engine.close()


def test_a_closed_store_or_engine_leaves_the_list_of_own_state(tmp_path: Path) -> None:
    """A long-lived process that opens and closes many stores keeps a short list of paths no
    document may read (it travels to the node with every ``file://`` copy, in one environment
    variable, which Linux caps at 128 KiB)."""
    from ssm_local.engine.store.database import own_state_paths

    before = own_state_paths()
    for i in range(3):
        Store(f"sqlite:///{tmp_path / f's{i}.db'}").close()
        Engine(home=tmp_path / f"home{i}", environ={}).close()
    assert own_state_paths() == before
    with Engine(home=tmp_path / "open", environ={}) as engine:
        assert str((tmp_path / "open").resolve()) in own_state_paths()
        assert not any(p.startswith(str((tmp_path / "open").resolve()) + "/")
                       for p in own_state_paths())  # its store is under it: one entry covers both
        del engine
    assert own_state_paths() == before


def test_file_url_copies_work_after_thousands_of_stores(tmp_path: Path) -> None:
    """Opening and closing many stores in one process (a test suite, a long-lived service) does
    not make a later ``file://`` copy fail with "Argument list too long"."""
    from ssm_local.engine.store.database import own_state_paths, protect_own_state, release_own_state

    many = [str(tmp_path / f"closed-{i:05d}" / "store.db") for i in range(3000)]
    for path in many:
        protect_own_state(path)
    for path in many:
        release_own_state(path)  # what Store.close() does
    try:
        source = tmp_path / "data.txt"
        source.write_text("local bytes\n", encoding="utf-8")
        with Engine(f"sqlite:///{tmp_path / 'store.db'}", home=tmp_path / "home", environ={}) as engine:
            document = tmp_path / "fetch.json"
            document.write_text(json.dumps({
                "schemaVersion": "2.2", "description": "file url", "mainSteps": [
                    {"action": "aws:downloadContent", "name": "fetch",
                     "inputs": {"sourceType": "HTTP", "sourceInfo": {"url": source.as_uri()},
                                "destinationPath": str(tmp_path / "out" / "copy.txt")}}]}),
                encoding="utf-8")
            handle = engine.send_command(str(document))
            handle.wait(60)
            plugin = handle.result()["CommandInvocations"][0]["CommandPlugins"][0]
            assert plugin["Status"] == "Success", plugin["Output"]
        assert (tmp_path / "out" / "copy.txt").read_text(encoding="utf-8") == "local bytes\n"
    finally:
        for path in many:
            release_own_state(path)
    assert len("\n".join(own_state_paths())) < 64 * 1024

"""SecureString values never reach the disk or the logs in plaintext.

Stores several SecureStrings (created, overwritten, labelled, read, listed, rejected by an
AllowedPattern) with SQL logging turned all the way up, then searches the SQLite database, its
WAL, the key ring's directory and every captured log record for the plaintexts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ssm_local.engine import Engine
from ssm_local.engine.services import ParameterStoreError

SECRETS = ["correct-horse-battery-staple", "p@ssw0rd-Ünïcode-✓", "AKIAEXAMPLESECRET12345"]


def test_no_plaintext_on_disk_or_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    home = tmp_path / "home"
    db = tmp_path / "store.db"
    engine = Engine(f"sqlite:///{db}", home=home, environ={})
    ps = engine.parameters
    for i, secret in enumerate(SECRETS):
        ps.put_parameter(f"/s/{i}", secret, type="SecureString", description="a secret")
        ps.put_parameter(f"/s/{i}", secret + "-v2", overwrite=True)
        ps.label_parameter_version(f"/s/{i}", ["live"], 1)
        assert ps.get_parameter(f"/s/{i}:live", with_decryption=True).value == secret
        ps.get_parameter_history(f"/s/{i}", with_decryption=True)
    ps.get_parameters_by_path("/s", with_decryption=True)
    ps.describe_parameters()
    with pytest.raises(ParameterStoreError):
        ps.put_parameter("/s/pin", SECRETS[0], type="SecureString", allowed_pattern=r"\d+")
    logging.getLogger("probe").info("log capture works")
    files = {p: p.read_bytes() for p in [db, *tmp_path.glob("store.db-*"), *home.iterdir()]}
    engine.close()
    files.update({p: p.read_bytes() for p in [db, *home.iterdir()]})

    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "log capture works" in logs and "INSERT INTO parameter_labels" in logs  # SQL logged
    for secret in SECRETS:
        for variant in (secret, secret + "-v2"):
            for path, data in files.items():
                assert variant.encode("utf-8") not in data, f"plaintext in {path.name}"
            assert variant not in logs
    assert (home / "keyring.json").stat().st_mode & 0o777 == 0o600

"""Run ownership on both backends: a live owner is refused, a gone one (lease expired, or a dead
process on this host) is taken over, and a takeover is atomic: of two claims that read the same
gone owner, exactly one wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ssm_local.engine.clock import FakeClock
from ssm_local.engine.services.ownership import (
    AUTOMATION,
    LEASE_ENV,
    Owner,
    OwnerAlive,
    Ownership,
    lease_seconds_from_env,
)
from ssm_local.engine.store import Store
from ssm_local.grammar.errors import ExecutionError


def _other_host(ownership: Ownership) -> Ownership:
    ownership.host = "far-away"
    return ownership


def test_a_lease_kept_refuses_and_an_expired_one_is_taken_over(store_url: str,
                                                               clock: FakeClock) -> None:
    store = Store(store_url)
    try:
        far = _other_host(Ownership(store, clock, lease_seconds=30))
        here = Ownership(store, clock, lease_seconds=30)
        with store.write() as conn:
            far.insert(conn, AUTOMATION, "exec-1")
        with pytest.raises(OwnerAlive, match=r"exec-1 is being run by pid \d+ on host far-away"):
            here.claim(AUTOMATION, "exec-1", what="exec-1")
        clock.advance(31)
        token = here.claim(AUTOMATION, "exec-1", what="exec-1")
        owner = here.owner(AUTOMATION, "exec-1")
        assert owner is not None and (owner.host, owner.pid, owner.token) == (
            here.host, os.getpid(), token)
        here.release(AUTOMATION, "exec-1", token)
        assert here.owner(AUTOMATION, "exec-1") is None
    finally:
        store.close()


def test_a_dead_process_on_this_host_is_gone_at_once(store_url: str, clock: FakeClock) -> None:
    store = Store(store_url)
    try:
        here = Ownership(store, clock, lease_seconds=30)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        gone = Owner(here.host, int(dead.stdout), "t", clock.time() + 30)
        assert not here.alive(gone)
        assert here.alive(Owner(here.host, os.getpid(), "t", clock.time() + 30))
        assert not here.alive(Owner(here.host, os.getpid(), "t", clock.time() - 1))
    finally:
        store.close()


def test_two_claims_of_one_gone_owner_one_wins(store_url: str, clock: FakeClock) -> None:
    store = Store(store_url)
    try:
        far = _other_host(Ownership(store, clock, lease_seconds=5))
        with store.write() as conn:
            far.insert(conn, AUTOMATION, "exec-2")
        clock.advance(6)
        first, second = Ownership(store, clock), Ownership(store, clock)
        stale = first.owner(AUTOMATION, "exec-2")
        assert stale is not None
        second.owner = lambda kind, resource_id: stale  # type: ignore[method-assign]
        token = first.claim(AUTOMATION, "exec-2", what="exec-2")
        with pytest.raises(OwnerAlive, match="exec-2 was just taken over by pid"):
            second.claim(AUTOMATION, "exec-2", what="exec-2")
        first.release(AUTOMATION, "exec-2", token)
    finally:
        store.close()


@pytest.mark.parametrize("text", ["abc", "0", "-5", "nan", "inf"])
def test_a_lease_that_is_not_a_positive_number_is_an_error(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEASE_ENV, text)
    with pytest.raises(ExecutionError) as raised:
        lease_seconds_from_env()
    assert raised.value.code == "InvalidLeaseSeconds"


def test_a_lease_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEASE_ENV, " 2.5 ")
    assert lease_seconds_from_env() == 2.5
    monkeypatch.delenv(LEASE_ENV)
    assert lease_seconds_from_env() == 30

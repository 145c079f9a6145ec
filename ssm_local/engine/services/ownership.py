"""Run ownership: which process drives a running command or execution, and whether it still lives.

Every running Run Command command and Automation execution has an owner in the store's
``run_owners`` table: the host and process id that drive it, and a lease (``lease_expires``,
epoch seconds from the engine ``Clock``) that a background thread renews every third of the
lease while the owner holds it. An owner is gone when its lease expired, or when it is on this
host and its process is not alive (no such pid, or a zombie); whoever looks at the record next
may then take it over with ``claim``, a conditional UPDATE on the token it read, so that of two
processes that find the same dead owner exactly one wins. The lease is ``SSM_LOCAL_LEASE_SECONDS``
(default 30 s) unless a service is given one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ssm_local.engine.clock import Clock
from ssm_local.engine.store import Store
from ssm_local.engine.store.owner_tables import RunOwnerRow
from ssm_local.grammar.errors import ApiError, ExecutionError, SsmLocalError

OWNERS = RunOwnerRow.__table__  # type: ignore[attr-defined]
DEFAULT_LEASE_SECONDS = 30.0
LEASE_ENV = "SSM_LOCAL_LEASE_SECONDS"
COMMAND = "Command"
AUTOMATION = "Automation"

_HELD: dict[str, tuple[str, str]] = {}
"""Tokens this process holds (token -> (kind, resource id)), shared by every ``Ownership``."""
_HELD_LOCK = threading.Lock()


def lease_seconds_from_env() -> float:
    """``SSM_LOCAL_LEASE_SECONDS`` as a number of seconds, ``DEFAULT_LEASE_SECONDS`` when unset.
    Raises ``ExecutionError`` (InvalidLeaseSeconds) for text that is not a positive finite
    number: a wrong lease is a setting to fix, not one to ignore."""
    text = os.environ.get(LEASE_ENV, "").strip()
    if not text:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise ExecutionError(f"{LEASE_ENV} must be a number of seconds greater than 0, got "
                             f"{text[:40]!r}", code="InvalidLeaseSeconds")
    return value


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process on this host (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError), open(
            f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    return True


@dataclass(frozen=True)
class Owner:
    """The owner of a record as the store shows it."""

    host: str
    pid: int
    token: str
    lease_expires: float

    def describe(self) -> str:
        """``pid 1234 on host web-1``."""
        return f"pid {self.pid} on host {self.host}"


class OwnerAlive(ApiError):
    """The record is driven by a live owner; its message names the owner (host and pid)."""

    def __init__(self, message: str, owner: Owner | None, *,
                 code: str = "InvalidAutomationStatusUpdateException") -> None:
        super().__init__(message, code=code)
        self.owner = owner


class Ownership:
    """Owners and leases in one store, for this process (``host``, ``pid``)."""

    def __init__(self, store: Store, clock: Clock, *, lease_seconds: float | None = None) -> None:
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds or lease_seconds_from_env()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._keeper: threading.Thread | None = None
        self._mine: set[str] = set()
        self._lock = threading.Lock()

    # -- taking ---------------------------------------------------------------------------

    def insert(self, conn: Connection, kind: str, resource_id: str) -> str:
        """Make this process the owner of a new record, in the caller's transaction; returns the
        token. The lease is not renewed until ``hold``: a record prepared and never run is
        finished by the next reader once the lease expires."""
        token = str(uuid.uuid4())
        now = self.clock.time()
        conn.execute(sa.insert(OWNERS).values(
            kind=kind, resource_id=resource_id, host=self.host, pid=self.pid, token=token,
            claimed_at=now, lease_expires=now + self.lease_seconds))
        return token

    def hold(self, kind: str, resource_id: str, token: str) -> bool:
        """Renew the lease of ``token`` from now on; False when someone took the record over."""
        with self.store.write() as conn:
            taken = conn.execute(sa.update(OWNERS).where(
                OWNERS.c.kind == kind, OWNERS.c.resource_id == resource_id,
                OWNERS.c.token == token).values(
                lease_expires=self.clock.time() + self.lease_seconds)).rowcount
        if taken:
            self._keep(kind, resource_id, token)
        return bool(taken)

    def claim(self, kind: str, resource_id: str, *, what: str) -> str:
        """Take the record over from a gone owner (or none) and hold it; returns the token.

        Raises ``OwnerAlive`` (its message names ``what`` and the owner) when the owner lives,
        or when another process took it over first."""
        owner = self.owner(kind, resource_id)
        if owner is not None and self.alive(owner):
            raise OwnerAlive(f"{what} is being run by {owner.describe()} (its lease runs until "
                             f"{_iso(owner.lease_expires)}); stop that process first", owner)
        token = str(uuid.uuid4())
        now = self.clock.time()
        values = {"host": self.host, "pid": self.pid, "token": token, "claimed_at": now,
                  "lease_expires": now + self.lease_seconds}
        try:
            with self.store.write() as conn:
                if owner is None:
                    conn.execute(sa.insert(OWNERS).values(kind=kind, resource_id=resource_id,
                                                          **values))
                    taken = 1
                else:
                    taken = conn.execute(sa.update(OWNERS).where(
                        OWNERS.c.kind == kind, OWNERS.c.resource_id == resource_id,
                        OWNERS.c.token == owner.token).values(**values)).rowcount
        except SsmLocalError:  # a concurrent insert of the same key
            taken = 0
        if not taken:
            now_owner = self.owner(kind, resource_id)
            raise OwnerAlive(f"{what} was just taken over by "
                             f"{now_owner.describe() if now_owner else 'another process'}",
                             now_owner)
        self._keep(kind, resource_id, token)
        return token

    def release(self, kind: str, resource_id: str, token: str) -> None:
        """Stop renewing and remove the owner row, if it is still ``token``'s."""
        with _HELD_LOCK:
            _HELD.pop(token, None)
        with self._lock:
            self._mine.discard(token)
        with self.store.write() as conn:
            conn.execute(sa.delete(OWNERS).where(OWNERS.c.kind == kind,
                                                 OWNERS.c.resource_id == resource_id,
                                                 OWNERS.c.token == token))

    # -- looking --------------------------------------------------------------------------

    def owner(self, kind: str, resource_id: str) -> Owner | None:
        with self.store.read() as conn:
            row = conn.execute(sa.select(OWNERS.c.host, OWNERS.c.pid, OWNERS.c.token,
                                         OWNERS.c.lease_expires).where(
                OWNERS.c.kind == kind, OWNERS.c.resource_id == resource_id)).first()
        return None if row is None else Owner(row.host, int(row.pid), row.token,
                                              float(row.lease_expires))

    def alive(self, owner: Owner | None) -> bool:
        """False for no owner, an expired lease, or a dead process on this host."""
        if owner is None or owner.lease_expires < self.clock.time():
            return False
        if owner.host != self.host:
            return True
        return owner.pid == self.pid or process_alive(owner.pid)

    # -- renewing -------------------------------------------------------------------------

    def _keep(self, kind: str, resource_id: str, token: str) -> None:
        with _HELD_LOCK:
            _HELD[token] = (kind, resource_id)
        with self._lock:
            self._mine.add(token)
            if self._keeper is None or not self._keeper.is_alive():
                self._keeper = threading.Thread(target=self._renew_loop, daemon=True,
                                                name="ssm-local-lease")
                self._keeper.start()

    def _renew_loop(self) -> None:
        while True:
            self._wake.wait(self.lease_seconds / 3)
            with self._lock:
                tokens = sorted(self._mine)
                if not tokens:
                    self._keeper = None
                    return
            # a store that is gone: the lease lapses
            with contextlib.suppress(Exception), self.store.write() as conn:
                conn.execute(sa.update(OWNERS).where(OWNERS.c.token.in_(tokens)).values(
                    lease_expires=self.clock.time() + self.lease_seconds))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "AUTOMATION",
    "COMMAND",
    "DEFAULT_LEASE_SECONDS",
    "LEASE_ENV",
    "Owner",
    "OwnerAlive",
    "Ownership",
    "lease_seconds_from_env",
    "process_alive",
]

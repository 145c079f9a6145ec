"""Parameter policies at run time: expiring parameters and emitting notification events.

``PolicyEvents`` is the part of ``ParameterStore`` that applies Expiration,
ExpirationNotification and NoChangeNotification policies. ``process_policies`` deletes
parameters whose Expiration time has passed and records due notifications once per parameter
version in ``parameter_events``, each shaped like the EventBridge event AWS sends
("Parameter Store Policy Action"); ``list_events`` reads them back and ``subscribe`` delivers
new ones to callbacks, from a polling thread if asked. Events never contain values.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ssm_local.engine import wire
from ssm_local.engine.clock import Clock
from ssm_local.engine.services import parameter_rules as rules
from ssm_local.engine.services.parameter_models import ParameterEvent
from ssm_local.engine.store.tables import ParameterEventRow, ParameterRow

if TYPE_CHECKING:
    from ssm_local.engine.store import Store

P: sa.Table = ParameterRow.__table__  # type: ignore[attr-defined]
E: sa.Table = ParameterEventRow.__table__  # type: ignore[attr-defined]

Subscriber = Callable[[ParameterEvent], None]
T = TypeVar("T")


def policies_of(text: str | None) -> list[rules.Policy]:
    """The policies stored for a parameter (already checked when they were written)."""
    if not text:
        return []
    return rules.parse_policies(text, now=datetime.min.replace(tzinfo=UTC))


class PolicyEvents:
    """Mixed into ``ParameterStore``: policy processing, the event log and subscriptions."""

    store: Store
    region: str
    account_id: str
    clock: Clock
    _subscribers: list[Subscriber]
    _poller: threading.Thread | None
    _stop: threading.Event
    _delivered_up_to: int = 0

    def _write(self, attempt: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def _remove(self, conn: Connection, row: Row[Any]) -> None:
        raise NotImplementedError

    def _invalidate(self, name: str) -> None:
        raise NotImplementedError

    def _arn(self, name: str) -> str:
        raise NotImplementedError

    def process_policies(self) -> list[ParameterEvent]:
        """Apply due policies now: delete parameters whose Expiration passed and record due
        ExpirationNotification / NoChangeNotification events, once per parameter version.
        Returns the events new since the last delivery (``ParameterEvent``, whose ``to_api()``
        is the EventBridge event) after handing them to subscribers. Raises TooManyUpdates."""
        now = self.clock.time()
        with self.store.read() as conn:
            rows = conn.execute(sa.select(P).where(P.c.policies.is_not(None))).all()
        new: list[ParameterEvent] = []
        for row in rows:
            for policy in policies_of(row.policies):
                due = None
                if policy.type == "Expiration" and policy.at is not None:
                    due = wire.to_epoch(policy.at)
                elif policy.type == "ExpirationNotification" and policy.amount is not None:
                    expiry = row.expires_at
                    due = None if expiry is None else expiry - policy.amount.total_seconds()
                elif policy.type == "NoChangeNotification" and policy.amount is not None:
                    due = row.last_modified + policy.amount.total_seconds()
                if due is None or now < due:
                    continue
                if policy.type == "Expiration":
                    name = row.name

                    def expire(conn: Connection, name: str = name) -> None:
                        current = conn.execute(
                            sa.select(P).where(P.c.name == name).with_for_update()
                        ).first()
                        if current is not None and current.expires_at is not None and (
                            current.expires_at <= now
                        ):
                            self._expire(conn, current, now)

                    self._write(expire)
                    self._invalidate(name)
                else:
                    self._write(functools.partial(self._emit, row=row, policy_type=policy.type, now=now))
        with self.store.read() as conn:
            new = self._events_since(conn, self._delivered_up_to)
        self._deliver(new)
        return new

    def list_events(self, *, since_id: int = 0, name: str | None = None) -> list[ParameterEvent]:
        """Policy events (``ParameterEvent``) with an id above ``since_id``, oldest first,
        optionally only those of parameter ``name``."""
        with self.store.read() as conn:
            events = self._events_since(conn, since_id)
        return [e for e in events if name is None or e.name == name]

    def subscribe(self, callback: Subscriber, *, poll_interval: float | None = 60.0) -> Callable[[], None]:
        """Call ``callback`` for each new policy event; returns a function that unsubscribes.

        With ``poll_interval`` a daemon thread runs ``process_policies`` that often; without
        it, events are delivered whenever something calls ``process_policies``.
        """
        with self.store.read() as conn:
            latest = conn.execute(sa.select(sa.func.max(E.c.id))).scalar()
        if not self._subscribers:
            self._delivered_up_to = int(latest or 0)
        self._subscribers.append(callback)
        if poll_interval is not None and self._poller is None:
            self._stop.clear()
            self._poller = threading.Thread(
                target=self._poll, args=(poll_interval,), name="ssm-local-policies", daemon=True
            )
            self._poller.start()

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def close(self) -> None:
        """Stop the policy poller, if one runs."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.process_policies()
            except Exception:
                continue

    def _deliver(self, events: list[ParameterEvent]) -> None:
        for event in events:
            self._delivered_up_to = max(self._delivered_up_to, event.id)
            for callback in list(self._subscribers):
                callback(event)

    def _events_since(self, conn: Connection, since_id: int) -> list[ParameterEvent]:
        rows = conn.execute(sa.select(E).where(E.c.id > since_id).order_by(E.c.id)).all()
        return [
            ParameterEvent(r.id, wire.from_epoch(r.time), r.name, r.policy_type, json.loads(r.detail))
            for r in rows
        ]

    def _emit(self, conn: Connection, row: Row[Any], policy_type: str, now: float) -> None:
        reasons = {
            "Expiration": "The parameter reached its expiration time and was deleted.",
            "ExpirationNotification": "The parameter will expire soon.",
            "NoChangeNotification": "The parameter has not changed for the configured time.",
        }
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Parameter Store Policy Action",
            "source": "aws.ssm",
            "account": self.account_id,
            "time": wire.iso8601_seconds(wire.from_epoch(now)),
            "region": self.region,
            "resources": [self._arn(row.name)],
            "detail": {
                "parameter-name": row.name,
                "parameter-type": row.type,
                "policy-type": policy_type,
                "action-status": "Finished",
                "action-reason": reasons[policy_type],
            },
        }
        values = {
            "time": now,
            "name": row.name,
            "policy_type": policy_type,
            "dedupe_key": f"{row.name}|{row.version}|{policy_type}",
            "detail": json.dumps(event),
        }
        # The dialect's own INSERT (for ON CONFLICT), imported for the store in use only: the
        # PostgreSQL dialect costs a SQLite user a tenth of a second at start.
        if self.store.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(E).values(**values).on_conflict_do_nothing(
                index_elements=["dedupe_key"]))
            return
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(E).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))

    def _expire(self, conn: Connection, row: Row[Any], now: float) -> None:
        self._emit(conn, row, "Expiration", now)
        self._remove(conn, row)

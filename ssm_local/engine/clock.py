"""Time for the whole engine: one ``Clock`` interface, the real clock and a fake one.

Every service, interpreter and node context that needs the time takes a ``Clock`` instead of
calling ``time.time()`` or ``datetime.now()``, so tests and dry runs can skip time.
``SystemClock`` is the real clock. ``FakeClock`` keeps virtual time: ``sleep(seconds)`` waits
until virtual time reaches its wake-up time; whenever every task of the event loop is blocked
(nothing else runs for a few loop iterations), the clock jumps to the earliest pending wake-up, so
a seven-day approval timeout or a one-hour ``aws:sleep`` takes no real time while a step timeout
still races its step as it would in real time. ``advance(seconds)`` moves it by hand. Work that
does real I/O (a subprocess, a network call) runs inside ``hold(clock)``: while any hold is open,
virtual time stands still.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time as _time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock", "hold"]


class Clock(Protocol):
    """Time for the engine: real in production, fake in tests and dry runs."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def time(self) -> float:
        """The current time as epoch seconds (what the store keeps)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (at once for zero or less)."""
        ...


@contextlib.contextmanager
def hold(clock: Clock) -> Iterator[None]:
    """Real work is running: a fake clock must not jump meanwhile (see ``FakeClock.hold``)."""
    holder = getattr(clock, "hold", None)
    if holder is None:
        yield
        return
    with holder():
        yield


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return _time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0))


_IDLE_SPINS = 20


class FakeClock:
    """Virtual time that jumps forward when the event loop is otherwise idle."""

    def __init__(self, start: datetime | float | None = None) -> None:
        """``start``: a timezone-aware datetime or epoch seconds; 2026-01-01T00:00:00Z by default."""
        if isinstance(start, int | float):
            start = datetime.fromtimestamp(start, UTC)
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._advancer: asyncio.Task[None] | None = None
        self._holds = 0

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep virtual time still while real work runs."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        """Move time forward by hand, waking every sleeper that is due."""
        self._now += timedelta(seconds=seconds)
        self._wake_due()

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers,
                       (self._now + timedelta(seconds=seconds), next(self._counter), future))
        if self._advancer is None or self._advancer.done():
            self._advancer = loop.create_task(self._advance_when_idle())
        try:
            await future
        finally:
            if not future.done():
                future.cancel()

    async def _advance_when_idle(self) -> None:
        while self._sleepers:
            for _ in range(_IDLE_SPINS):
                await asyncio.sleep(0)
            if self._holds:
                await asyncio.sleep(0.005)
                continue
            self._sleepers = [s for s in self._sleepers if not s[2].done()]
            heapq.heapify(self._sleepers)
            if not self._sleepers:
                return
            self._now = max(self._now, self._sleepers[0][0])
            self._wake_due()

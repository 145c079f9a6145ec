"""Signals that end a run: SIGINT, SIGTERM and SIGHUP all cancel what is in flight.

``ssm-local run`` and ``executions resume`` treat a SIGTERM (``kill``, ``timeout``, systemd, a CI
cancel) and a SIGHUP (a closed terminal) as they treat Ctrl-C: the in-flight steps and
invocations are cancelled (their process groups killed), their status is recorded, and the
process exits 128 + the signal number (130, 143, 129). ``raising_on_signals`` makes SIGTERM and
SIGHUP raise ``Interrupted`` (a ``KeyboardInterrupt``) in the main thread, for code that waits
in a loop; ``calling_on_signals`` routes all three to a callback in a running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (SIGINT stays a plain ``KeyboardInterrupt``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(signum: int | None) -> int:
    """128 + the signal number: 130 for SIGINT (also for ``None``), 143 SIGTERM, 129 SIGHUP."""
    return 128 + (signum or signal.SIGINT)


def signal_number(exc: BaseException) -> int:
    """The signal an interruption came from (SIGINT for a plain ``KeyboardInterrupt``)."""
    return exc.signum if isinstance(exc, Interrupted) else signal.SIGINT


@contextlib.contextmanager
def raising_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Interrupted`` in the main thread while the block runs."""

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


@contextlib.contextmanager
def calling_on_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """In a running event loop: SIGINT, SIGTERM and SIGHUP call ``callback(signum)``."""
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        loop.add_signal_handler(number, callback, number)
    try:
        yield
    finally:
        for number in SIGNALS:
            loop.remove_signal_handler(number)


__all__ = ["Interrupted", "calling_on_signals", "exit_code", "raising_on_signals",
           "signal_number"]

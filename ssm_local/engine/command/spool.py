"""The output spool: the whole output of every step, in size-capped files under ``SSM_LOCAL_HOME``.

The API keeps only AWS's views of a step's output (the first 24,000 characters of stdout, 8,000
of stderr, 2,500 of the combined ``Output``); the SSM Agent writes the whole output to files in
its orchestration directory and, when asked, to S3 (``OutputS3BucketName``). ssm-local does the
same kind of thing on the controller: every chunk a step prints goes, as it arrives, to
``<home>/output/<command-id>/<node-id>/<step>/stdout`` (and ``stderr``), files of mode 0600 in
directories of mode 0700. Each file holds at most ``limit`` bytes; when a step prints more, the
file ends with the line ``--output truncated--`` (the agent's own truncation suffix) and the rest
is dropped, so neither memory nor disk grows with what a script prints. ``limit`` comes from the
engine (``Engine(output_limit=...)``) or ``SSM_LOCAL_OUTPUT_LIMIT`` (bytes; ``0`` turns the spool
off), default :data:`DEFAULT_OUTPUT_LIMIT`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from ssm_local.engine.store.database import make_private_directory
from ssm_local.grammar.errors import ExecutionError

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "OUTPUT_LIMIT_VARIABLE",
    "SPOOL_TRUNCATED",
    "InvocationSpool",
    "OutputSpool",
    "output_limit_from_environment",
]

DEFAULT_OUTPUT_LIMIT = 100 * 1024 * 1024
"""Bytes of each step's stdout (and of its stderr) kept in the spool: 100 MiB."""
OUTPUT_LIMIT_VARIABLE = "SSM_LOCAL_OUTPUT_LIMIT"
SPOOL_TRUNCATED = b"\n--output truncated--\n"
"""What ends a spool file whose step printed more than the limit (the agent's
``OutputTruncatedSuffix``, on a line of its own)."""

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_STREAMS = ("stdout", "stderr")


def output_limit_from_environment(environ: Mapping[str, str]) -> int:
    """``SSM_LOCAL_OUTPUT_LIMIT`` as a byte count (default 100 MiB); ExecutionError
    InvalidOutputLimit when it is not a whole number of bytes, 0 or more."""
    text = environ.get(OUTPUT_LIMIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_OUTPUT_LIMIT
    if not text.isdigit() or len(text) > 18:
        raise ExecutionError(f"{OUTPUT_LIMIT_VARIABLE} must be a number of bytes (0 or more), got "
                             f"{text[:40]!r}", code="InvalidOutputLimit")
    return int(text)


def _component(name: str) -> str:
    """A path component for an id or a step name: safe characters kept, others %-escaped, and
    never ``.`` or ``..``."""
    safe = _SAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)
    return safe if safe.strip(".") else safe.replace(".", "%2E") or "%00"


class OutputSpool:
    """The spool directory ``<root>`` and the byte cap of each file.

    ``limit`` of 0 keeps no files (the store's views are then all that is kept).
    """

    def __init__(self, root: str | Path, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        if limit < 0:
            raise ExecutionError(f"the output limit must be 0 or more bytes, got {limit}",
                                 code="InvalidOutputLimit")
        self.root = Path(root)
        self.limit = limit

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def path(self, command_id: str, node_id: str, step: str, stream: str) -> Path:
        """Where one stream of one step on one node is spooled (it may not exist)."""
        if stream not in _STREAMS:
            raise ValueError(f"stream must be stdout or stderr, got {stream!r}")
        return self.root / _component(command_id) / _component(node_id) / _component(step) / stream

    def invocation(self, command_id: str, node_id: str) -> InvocationSpool:
        """The writer for one invocation; close it when the invocation ends."""
        return InvocationSpool(self, command_id, node_id)

    def read(self, command_id: str, node_id: str, step: str, stream: str) -> str | None:
        """The spooled text of one stream (UTF-8, undecodable bytes replaced), or None when
        there is no spool file."""
        try:
            return self.path(command_id, node_id, step, stream).read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return None


class InvocationSpool:
    """Writes the chunks of one invocation's steps to their spool files, each capped at the limit.

    ``write(step, stream, chunk)`` is an ``OutputSink``: files are created (0600, in 0700
    directories) on the first chunk of a stream and stay open until ``close``. A file that cannot
    be written stops being written (the run goes on; the store's views are still kept).
    """

    def __init__(self, spool: OutputSpool, command_id: str, node_id: str) -> None:
        self.spool = spool
        self.command_id = command_id
        self.node_id = node_id
        self._files: dict[tuple[str, str], list[int]] = {}
        """(step, stream) -> [fd, bytes written, truncated]; fd -1 once the file failed."""

    def write(self, step: str, stream: str, chunk: bytes) -> None:
        if not self.spool.enabled or not chunk:
            return
        state = self._files.get((step, stream))
        if state is None:
            state = self._files[(step, stream)] = [self._open(step, stream), 0, 0]
        fd, written, truncated = state
        if fd < 0 or truncated:
            return
        room = self.spool.limit - written
        try:
            if len(chunk) <= room:
                _write_all(fd, chunk)
                state[1] = written + len(chunk)
                return
            if room > 0:
                _write_all(fd, chunk[:room])
            _write_all(fd, SPOOL_TRUNCATED)
            state[1], state[2] = self.spool.limit, 1
        except OSError:
            self._close_one(state)

    def _open(self, step: str, stream: str) -> int:
        path = self.spool.path(self.command_id, self.node_id, step, stream)
        try:
            make_private_directory(path.parent)  # every missing level 0700
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                           | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:
            return -1

    def _close_one(self, state: list[int]) -> None:
        if state[0] >= 0:
            with contextlib.suppress(OSError):
                os.close(state[0])
            state[0] = -1

    def close(self) -> None:
        for state in self._files.values():
            self._close_one(state)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

"""Helpers the CLI modules share: opening the store, printing JSON, reading documents."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssm_local.engine.cli import UsageError

if TYPE_CHECKING:  # the store is imported only when a command runs
    from ssm_local.engine.facade import Engine

DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


def open_engine(args: argparse.Namespace) -> Engine:
    """The engine on ``--db`` (or the default store), without the read cache: a CLI call is
    one request."""
    from ssm_local.engine.facade import Engine

    return Engine(args.db, cache_ttl=0)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output; datetimes in ISO 8601 (``wire.iso8601``:
    UTC with its offset, as the services' aware UTC datetimes print)."""

    from ssm_local.engine import wire

    def default(value: object) -> str:
        if isinstance(value, datetime):
            return wire.iso8601(value)
        raise TypeError(type(value).__name__)

    json.dump(data, sys.stdout, indent=2, default=default, ensure_ascii=False)
    sys.stdout.write("\n")


def read_document_arg(arg: str) -> tuple[str, bytes]:
    """``(source, content)`` for a file path, ``-`` (standard input) or a bundled document name."""
    from ssm_local.documents import library

    if arg == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(arg)
    if path.is_file():
        return arg, _read(path)
    bundled = library.path(arg)
    if bundled is not None and not path.exists():
        return arg, bundled.read_bytes()
    if path.is_dir():
        raise UsageError(f"{arg} is a directory; give a document file")
    raise UsageError(
        f"{arg}: no such file, and no bundled document by that name (bundled: "
        f"{', '.join(library.names())})"
    )


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(2 * 1024 * 1024)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None


def expand_paths(args: list[str]) -> Iterator[tuple[str, bytes]]:
    """Each argument as documents: files, directories walked for *.json/*.yaml/*.yml in sorted
    order, ``-``, or bundled names. A missing path is a ``UsageError``."""
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(DOCUMENT_SUFFIXES):
                        found.append(Path(root) / name)
            for item in found:
                yield str(item), _read(item)
        else:
            yield read_document_arg(arg)

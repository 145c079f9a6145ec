"""Helpers the CLI modules share: the store, documents, and the ``--parameters`` shorthand.

``open_engine`` opens the store ``--db`` names; ``read_document_arg`` and ``expand_paths`` read
documents from files, standard input or the bundled library; ``parse_parameters_text`` and
``parse_parameter_item`` read ``--parameters`` and ``-p`` as the AWS CLI reads its shorthand.
Printing responses is ``cli/output.py``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssm_local.engine.cli import UsageError
from ssm_local.grammar.errors import DocumentError

if TYPE_CHECKING:  # the store is imported only when a command runs
    from ssm_local.engine.facade import Engine

DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


def open_engine(args: argparse.Namespace) -> Engine:
    """The engine on ``--db`` (or the default store), without the read cache: a CLI call is
    one request."""
    from ssm_local.engine.facade import Engine

    return Engine(args.db, cache_ttl=0)


def read_document_arg(arg: str) -> tuple[str, bytes]:
    """``(source, content)`` for a file path, ``-`` (standard input) or a bundled document name."""
    from ssm_local.documents import library

    if arg == "-":
        import sys

        from ssm_local.documents.loader import read_document_stream

        return "<stdin>", read_document_stream(sys.stdin.buffer)
    path = Path(arg)
    if path.exists() and not path.is_dir():  # a file, or a pipe such as <(...)
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
    """The file's bytes, its size checked before reading (``DocumentError``
    MaxDocumentSizeExceeded naming the real size)."""
    from ssm_local.documents.loader import read_document_file

    try:
        return read_document_file(path, str(path))
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None


def expand_paths(args: list[str]) -> Iterator[tuple[str, bytes | DocumentError]]:
    """Each argument as documents: files, directories walked for *.json/*.yaml/*.yml in sorted
    order, ``-``, or bundled names. A missing path is a ``UsageError``; a file that cannot be
    read as a document (too large) yields its ``DocumentError`` in place of its bytes, so that
    the other files are still checked."""
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
                try:
                    yield str(item), _read(item)
                except DocumentError as exc:
                    yield str(item), exc
        else:
            try:
                yield read_document_arg(arg)
            except DocumentError as exc:
                yield arg, exc


# -- the AWS CLI's shorthand for --parameters ---------------------------------------------------

_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.#/:")


class _Shorthand:
    """A reader of the AWS CLI's shorthand for a map of lists of strings: ``Name=Value``,
    ``Name=a,b`` (a list), ``Name=[a,b]``, ``'quoted'`` and ``"quoted"`` values, ``\\,`` for a
    comma in a value, several ``Name=...`` separated by commas. After a comma, text that reads
    as ``Key=`` starts the next member (the AWS CLI's backtracking); anything else is one more
    item of the current list."""

    def __init__(self, text: str, flag: str) -> None:
        self.text = text
        self.flag = flag
        self.index = 0

    def fail(self, why: str) -> UsageError:
        return UsageError(f"cannot read {self.flag} {self.text!r}: {why} at character "
                          f"{self.index + 1} (use Name=Value, Name=a,b or Name=[a,b], or JSON)")

    def members(self) -> dict[str, str | list[str]]:
        values: dict[str, str | list[str]] = {}
        while True:
            name = self.key()
            values[name] = self.values()
            self.space()
            if self.index >= len(self.text):
                return values
            self.expect(",")

    def space(self) -> None:
        while self.index < len(self.text) and self.text[self.index] in " \t\r\n":
            self.index += 1

    def expect(self, char: str) -> None:
        self.space()
        if self.index >= len(self.text) or self.text[self.index] != char:
            raise self.fail(f"expected {char!r}")
        self.index += 1

    def key_ahead(self) -> bool:
        """Whether the text from here reads ``Key=``."""
        index = self.index
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        start = index
        while index < len(self.text) and self.text[index] in _KEY_CHARS:
            index += 1
        return index > start and index < len(self.text) and self.text[index] == "="

    def key(self) -> str:
        self.space()
        start = self.index
        while self.index < len(self.text) and self.text[self.index] in _KEY_CHARS:
            self.index += 1
        name = self.text[start:self.index]
        if not name:
            raise self.fail("expected a parameter name")
        self.expect("=")
        return name

    def values(self) -> str | list[str]:
        self.space()
        if self.text.startswith("[", self.index):
            self.index += 1
            items: list[str] = []
            self.space()
            if self.text.startswith("]", self.index):
                self.index += 1
                return items
            while True:
                items.append(self.value(stops=",]"))
                self.space()
                if self.text.startswith("]", self.index):
                    self.index += 1
                    return items
                self.expect(",")
        first = self.value(stops=",")
        items = [first]
        while self.text.startswith(",", self.index) and not self._next_is_key():
            self.index += 1
            items.append(self.value(stops=","))
        return first if len(items) == 1 else items

    def _next_is_key(self) -> bool:
        saved = self.index
        self.index += 1
        ahead = self.key_ahead()
        self.index = saved
        return ahead

    def value(self, stops: str) -> str:
        self.space()
        if self.index < len(self.text) and self.text[self.index] in "'\"":
            quote = self.text[self.index]
            end = self.text.find(quote, self.index + 1)
            if end < 0:
                raise self.fail("unterminated quote")
            found = self.text[self.index + 1:end]
            self.index = end + 1
            return found
        chars: list[str] = []
        while self.index < len(self.text) and self.text[self.index] not in stops:
            if self.text.startswith("\\,", self.index):
                chars.append(",")
                self.index += 2
                continue
            chars.append(self.text[self.index])
            self.index += 1
        return "".join(chars).strip()


def json_object_flag(text: str, flag: str, what: str) -> dict[str, Any]:
    """A flag's value read as a JSON object (``wire.parse_json``: no huge integers, deep nesting
    or lone surrogates); ``UsageError`` naming ``flag`` otherwise (``what`` says what the object
    holds, e.g. "of names to values")."""
    from ssm_local.engine.wire import parse_json

    try:
        loaded = parse_json(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{flag} must be a JSON object {what}".rstrip())
    return loaded


def parse_parameters_text(text: str, flag: str = "--parameters") -> dict[str, Any]:
    """``--parameters`` as the AWS CLI reads it: JSON when the text starts with ``{``, else the
    shorthand (``commands=ls``, ``ids=a,b`` → a list, ``ids=[a]``, ``a=1,b=2``). Raises
    ``UsageError`` naming ``flag`` when it reads as neither."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return json_object_flag(stripped, flag, "of names to values")
    return dict(_Shorthand(text, flag).members())


def parse_parameter_item(item: str) -> tuple[str, str | list[str]]:
    """One ``-p NAME=VALUE``: the name, and the value read as the shorthand reads one member's
    value (``a,b`` and ``[a,b]`` are lists; ``'a,b'`` is one value)."""
    name, sep, _ = item.partition("=")
    if not sep or not name:
        raise UsageError(f"cannot read parameter {item!r}: use -p NAME=VALUE")
    reader = _Shorthand(item, "-p")
    reader.index = len(name) + 1
    if reader.index >= len(item):
        return name, ""
    if item[reader.index:].lstrip().startswith("["):
        value = reader.values()
    else:
        first = reader.value(stops=",")
        items = [first]
        while reader.text.startswith(",", reader.index):
            reader.index += 1
            items.append(reader.value(stops=","))
        value = first if len(items) == 1 else items
    reader.space()
    if reader.index < len(item):
        raise reader.fail("unexpected text after the value")
    return name, value

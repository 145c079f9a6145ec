"""Loading document text (JSON or YAML) into plain data, with a line:column for every JSON path.

Parsing is fast on the common path: JSON goes through the C ``json`` decoder, YAML through
libyaml when PyYAML has it. Positions are only needed when something is wrong, so a
``Locator`` maps paths such as ``("mainSteps", 0, "inputs")`` to 1-based line and column lazily,
on the first question, by scanning the text once. Every failure becomes a ``DocumentError`` with
a stable code and the spot: malformed text (``DocumentSyntaxError``), duplicate keys
(``DuplicateKey``), content over AWS's 64 KB (``MaxDocumentSizeExceeded``), empty, binary, not an
object, or nested too deeply.

YAML is read with the YAML 1.2 core schema's scalars, which is what documents written for AWS
expect: ``yes``/``no``/``on``/``off`` and dates stay strings, only ``true``/``false`` are booleans.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

import yaml

from ssm_local.grammar.errors import DocumentError
from ssm_local.grammar.limits import MAX_INTEGER_DIGITS, huge_integer, lone_surrogate

MAX_DOCUMENT_BYTES = 64 * 1024
"""AWS's MaxDocumentSizeExceeded limit on document content."""

MAX_READ_BYTES = 1024 * 1024
"""Text larger than this is refused before parsing (16 times AWS's limit)."""

MAX_NESTING_DEPTH = 100
"""Deepest nesting of objects and arrays accepted (decision: real documents stay under 20)."""

MAX_VALUES = 200_000
"""Most values a document may expand to, an alias counted each time it repeats its anchor
(guards against YAML alias and merge-key bombs; the line locator keeps the same budget)."""

Path = tuple[str | int, ...]
Format = Literal["JSON", "YAML"]


def format_path(path: Path) -> str:
    """``("mainSteps", 0, "inputs")`` → ``$.mainSteps[0].inputs``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_:\-]*", part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


# --------------------------------------------------------------------------------------------
# YAML with 1.2 core scalars and duplicate-key detection


_YamlBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_YamlBase):  # type: ignore[misc]  # CSafeLoader when libyaml is there
    """PyYAML's safe loader with YAML 1.2 core scalars that rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise _YamlKeyError("a mapping key must be a plain value", key_node) from None
            if key in seen:
                raise _YamlKeyError(f"duplicate key {key!r}", key_node)
            seen[key] = key_node
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


class _YamlKeyError(Exception):
    """A node the loader refuses (a duplicate or unhashable key, an integer too long)."""

    def __init__(self, message: str, node: yaml.Node) -> None:
        super().__init__(message)
        self.node = node


def _yaml12_resolvers() -> dict[Any, Any]:
    resolvers: dict[Any, Any] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [
            (tag, rx)
            for tag, rx in entries
            if tag
            not in (
                "tag:yaml.org,2002:bool",
                "tag:yaml.org,2002:int",
                "tag:yaml.org,2002:float",
                "tag:yaml.org,2002:timestamp",
            )
        ]
        if kept:
            resolvers[first] = kept
    core = [
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        (
            "tag:yaml.org,2002:int",
            re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
            "-+0123456789",
        ),
        (
            "tag:yaml.org,2002:float",
            re.compile(
                r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
            ),
            "-+0123456789.",
        ),
    ]
    for tag, rx, firsts in core:
        for ch in firsts:
            resolvers.setdefault(ch, []).append((tag, rx))
    return resolvers


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if len(text) > MAX_INTEGER_DIGITS:
        raise _YamlKeyError(huge_integer(len(text.lstrip("+-"))), node)
    if text.startswith(("0o", "0x")):
        value = int(text[2:], 8 if text[1] == "o" else 16)
        if value.bit_length() > MAX_INTEGER_DIGITS * 3:  # under 10 ** 4300: it prints back
            raise _YamlKeyError(huge_integer(int(value.bit_length() * 0.30103) + 1), node)
        return value
    return int(text, 10)


def _construct_float(loader: Any, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


def _construct_timestamp_as_text(loader: Any, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.yaml_implicit_resolvers = _yaml12_resolvers()
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


# --------------------------------------------------------------------------------------------
# Locators: path -> (line, column), computed on first use


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value (and, for object members, its key) starts; 1-based."""

    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None
    scalar_style: str | None = None  # '"', "'", '|', '>' or None for plain / JSON string


class Locator:
    """Answers "where is this path?" for one document text; scans the text on first use."""

    def __init__(self, text: str, fmt: Format, source: str = "<document>") -> None:
        self._text = text
        self._format = fmt
        self._source = source
        self._positions: dict[Path, Position] | None = None

    def _build(self) -> dict[Path, Position]:
        """Scan the text once. Raises ``DocumentError`` (DocumentTooLarge, RecursiveAlias) when
        YAML aliases expand past ``MAX_VALUES`` values or refer to a node that contains them."""
        if self._positions is None:
            try:
                if self._format == "JSON":
                    self._positions = _JsonScanner(self._text).scan()
                else:
                    self._positions = _YamlPositions(self._source).scan(self._text)
            except DocumentError:
                self._positions = {}
                raise
            except Exception:  # the data loaded, so this is only a missing location
                self._positions = {}
        return self._positions

    def position(self, path: Path) -> Position | None:
        """The position of ``path``, or of its nearest located ancestor."""
        positions = self._build()
        probe = tuple(path)
        while True:
            found = positions.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe[:-1]

    def exact(self, path: Path) -> Position | None:
        return self._build().get(tuple(path))

    def locate(self, path: Path, *, key: bool = False) -> tuple[int | None, int | None]:
        """``(line, column)`` of the value at ``path`` (or of its key when ``key``)."""
        pos = self.position(path)
        if pos is None:
            return None, None
        if key and pos.key_line is not None and self.exact(path) is pos:
            return pos.key_line, pos.key_column
        return pos.line, pos.column

    def locate_in_string(self, path: Path, value: str, offset: int) -> tuple[int | None, int | None]:
        """The spot ``offset`` characters into the string ``value`` found at ``path``.

        Exact for JSON strings (escapes included), YAML quoted scalars on one line, plain scalars
        and literal block scalars; otherwise the start of the value.
        """
        pos = self.exact(path)
        if pos is None:
            return self.locate(path)
        before = value[:offset]
        if pos.scalar_style in ("|", ">"):
            lines = self._text.splitlines()
            first = pos.line  # index of the line after the indicator (0-based == pos.line)
            indent = None
            for content in lines[first:]:
                if content.strip():
                    indent = len(content) - len(content.lstrip(" "))
                    break
            if indent is None or pos.scalar_style == ">":
                return pos.line, pos.column
            k = before.count("\n")
            c = offset - (before.rfind("\n") + 1)
            return pos.line + 1 + k, indent + 1 + c
        if self._format == "JSON" or pos.scalar_style in ('"', "'"):
            lines = self._text.splitlines()
            if 0 < pos.line <= len(lines):
                raw = lines[pos.line - 1][pos.column :]  # just after the opening quote
                width = _raw_width(raw, offset, single=pos.scalar_style == "'")
                if width is not None:
                    return pos.line, pos.column + 1 + width
            return pos.line, pos.column
        if "\n" in before:
            return pos.line, pos.column
        return pos.line, pos.column + offset


def _raw_width(raw: str, decoded: int, *, single: bool) -> int | None:
    """How many characters of the quoted text ``raw`` hold its first ``decoded`` characters,
    reading JSON / YAML double-quoted escapes (or ``''`` in a single-quoted scalar); None when
    the string does not get that far on this line."""
    i = 0
    for _ in range(decoded):
        if i >= len(raw):
            return None
        if single:
            i += 2 if raw.startswith("''", i) else 1
            continue
        if raw[i] != "\\":
            if raw[i] == '"':
                return None
            i += 1
            continue
        kind = raw[i + 1 : i + 2]
        if kind == "u":
            i += 6
            if raw[i - 4 : i - 2].lower() in ("d8", "d9", "da", "db") and raw.startswith("\\u", i):
                i += 6  # a surrogate pair is one character
        elif kind == "U":
            i += 10
        elif kind == "x":
            i += 4
        else:
            i += 2
    return i


_JSON_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[{}\[\]:,])|(?P<lit>[^\s{}\[\]:,"]+)""",
    re.S,
)


class _JsonScanner:
    """A small recursive-descent scan of JSON text that records where every path starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = [
            (m.lastgroup or "", m.group(), m.start())
            for m in _JSON_TOKEN.finditer(text)
            if m.lastgroup != "ws"
        ]
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[Path, Position] = {}

    def _lc(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1

    def scan(self) -> dict[Path, Position]:
        self._value((), None)
        return self.positions

    def _value(self, path: Path, key_at: tuple[int, int] | None) -> None:
        _, tok, start = self.tokens[self.i]
        line, col = self._lc(start)
        self.positions[path] = Position(
            line, col, key_at[0] if key_at else None, key_at[1] if key_at else None
        )
        self.i += 1
        if tok == "{":
            while self.tokens[self.i][1] != "}":
                kkind, ktok, kstart = self.tokens[self.i]
                key = json.loads(ktok) if kkind == "str" else ktok
                klc = self._lc(kstart)
                self.i += 2  # key and ':'
                self._value((*path, key), klc)
                if self.tokens[self.i][1] == ",":
                    self.i += 1
            self.i += 1
        elif tok == "[":
            index = 0
            while self.tokens[self.i][1] != "]":
                self._value((*path, index), None)
                index += 1
                if self.tokens[self.i][1] == ",":
                    self.i += 1
            self.i += 1


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _YamlPositions:
    """Walks the composed YAML node graph the way the loaded data expands it, recording where
    each path starts.

    Aliases make the graph a DAG (or, with ``a: &a [*a]``, a cyclic graph), so the walk counts
    every value it reaches against the loader's own budget (``MAX_VALUES``) and keeps the nodes
    on the current path: re-entering one is a cycle. Merge keys (``<<: *base``) place the merged
    members under the mapping that merges them, as the loaded data has them; members written in
    the mapping itself win.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.positions: dict[Path, Position] = {}
        self.values = 0
        self.on_path: set[int] = set()

    def scan(self, text: str) -> dict[Path, Position]:
        root = yaml.compose(text, Loader=_Loader)
        if root is not None:
            self._node((), root, None, explicit=True)
        return self.positions

    def _node(self, path: Path, node: yaml.Node, key_node: yaml.Node | None, *,
              explicit: bool) -> None:
        mark = node.start_mark
        self.values += 1
        if self.values > MAX_VALUES:
            raise DocumentError(
                f"document expands to more than {MAX_VALUES} values (YAML aliases)",
                code="DocumentTooLarge", source=self.source, line=mark.line + 1,
                column=mark.column + 1, path=format_path(path),
            )
        if len(path) > MAX_NESTING_DEPTH and not isinstance(node, yaml.ScalarNode):  # as the loader
            raise DocumentError(
                f"document nests deeper than {MAX_NESTING_DEPTH} levels", code="DocumentTooDeep",
                source=self.source, line=mark.line + 1, column=mark.column + 1,
                path=format_path(path),
            )
        if explicit or path not in self.positions:
            style = node.style if isinstance(node, yaml.ScalarNode) else None
            self.positions[path] = Position(
                mark.line + 1,
                mark.column + 1,
                key_node.start_mark.line + 1 if key_node else None,
                key_node.start_mark.column + 1 if key_node else None,
                style,
            )
        if isinstance(node, yaml.ScalarNode):
            return
        if id(node) in self.on_path:
            raise _recursive_alias(self.source, path, mark.line + 1, mark.column + 1)
        self.on_path.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self._members(path, node, explicit=explicit)
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    self._node((*path, index), item, None, explicit=explicit)
        finally:
            self.on_path.discard(id(node))

    def _members(self, path: Path, node: yaml.MappingNode, *, explicit: bool,
                 seen: set[str] | None = None) -> None:
        seen = set() if seen is None else seen
        merged: list[yaml.Node] = []
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                merged.extend(v.value if isinstance(v, yaml.SequenceNode) else [v])
                continue
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
            if key in seen:
                continue
            seen.add(key)
            self._node((*path, key), v, k, explicit=explicit)
        for base in merged:
            # a mapping merging itself (``a: &a {<<: *a}``) adds nothing, as the loader has it
            if isinstance(base, yaml.MappingNode) and id(base) not in self.on_path:
                self.on_path.add(id(base))
                try:
                    self._members(path, base, explicit=False, seen=seen)
                finally:
                    self.on_path.discard(id(base))


def _recursive_alias(source: str, path: Path, line: int, column: int) -> DocumentError:
    return DocumentError(
        f"a YAML alias at {format_path(path)} refers to a node that contains it (a cycle)",
        code="RecursiveAlias", source=source, line=line, column=column, path=format_path(path),
    )


# --------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class LoadIssue:
    """Something about the text that AWS refuses or may refuse, but that does not stop loading."""

    code: str
    severity: Literal["error", "warning"]
    message: str


@dataclass(frozen=True)
class LoadedText:
    """Plain data parsed from a document's text, with a lazy locator for diagnostics."""

    data: Any
    format: Format
    source: str
    text: str
    locator: Locator = field(repr=False, compare=False)
    issues: tuple[LoadIssue, ...] = ()


def _fail(code: str, message: str, source: str, line: int | None = None,
          column: int | None = None, path: str = "$") -> DocumentError:
    return DocumentError(message, code=code, source=source, line=line, column=column, path=path)


def _as_text(content: str | bytes, source: str) -> str:
    if isinstance(content, bytes):
        if len(content) > MAX_READ_BYTES:
            raise _size_error(len(content), source)
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(
                "DocumentSyntaxError",
                f"content is not UTF-8 text (invalid byte at offset {exc.start})",
                source,
            ) from None
    else:
        surrogate = None if content.isascii() else lone_surrogate(content)
        if surrogate is not None:  # undecodable bytes read with surrogateescape, or an escape
            raise _fail("DocumentSyntaxError",
                        f"content is not UTF-8 text (it holds a lone surrogate, {surrogate})",
                        source)
        if len(content) > MAX_READ_BYTES // 4 and len(content.encode("utf-8")) > MAX_READ_BYTES:
            raise _size_error(len(content.encode("utf-8")), source)
    if content.startswith("\ufeff"):
        content = content[1:]
    nul = content.find("\x00")
    if nul >= 0:
        line = content.count("\n", 0, nul) + 1
        column = nul - (content.rfind("\n", 0, nul) + 1) + 1
        raise _fail("DocumentSyntaxError", "content is binary (it contains a NUL character)",
                    source, line, column)
    return content


def read_document_file(path: str | os.PathLike[str], source: str | None = None) -> bytes:
    """The bytes of a document file, its size checked (``os.stat``) before anything is read.

    Raises ``DocumentError`` (MaxDocumentSizeExceeded) for a file over ``MAX_READ_BYTES``, also
    when a file that reports a smaller size (a pipe, a ``/proc`` file) yields more; ``OSError``
    when it cannot be opened or read. Memory stays under ``MAX_READ_BYTES`` whatever the file.
    """
    where = source or os.fspath(path)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_READ_BYTES:
            raise _size_error(size, where)
        return read_document_stream(handle, where)


def read_document_stream(stream: BinaryIO, source: str = "<stdin>") -> bytes:
    """At most ``MAX_READ_BYTES`` from a binary stream (standard input); ``DocumentError``
    (MaxDocumentSizeExceeded) when it holds more."""
    data = stream.read(MAX_READ_BYTES + 1)
    if len(data) > MAX_READ_BYTES:
        raise _fail(
            "MaxDocumentSizeExceeded",
            f"document content is more than {MAX_READ_BYTES} bytes; AWS allows at most "
            f"{MAX_DOCUMENT_BYTES} bytes (64 KB) and ssm-local does not read text over "
            f"{MAX_READ_BYTES} bytes",
            source,
        )
    return data


def _size_error(size: int, source: str) -> DocumentError:
    return _fail(
        "MaxDocumentSizeExceeded",
        f"document content is {size} bytes; AWS allows at most {MAX_DOCUMENT_BYTES} bytes "
        f"(64 KB) and ssm-local does not read text over {MAX_READ_BYTES} bytes",
        source,
    )


def _sniff(text: str, source: str) -> Format:
    lower = source.lower()
    if lower.endswith(".json"):
        return "JSON"
    if lower.endswith((".yaml", ".yml")):
        return "YAML"
    return "JSON" if text.lstrip()[:1] in ("{", "[") else "YAML"


class _DuplicateJsonKey(Exception):
    pass


class _HugeJsonInteger(Exception):
    pass


def _parse_json_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise _HugeJsonInteger(text)
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateJsonKey
    return result


def load_text(content: str | bytes, *, source: str = "<document>",
              format: Format | None = None) -> LoadedText:
    """Parse document text into plain data; raise ``DocumentError`` with a location on failure."""
    text = _as_text(content, source)
    if not text.strip():
        raise _fail("EmptyDocument", "document content is empty", source, 1, 1)
    fmt = format or _sniff(text, source)
    if fmt == "JSON":
        data = _load_json(text, source)
    else:
        data = _load_yaml(text, source)
    locator = Locator(text, fmt, source)
    _check_shape(data, source, locator)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
        raise _fail("DocumentNotAnObject", f"document content must be an object, not {kind}",
                    source, *locator.locate(()))
    issues: list[LoadIssue] = []
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        compact = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        if compact > MAX_DOCUMENT_BYTES:
            issues.append(LoadIssue(
                "MaxDocumentSizeExceeded", "error",
                f"document content is {size} bytes ({compact} as compact JSON); AWS allows at "
                f"most {MAX_DOCUMENT_BYTES} bytes (64 KB)",
            ))
        else:
            issues.append(LoadIssue(
                "DocumentSizeWithWhitespace", "warning",
                f"the text is {size} bytes, over AWS's {MAX_DOCUMENT_BYTES}-byte limit; its "
                f"content fits ({compact} bytes as compact JSON), so submit it without the extra "
                "whitespace",
            ))
    return LoadedText(data, fmt, source, text, locator, tuple(issues))


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_parse_json_int)
    except _HugeJsonInteger as exc:
        digits = str(exc)
        found = re.search(f"-?[0-9]{{{MAX_INTEGER_DIGITS + 1},}}", text)
        at = found.start() if found else 0
        raise _fail("DocumentSyntaxError", huge_integer(len(digits.lstrip("-"))), source,
                    text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1) from None
    except _DuplicateJsonKey:
        line, column, key = _find_json_duplicate(text)
        raise _fail("DuplicateKey", f"duplicate key {key!r}", source, line, column) from None
    except json.JSONDecodeError as exc:
        raise _fail("DocumentSyntaxError", f"invalid JSON: {_explain_json(text, exc)}", source,
                    exc.lineno, exc.colno) from None
    except RecursionError:
        raise _fail("DocumentTooDeep",
                    f"document nests deeper than {MAX_NESTING_DEPTH} levels", source) from None


def _explain_json(text: str, exc: json.JSONDecodeError) -> str:
    """json's message, made specific for the mistakes people make by hand."""
    before = text[: exc.pos].rstrip()
    here = text[exc.pos : exc.pos + 1]
    if before.endswith(",") and here in ("]", "}"):
        return f"trailing comma before '{here}' (JSON allows none)"
    if exc.msg.startswith("Expecting property name") and here == "'":
        return "property names need double quotes, not single quotes"
    if exc.msg.startswith("Expecting value") and here == "'":
        return "strings need double quotes, not single quotes"
    if exc.msg.startswith("Expecting ',' delimiter") and here == '"':
        return "missing ',' between items"
    if exc.msg == "Invalid control character at":
        return "a string contains a raw control character (write newlines and tabs as \\n, \\t)"
    return exc.msg


def _find_json_duplicate(text: str) -> tuple[int | None, int | None, str]:
    scanner = _JsonScanner(text)
    depth_keys: list[set[str] | None] = []
    for kind, tok, start in scanner.tokens:
        if tok in "{[" and kind == "punct":
            depth_keys.append(set() if tok == "{" else None)
        elif tok in "}]" and kind == "punct":
            if depth_keys:
                depth_keys.pop()
        elif kind == "str" and depth_keys and depth_keys[-1] is not None:
            # a key is a string directly followed by ':'
            end = start + len(tok)
            rest = text[end:].lstrip()
            if rest.startswith(":"):
                key = json.loads(tok)
                keys = depth_keys[-1]
                if key in keys:
                    line, column = scanner._lc(start)
                    return line, column, key
                keys.add(key)
    return None, None, "?"


def _load_yaml(text: str, source: str) -> Any:
    try:
        docs = list(_iter_yaml(text))
    except _YamlKeyError as exc:
        mark = exc.node.start_mark
        raise _fail("DuplicateKey" if "duplicate" in str(exc) else "DocumentSyntaxError",
                    str(exc), source, mark.line + 1, mark.column + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        if "nesting depth" in problem:
            # libyaml (PyYAML 6.0.4's C loader) refuses about 1,000 levels before our own check
            raise _fail("DocumentTooDeep", f"document nests deeper than {MAX_NESTING_DEPTH} levels",
                        source, line, column) from None
        raise _fail("DocumentSyntaxError", f"invalid YAML: {problem}", source,
                    line, column) from None
    except yaml.YAMLError as exc:
        raise _fail("DocumentSyntaxError", f"invalid YAML: {exc}", source) from None
    except RecursionError:
        raise _fail("DocumentTooDeep",
                    f"document nests deeper than {MAX_NESTING_DEPTH} levels", source) from None
    if len(docs) != 1:
        raise _fail("DocumentSyntaxError",
                    f"expected one YAML document, found {len(docs)}", source, 1, 1)
    return docs[0]


def _iter_yaml(text: str) -> Iterator[Any]:
    loader = _Loader(text)
    try:
        while loader.check_data():
            yield loader.get_data()
    finally:
        loader.dispose()


def _check_shape(data: Any, source: str, locator: Locator) -> None:
    """Reject documents nested too deeply, expanding to too many values (``MAX_VALUES``, every
    value counted each time an alias repeats it), holding a cycle (``a: &a [*a]``), or with odd
    keys."""
    if isinstance(data, dict | list):
        _ShapeCheck(source, locator).visit(data, ())


class _ShapeCheck:
    def __init__(self, source: str, locator: Locator) -> None:
        self.source = source
        self.locator = locator
        self.values = 1
        self.on_path: set[int] = set()

    def visit(self, value: dict[Any, Any] | list[Any], path: Path) -> None:
        if len(path) > MAX_NESTING_DEPTH:
            raise _fail("DocumentTooDeep", f"document nests deeper than {MAX_NESTING_DEPTH} levels",
                        self.source, *self.locator.locate(path), path=format_path(path))
        if id(value) in self.on_path:
            line, column = self.locator.locate(path)
            raise _recursive_alias(self.source, path, line or 1, column or 1)
        self.values += len(value)
        if self.values > MAX_VALUES:
            # for YAML aliases, the locator's own walk meets the budget and names the spot
            raise _fail("DocumentTooLarge", f"document expands to more than {MAX_VALUES} values",
                        self.source, *self.locator.locate(path), path=format_path(path))
        self.on_path.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                raise _fail("DocumentSyntaxError", f"object keys must be strings, found {key!r}",
                            self.source, *self.locator.locate(path), path=format_path(path))
            if isinstance(item, dict | list):
                self.visit(item, (*path, key))
        self.on_path.discard(id(value))

"""Input bounds in the loader: the line locator walks YAML aliases and merge keys within the
loader's expansion budget and detects cycles; integers over 4,300 digits are refused; files are
measured before they are read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ssm_local.documents.loader import (
    MAX_READ_BYTES,
    MAX_VALUES,
    Locator,
    load_text,
    read_document_file,
    read_document_stream,
)
from ssm_local.grammar.errors import DocumentError
from ssm_local.grammar.limits import MAX_INTEGER_DIGITS, lone_surrogate

RECURSIVE = "a: &a [*a]\n"  # 11 bytes; the 46-byte probe reached 9.7 GB in the locator


def _merge_bomb(levels: int = 24) -> str:
    """Under 1 KB: each level merges the one before and lists it twice (2 ** levels values)."""
    lines = ["a0: &a0 {k0: 1, j0: 2}"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} {{<<: [*a{i - 1}], k{i}: [*a{i - 1}, *a{i - 1}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, code, line, column", [
    (RECURSIVE, "RecursiveAlias", 1, 4),
    ("a: &a {b: *a}\n", "RecursiveAlias", 1, 4),
    (_merge_bomb(), "DocumentTooLarge", 1, 14),
])
def test_the_loader_refuses_alias_cycles_and_bombs_with_a_location(
        text: str, code: str, line: int, column: int) -> None:
    assert len(text.encode()) < 1024
    started = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        load_text(text, source="bomb.yaml")
    assert time.monotonic() - started < 20
    assert (caught.value.code, caught.value.line, caught.value.column) == (code, line, column)
    assert caught.value.source == "bomb.yaml"


@pytest.mark.parametrize("text", [RECURSIVE, _merge_bomb()])
def test_the_locator_alone_is_bounded(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        Locator(text, "YAML", "x.yaml").locate(("a0",))
    assert time.monotonic() - started < 20
    assert caught.value.code in ("RecursiveAlias", "DocumentTooLarge")
    assert caught.value.line is not None and caught.value.path is not None


def test_the_cycle_message_names_the_path() -> None:
    with pytest.raises(DocumentError) as caught:
        load_text(RECURSIVE, source="r.yaml")
    assert str(caught.value) == (
        "r.yaml:1:4: RecursiveAlias: a YAML alias at $.a[0] refers to a node that contains it "
        "(a cycle)")


def test_shared_aliases_within_budget_still_load_and_locate() -> None:
    text = "b: &b {x: 1}\nc:\n  <<: *b\n  y: [1, {z: 2}]\n  x2: *b\n"
    loaded = load_text(text, source="m.yaml")
    assert loaded.data == {"b": {"x": 1}, "c": {"x": 1, "y": [1, {"z": 2}], "x2": {"x": 1}}}
    assert loaded.locator.locate(("c", "x")) == (1, 11)  # a merged member: where the base has it
    assert loaded.locator.locate(("c", "y", 1, "z")) == (4, 14)
    assert loaded.locator.locate(("c", "x2", "x")) == (1, 11)


def test_a_mapping_merging_itself_adds_nothing() -> None:
    loaded = load_text("a: &a {<<: *a}\nc: 2\n", source="m.yaml")
    assert loaded.data == {"a": {}, "c": 2}
    assert loaded.locator.locate(("a", "b")) == (1, 4)
    assert loaded.locator.locate(("c",)) == (2, 4)


def test_the_budget_counts_every_value_an_alias_repeats() -> None:
    leaves = ", ".join(["1"] * 100)
    text = f"a: &a [{leaves}]\nb: &b [{', '.join(['*a'] * 100)}]\nc: [{', '.join(['*b'] * 30)}]\n"
    with pytest.raises(DocumentError) as caught:
        load_text(text, source="w.yaml")
    assert caught.value.code == "DocumentTooLarge"
    assert str(MAX_VALUES) in caught.value.message


@pytest.mark.parametrize("text, fmt, where", [
    ('{"a": [1, %s]}' % ("9" * 5000), "JSON", (1, 11)),
    ('{"a": -%s}' % ("9" * 5000), "JSON", (1, 7)),
    ("a:\n  - %s\n" % ("9" * 5000), "YAML", (2, 5)),
    ("a: 0x%s\n" % ("f" * 4000), "YAML", (1, 4)),
])
def test_integers_over_the_limit_are_a_syntax_error(text: str, fmt: str, where: tuple[int, int]) -> None:
    with pytest.raises(DocumentError) as caught:
        load_text(text, source="n", format=fmt)  # type: ignore[arg-type]
    assert caught.value.code == "DocumentSyntaxError"
    assert (caught.value.line, caught.value.column) == where
    assert f"at most {MAX_INTEGER_DIGITS} are allowed" in caught.value.message


def test_an_integer_at_the_limit_loads() -> None:
    assert load_text('{"a": %s}' % ("9" * MAX_INTEGER_DIGITS)).data["a"] == int("9" * 4300)


def test_text_with_undecodable_bytes_read_as_surrogates_is_refused() -> None:
    text = b'{"a": "\xff"}'.decode("utf-8", "surrogateescape")
    with pytest.raises(DocumentError) as caught:
        load_text(text, source="s.json")
    assert caught.value.code == "DocumentSyntaxError"
    assert "lone surrogate, U+DCFF" in caught.value.message


def test_lone_surrogate_walks_keys_and_values() -> None:
    assert lone_surrogate({"a": ["ok", {"b": "x\ud800"}]}) == "U+D800"
    assert lone_surrogate({"\udcff": 1}) == "U+DCFF"
    assert lone_surrogate({"a": ["é中😀", 1, None]}) is None


def test_a_file_is_measured_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: nothing to read, a size to report
    with pytest.raises(DocumentError) as caught:
        read_document_file(big)
    assert caught.value.code == "MaxDocumentSizeExceeded"
    assert "314572800 bytes" in caught.value.message


def test_a_stream_is_read_bounded() -> None:
    import io

    assert read_document_stream(io.BytesIO(b"a: 1\n")) == b"a: 1\n"
    with pytest.raises(DocumentError) as caught:
        read_document_stream(io.BytesIO(b"x" * (MAX_READ_BYTES + 10)))
    assert caught.value.code == "MaxDocumentSizeExceeded"

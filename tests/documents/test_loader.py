"""The loader: JSON and YAML, locations, limits and the odd inputs that must not crash it."""

from __future__ import annotations

import json

import pytest

from ssm_local.documents.loader import MAX_DOCUMENT_BYTES, load_text
from ssm_local.grammar.errors import DocumentError


def test_json_locations_for_values_and_keys() -> None:
    text = '{\n  "schemaVersion": "2.2",\n  "mainSteps": [\n    {"name": "a"}\n  ]\n}\n'
    loaded = load_text(text, source="x.json")
    assert loaded.locator.locate(("schemaVersion",)) == (2, 20)
    assert loaded.locator.locate(("schemaVersion",), key=True) == (2, 3)
    assert loaded.locator.locate(("mainSteps", 0, "name")) == (4, 14)
    # a missing path falls back to its nearest ancestor
    assert loaded.locator.locate(("mainSteps", 0, "inputs")) == (4, 5)


def test_yaml_locations_and_strings() -> None:
    text = "a:\n  b: 'x {{ y }}'\n  c: |\n    line one\n    z {{ w }}\n"
    loaded = load_text(text, source="x.yaml")
    assert loaded.locator.locate(("a", "b")) == (2, 6)
    value = loaded.data["a"]["b"]
    assert loaded.locator.locate_in_string(("a", "b"), value, value.index("{{")) == (2, 9)
    block = loaded.data["a"]["c"]
    assert loaded.locator.locate_in_string(("a", "c"), block, block.index("{{")) == (5, 7)


def test_yaml_reads_core_schema_scalars() -> None:
    data = load_text("a: yes\nb: on\nc: 2020-01-01\nd: true\ne: 010\nf: 1.5\ng: 0x1F\n",
                     source="x.yaml").data
    assert data == {"a": "yes", "b": "on", "c": "2020-01-01", "d": True, "e": 10, "f": 1.5,
                    "g": 31}


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "EmptyDocument"),
        (b"   \n", "EmptyDocument"),
        (b"\xff\xfe\x00garbage", "DocumentSyntaxError"),
        (b"schemaVersion: '2.2'\x00", "DocumentSyntaxError"),
        (b"[1, 2]", "DocumentNotAnObject"),
        (b"just a string", "DocumentNotAnObject"),
        (b"42", "DocumentNotAnObject"),
        (b"{1: 2}", "DocumentSyntaxError"),
        (b"a: 1\n---\nb: 2\n", "DocumentSyntaxError"),
        (b"? [a, b]\n: 1\n", "DocumentSyntaxError"),
        (b"a: *nothing\n", "DocumentSyntaxError"),
        (b"a: !!python/object:os.system x\n", "DocumentSyntaxError"),
    ],
)
def test_bad_text_gives_a_coded_error(content: bytes, code: str) -> None:
    with pytest.raises(DocumentError) as caught:
        load_text(content, source="bad")
    assert caught.value.code == code
    assert caught.value.source == "bad"


def test_deep_nesting_is_refused() -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(DocumentError) as caught:
        load_text('{"a": ' + deep + "}", source="deep.json")
    assert caught.value.code == "DocumentTooDeep"
    with pytest.raises(DocumentError) as caught:
        load_text("a: " + deep, source="deep.yaml")
    assert caught.value.code == "DocumentTooDeep"


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(DocumentError) as caught:
        load_text("\n".join(lines), source="bomb.yaml")
    assert caught.value.code == "DocumentTooLarge"


def test_size_limit() -> None:
    padding = "x" * (MAX_DOCUMENT_BYTES + 10)
    loaded = load_text(json.dumps({"schemaVersion": "2.2", "description": padding}), source="big")
    assert [i.code for i in loaded.issues] == ["MaxDocumentSizeExceeded"]
    spaced = "{\n" + " " * (MAX_DOCUMENT_BYTES + 10) + '"schemaVersion": "2.2"}'
    loaded = load_text(spaced, source="spaced.json")
    assert [(i.code, i.severity) for i in loaded.issues] == [
        ("DocumentSizeWithWhitespace", "warning")
    ]
    with pytest.raises(DocumentError) as caught:
        load_text(b"a" * (20 * MAX_DOCUMENT_BYTES), source="huge")
    assert caught.value.code == "MaxDocumentSizeExceeded"


def test_unicode_and_bom() -> None:
    loaded = load_text("\ufeff{\"d\": \"\u00e9\u4e2d\U0001f600\", \"e\": \"\\ud800\"}", source="u.json")
    assert loaded.data["d"] == "\u00e9\u4e2d\U0001f600"


def test_columns_inside_strings_with_escapes() -> None:
    text = '{"a": "x\\ty\\u00e9\\ud83d\\ude00 {{ w }}", "b": "line\\nnext {{ z }}"}'
    loaded = load_text(text, source="t.json")
    for key in ("a", "b"):
        value = loaded.data[key]
        line, column = loaded.locator.locate_in_string((key,), value, value.index("{{"))
        assert line == 1 and column is not None
        assert text[column - 1 : column + 1] == "{{"
    text = "a: \"x\\ty {{ w }}\"\nb: 'it''s {{ z }}'\n"
    loaded = load_text(text, source="t.yaml")
    for key, expected in (("a", (1, 10)), ("b", (2, 11))):
        value = loaded.data[key]
        assert loaded.locator.locate_in_string((key,), value, value.index("{{")) == expected
